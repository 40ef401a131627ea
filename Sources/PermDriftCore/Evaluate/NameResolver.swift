/// A name a capture bound, resolved in the scanned root's accounts.
struct ResolvedName {
    let text: String
    let uid: UInt32?
    let gid: UInt32?
}

/// Remembers the last names captures bound (consecutive entries mostly share their agent) and group
/// memberships, so matching an entry allocates nothing on the common path.
final class NameResolver {
    let accounts: AccountDatabase
    private var recent: [(bytes: [UInt8], value: ResolvedName?)] = []
    private var next = 0
    private var lastHit = 0

    private static func equal(_ a: [UInt8], _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBufferPointer { $0.elementsEqual(b) }
    }
    private var membership: [UInt64: Bool] = [:]

    init(accounts: AccountDatabase) { self.accounts = accounts }

    /// The name for capture bytes, or nil when they are not valid UTF-8.
    func resolve(_ bytes: UnsafeBufferPointer<UInt8>) -> ResolvedName? {
        if lastHit < recent.count, Self.equal(recent[lastHit].bytes, bytes) { return recent[lastHit].value }
        for i in recent.indices where Self.equal(recent[i].bytes, bytes) {
            lastHit = i
            return recent[i].value
        }
        let value = String(validating: bytes, as: UTF8.self).map {
            ResolvedName(text: $0, uid: accounts.uid(named: $0), gid: accounts.gid(named: $0))
        }
        if recent.count < 16 {
            recent.append((Array(bytes), value))
        } else {
            recent[next] = (Array(bytes), value)
            next = (next + 1) % recent.count
        }
        return value
    }

    func isMember(uid: UInt32, ofGroup gid: UInt32) -> Bool {
        let key = UInt64(uid) << 32 | UInt64(gid)
        if let known = membership[key] { return known }
        let value = accounts.isMember(uid: uid, ofGroup: gid)
        membership[key] = value
        return value
    }
}
