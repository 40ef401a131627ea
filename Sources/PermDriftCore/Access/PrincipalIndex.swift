/// Numbers the users of the scanned root (and ids met on files that have no account) so that sets of
/// users are bitsets, and caches each group's members as a set. One index serves every thread of a walk
/// (sets made on one thread are read on another), so its numbering is kept under a lock.
final class PrincipalIndex: @unchecked Sendable {
    let accounts: AccountDatabase
    private struct State {
        var uids: [UInt32] = []
        var indexByUID: [UInt32: Int] = [:]
        var membersByGID: [UInt32: UserSet] = [:]

        mutating func index(of uid: UInt32) -> Int {
            if let i = indexByUID[uid] { return i }
            uids.append(uid)
            indexByUID[uid] = uids.count - 1
            return uids.count - 1
        }
    }
    private let state: Locked<State>
    /// Users with an account (ids without one are reported only where they appear).
    let accountUsers: UserSet
    let rootIndex = 0

    init(accounts: AccountDatabase) {
        self.accounts = accounts
        var state = State()
        _ = state.index(of: 0)
        var users = UserSet.empty
        for uid in accounts.allUIDs { users = users.union(UserSet(index: state.index(of: uid))) }
        accountUsers = users
        self.state = Locked(state)
    }

    var count: Int { state.withLock { $0.uids.count } }

    /// The index of a uid, numbering it if it is new.
    func index(of uid: UInt32) -> Int { state.withLock { $0.index(of: uid) } }

    func user(_ uid: UInt32) -> UserSet { UserSet(index: index(of: uid)) }

    var root: UserSet { UserSet(index: rootIndex) }

    /// Members of a group: primary group from passwd, supplementary from group.
    func members(of gid: UInt32) -> UserSet {
        if let cached = state.withLock({ $0.membersByGID[gid] }) { return cached }
        var set = UserSet.empty
        for uid in accounts.allUIDs where accounts.isMember(uid: uid, ofGroup: gid) {
            set = set.union(UserSet(index: index(of: uid)))
        }
        state.withLock { $0.membersByGID[gid] = set }
        return set
    }

    func uid(at index: Int) -> UInt32 { state.withLock { $0.uids[index] } }
}
