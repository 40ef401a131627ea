/// Users and groups of the scanned host: from `ROOT/etc/passwd` and `ROOT/etc/group` under `--root`, or
/// from the system's account database (NSS, so LDAP and SSSD accounts resolve) on the live host.
public struct AccountDatabase: Sendable {
    public enum Source: Sendable, Equatable {
        case files(root: String)
        case system
    }

    public let source: Source
    private(set) var uidByName: [String: UInt32] = [:]
    private(set) var nameByUID: [UInt32: String] = [:]
    private(set) var primaryGID: [UInt32: UInt32] = [:]
    private(set) var gidByName: [String: UInt32] = [:]
    private(set) var nameByGID: [UInt32: String] = [:]
    /// Supplementary members of each group, by user name, as `etc/group` lists them.
    private(set) var membersByGID: [UInt32: Set<String>] = [:]
    /// Whether every user's memberships were collected at load (then `isMember` never asks NSS for them).
    private var enumerated = false
    /// Notes for the report.
    public private(set) var notices: [String] = []
    /// Lines of the account files that are not entries or repeat a name.
    public private(set) var problems: [String] = []

    /// An empty database (tests, and roots with no account files).
    public init(source: Source) { self.source = source }

    /// A database from the text of a passwd and a group file, as if read from `root`.
    public init(passwd: String, group: String, root: String = "/") {
        source = .files(root: root)
        parsePasswd(Array(passwd.utf8), file: "etc/passwd")
        parseGroup(Array(group.utf8), file: "etc/group")
    }

    /// Why a root's account files cannot be used.
    public enum LoadError: Error, Sendable, CustomStringConvertible {
        case unreadable(TrustedFile.ReadError)
        /// Lines that are not entries, or that name a user or group a second time.
        case malformed([String])

        public var description: String {
            switch self {
            case .unreadable(let e): e.description
            case .malformed(let lines): lines.joined(separator: "\n")
            }
        }
    }

    /// Loads `etc/passwd` and `etc/group` under `root`, following no symlink inside it. Both must exist
    /// and every line must be an entry: in a scratch root, a name that does not resolve as written would
    /// make every rule that uses it mean something else.
    public static func load(root: String) -> Result<AccountDatabase, LoadError> {
        var db = AccountDatabase(source: .files(root: root))
        let display = root.hasSuffix("/") ? root : root + "/"
        switch TrustedFile.read(relative: "etc/passwd", under: root) {
        case .success(let bytes): db.parsePasswd(bytes, file: display + "etc/passwd")
        case .failure(let e): return .failure(.unreadable(e))
        }
        switch TrustedFile.read(relative: "etc/group", under: root) {
        case .success(let bytes): db.parseGroup(bytes, file: display + "etc/group")
        case .failure(let e): return .failure(.unreadable(e))
        }
        if !db.problems.isEmpty { return .failure(.malformed(db.problems)) }
        return .success(db)
    }

    /// Enumerates the live host's accounts through NSS. Names not enumerated (LDAP with enumeration off)
    /// are still found by direct lookups.
    public static func loadSystem() -> AccountDatabase {
        var db = AccountDatabase(source: .system)
        for user in SystemAccounts.allUsers() { db.addUser(name: user.name, uid: user.uid, gid: user.gid) }
        for group in SystemAccounts.allGroups() { db.addGroup(name: group.name, gid: group.gid, members: group.members) }
        // Memberships NSS knows but does not enumerate (a systemd userdb, an LDAP group with nested
        // members): ask once per user now, so membership tests never call NSS per user and group.
        for (uid, name) in db.nameByUID {
            guard let primary = db.primaryGID[uid] else { continue }
            for gid in SystemAccounts.groupIDs(ofUser: name, primary: primary) where gid != primary {
                db.membersByGID[gid, default: []].insert(name)
            }
        }
        db.enumerated = true
        return db
    }

    mutating func addUser(name: String, uid: UInt32, gid: UInt32) {
        if uidByName[name] == nil { uidByName[name] = uid }
        if nameByUID[uid] == nil { nameByUID[uid] = name; primaryGID[uid] = gid }
    }

    mutating func addGroup(name: String, gid: UInt32, members: [String]) {
        if gidByName[name] == nil { gidByName[name] = gid }
        if nameByGID[gid] == nil { nameByGID[gid] = name }
        membersByGID[gid, default: []].formUnion(members.filter { !$0.isEmpty })
    }

