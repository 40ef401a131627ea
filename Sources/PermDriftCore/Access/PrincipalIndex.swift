/// Numbers the users of the scanned root (and ids met on files that have no account) so that sets of
/// users are bitsets, and caches each group's members as a set.
final class PrincipalIndex {
    let accounts: AccountDatabase
    private(set) var uids: [UInt32] = []
    private var indexByUID: [UInt32: Int] = [:]
    private var membersByGID: [UInt32: UserSet] = [:]
    /// Users with an account (ids without one are reported only where they appear).
    private(set) var accountUsers = UserSet.empty
    let rootIndex: Int

    init(accounts: AccountDatabase) {
        self.accounts = accounts
        rootIndex = 0
        _ = index(of: 0)
        for uid in accounts.allUIDs { _ = index(of: uid) }
        for uid in accounts.allUIDs { accountUsers = accountUsers.union(UserSet(index: indexByUID[uid]!)) }
    }

    var count: Int { uids.count }

    /// The index of a uid, numbering it if it is new.
    func index(of uid: UInt32) -> Int {
        if let i = indexByUID[uid] { return i }
        uids.append(uid)
        indexByUID[uid] = uids.count - 1
        return uids.count - 1
    }

    func user(_ uid: UInt32) -> UserSet { UserSet(index: index(of: uid)) }

    var root: UserSet { UserSet(index: rootIndex) }

    /// Members of a group: primary group from passwd, supplementary from group.
    func members(of gid: UInt32) -> UserSet {
        if let cached = membersByGID[gid] { return cached }
        var set = UserSet.empty
        for uid in accounts.allUIDs where accounts.isMember(uid: uid, ofGroup: gid) {
            set = set.union(UserSet(index: index(of: uid)))
        }
        membersByGID[gid] = set
        return set
    }

    func uid(at index: Int) -> UInt32 { uids[index] }
}