    mutating func parsePasswd(_ bytes: [UInt8], file: String) {
        var seen = [String: Int]()
        for (number, line) in Self.lines(bytes) {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count == 7, !f[0].isEmpty, let uid = UInt32(f[2]), let gid = UInt32(f[3]) else {
                problems.append(
                    "\(file):\(number): error: not a passwd entry (NAME:PASSWORD:UID:GID:GECOS:HOME:SHELL): \(TerminalText.escape(String(line)))"
                )
                continue
            }
            let name = String(f[0])
            if let first = seen[name] {
                problems.append("\(file):\(number): error: user '\(TerminalText.escape(name))' is defined again (first at line \(first))")
                continue
            }
            seen[name] = number
            addUser(name: name, uid: uid, gid: gid)
        }
    }

    mutating func parseGroup(_ bytes: [UInt8], file: String) {
        var seen = [String: Int]()
        for (number, line) in Self.lines(bytes) {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count == 4, !f[0].isEmpty, let gid = UInt32(f[2]) else {
                problems.append(
                    "\(file):\(number): error: not a group entry (NAME:PASSWORD:GID:MEMBERS): \(TerminalText.escape(String(line)))")
                continue
            }
            let name = String(f[0])
            if let first = seen[name] {
                problems.append("\(file):\(number): error: group '\(TerminalText.escape(name))' is defined again (first at line \(first))")
                continue
            }
            seen[name] = number
            addGroup(name: name, gid: gid, members: f[3].split(separator: ",").map(String.init))
        }
    }

    /// Non-empty, non-comment lines (NIS compat `+`/`-` lines are skipped), with 1-based numbers.
    private static func lines(_ bytes: [UInt8]) -> [(Int, Substring)] {
        let text = String(decoding: bytes, as: UTF8.self)
        var out = [(Int, Substring)]()
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix("+") || trimmed.hasPrefix("-") { continue }
            out.append((i + 1, trimmed))
        }
        return out
    }

    // MARK: - Lookups

    public func uid(named name: String) -> UInt32? {
        if let uid = uidByName[name] { return uid }
        guard source == .system else { return nil }
        return SystemAccounts.user(named: name)?.uid
    }

    public func gid(named name: String) -> UInt32? {
        if let gid = gidByName[name] { return gid }
        guard source == .system else { return nil }
        return SystemAccounts.groupID(named: name)
    }

    public func userName(_ uid: UInt32) -> String? {
        if let name = nameByUID[uid] { return name }
        guard source == .system else { return nil }
        return SystemAccounts.userName(uid)
    }

    public func groupName(_ gid: UInt32) -> String? {
        if let name = nameByGID[gid] { return name }
        guard source == .system else { return nil }
        return SystemAccounts.groupName(gid)
    }

    /// The primary group of a user.
    public func primaryGroup(ofUser uid: UInt32) -> UInt32? {
        if let gid = primaryGID[uid] { return gid }
        guard source == .system, let name = userName(uid) else { return nil }
        return SystemAccounts.user(named: name)?.gid
    }

    /// Whether the user is in the group: as primary group (`etc/passwd`) or as a listed member (`etc/group`).
    public func isMember(uid: UInt32, ofGroup gid: UInt32) -> Bool {
        if primaryGroup(ofUser: uid) == gid { return true }
        guard let name = userName(uid) else { return false }
        if membersByGID[gid]?.contains(name) == true { return true }
        if source == .system, !(enumerated && nameByUID[uid] != nil), let primary = primaryGroup(ofUser: uid) {
            return SystemAccounts.groupIDs(ofUser: name, primary: primary).contains(gid)
        }
        return false
    }

    /// Every user of the database, by uid.
    public var allUIDs: [UInt32] { nameByUID.keys.sorted() }

    /// Every group of the database, by gid.
    public var allGIDs: [UInt32] { nameByGID.keys.sorted() }

    /// Names listed as group members that have no account.
    public var unknownMembers: [(group: String, member: String)] {
        var out = [(String, String)]()
        for (gid, members) in membersByGID {
            for m in members where uid(named: m) == nil { out.append((nameByGID[gid] ?? "gid:\(gid)", m)) }
        }
        return out.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
    }

    /// `user:NAME`, or `uid:N` for an id without an account.
    public func userLabel(_ uid: UInt32) -> String { userName(uid).map { "user:\($0)" } ?? "uid:\(uid)" }

    /// The bare name of a user for reports (`ann`, or `uid:N`).
    public func userDisplay(_ uid: UInt32) -> String { userName(uid) ?? "uid:\(uid)" }

    public func groupDisplay(_ gid: UInt32) -> String { groupName(gid) ?? "gid:\(gid)" }
}
