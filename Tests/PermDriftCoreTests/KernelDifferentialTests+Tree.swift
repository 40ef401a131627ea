import Glibc
import PermDriftCore
import PermDriftTestSupport
import Testing

// Accounts and random trees for KernelDifferentialTests.

// MARK: - Accounts

extension KernelDifferentialTests {
    struct Account {
        let name: String
        let uid: UInt32
        let primaryGID: UInt32
        var supplementary: [UInt32]
        /// The primary group and the supplementary ones, as the kernel holds them after initgroups(3).
        var groups: [UInt32] { Array(Set([primaryGID] + supplementary)).sorted() }
    }

    struct Group {
        let name: String
        let gid: UInt32
    }

    /// Users `pdk-u1…` and groups `pdk-g1…` created on the host for one test, with ids from a block
    /// nobody uses, plus a uid and a gid with no account. Holds a host-wide lock until `remove()`.
    final class HostAccounts {
        static let userPrefix = "pdk-u", groupPrefix = "pdk-g"
        static let lockPath = "/tmp/permdrift-kernel-differential.lock"
        private(set) var users: [Account] = []
        private(set) var groups: [Group] = []
        let orphanUID: UInt32
        let orphanGID: UInt32
        private let lock: HostLock

        private init(lock: HostLock, base: UInt32) {
            self.lock = lock
            orphanUID = base + 99
            orphanGID = base + 199
        }

        /// Creates `groupCount` groups and one user per membership (indexes into the groups).
        static func create(memberships: [(primary: Int, supplementary: [Int])], groupCount: Int) throws -> HostAccounts {
            for tool in [
                "/usr/sbin/useradd", "/usr/sbin/groupadd", "/usr/sbin/userdel", "/usr/sbin/groupdel",
                "/usr/bin/gpasswd", "/usr/bin/getent", "/usr/bin/id", "/usr/bin/setfacl", "/usr/bin/getfacl",
                "/usr/bin/setpriv", "/usr/bin/python3"
            ] {
                try KernelDifferentialTests.ensure(access(tool, X_OK) == 0, "\(tool) is needed (scripts/install-deps)")
            }
            let lock = try HostLock(path: lockPath)
            do {
                try removeLeftovers()
                let base = try freeBlock(users: memberships.count, groups: groupCount)
                let accounts = HostAccounts(lock: lock, base: base)
                do {
                    for i in 0..<groupCount {
                        let group = Group(name: "\(groupPrefix)\(i + 1)", gid: base + 101 + UInt32(i))
                        try run(["/usr/sbin/groupadd", "-g", String(group.gid), group.name])
                        accounts.groups.append(group)
                    }
                    for (i, m) in memberships.enumerated() {
                        let user = Account(
                            name: "\(userPrefix)\(i + 1)", uid: base + 1 + UInt32(i),
                            primaryGID: accounts.groups[m.primary].gid,
                            supplementary: m.supplementary.map { accounts.groups[$0].gid })
                        var argv = [
                            "/usr/sbin/useradd", "-M", "-N", "-d", "/nonexistent", "-s", "/usr/sbin/nologin",
                            "-u", String(user.uid), "-g", String(user.primaryGID)
                        ]
                        if !user.supplementary.isEmpty { argv += ["-G", user.supplementary.map(String.init).joined(separator: ",")] }
                        try run(argv + [user.name])
                        accounts.users.append(user)
                    }
                    for user in accounts.users { try accounts.verify(user) }
                } catch {
                    accounts.removeAccounts()
                    throw error
                }
                return accounts
            } catch {
                lock.release()
                throw error
            }
        }

        /// `gpasswd -a`: adds a user to a group, touching no file but `/etc/group` and `/etc/gshadow`.
        func addMember(user: Int, group: Int) throws {
            try Self.run(["/usr/bin/gpasswd", "-a", users[user].name, groups[group].name])
            users[user].supplementary.append(groups[group].gid)
            try verify(users[user])
        }

        /// Deletes the users, then the groups, and releases the lock. Leftovers are an issue.
        func remove() {
            removeAccounts()
            lock.release()
        }

        fileprivate func removeAccounts() {
            for user in users { _ = try? Self.run(["/usr/sbin/userdel", user.name]) }
            for group in groups { _ = try? Self.run(["/usr/sbin/groupdel", group.name]) }
            let left = (try? Self.leftovers()) ?? ["(getent failed)"]
            #expect(left.isEmpty, "test accounts left on the host: \(left)")
            users = []
            groups = []
        }

        /// `id -G` (NSS, as initgroups(3) sees it) lists exactly the groups the user was given.
        private func verify(_ user: Account) throws {
            let out = try Self.run(["/usr/bin/id", "-G", user.name])
            let listed = out.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt32($0) }.sorted()
            try KernelDifferentialTests.ensure(listed == user.groups, "id -G \(user.name) is \(listed), expected \(user.groups)")
        }

        private static func leftovers() throws -> [String] {
            var names = [String]()
            for (database, prefix) in [("passwd", userPrefix), ("group", groupPrefix)] {
                let result = try Harness.run(["/usr/bin/getent", database], environment: .cLocale)
                for line in result.stdout.split(separator: "\n") {
                    let name = String(line.prefix { $0 != ":" })
                    if name.hasPrefix(prefix) { names.append(name) }
                }
            }
            return names
        }

        /// Accounts a crashed run left behind: users first, since a group cannot go while it is a primary one.
        private static func removeLeftovers() throws {
            let names = try leftovers()
            for name in names where name.hasPrefix(userPrefix) { try run(["/usr/sbin/userdel", name]) }
            for name in names where name.hasPrefix(groupPrefix) { try run(["/usr/sbin/groupdel", name]) }
        }

        /// The first block of ids where every uid and gid the test uses (and the orphan ids) is free.
        private static func freeBlock(users: Int, groups: Int) throws -> UInt32 {
            let database = AccountDatabase.loadSystem()
            for base in stride(from: UInt32(47000), through: 49800, by: 300) {
                let uids = (0..<UInt32(users)).map { base + 1 + $0 } + [base + 99]
                let gids = (0..<UInt32(groups)).map { base + 101 + $0 } + [base + 199]
                if uids.allSatisfy({ database.userName($0) == nil }) && gids.allSatisfy({ database.groupName($0) == nil }) {
                    return base
                }
            }
            throw HarnessError("no free block of uids and gids between 47000 and 50000")
        }

        @discardableResult
        static func run(_ argv: [String]) throws -> String {
            let result = try Harness.run(argv, environment: .cLocale)
            guard result.status == 0 else {
                throw HarnessError("\(argv.joined(separator: " ")): exit \(result.status): \(result.stderr)")
            }
            return result.stdout
        }
    }
}

// MARK: - The random tree

extension KernelDifferentialTests {
    struct TreeEntry {
        let path: [UInt8]
        let isDirectory: Bool
        /// The index of the entry's directory among the entries (`nil` for the temporary directory's own).
        let parent: Int?
    }

    /// A tree built top-down as root, so that children are created under their directory's final default
    /// ACL and setgid bit and inherit from them: random owners (test users, root, a uid without an account),
    /// random groups, random modes with sticky and setgid directories, random access ACLs set every way
    /// setfacl sets them (replacing, modifying, with a mask of its own or a recomputed one) and random
    /// default ACLs.
    struct RandomAccessTree {
        let root: [UInt8]
        let accounts: HostAccounts
        var rng: SplitMix64
        /// The temporary directory first, then every entry in creation order.
        private(set) var entries: [TreeEntry]
        private var directories: [(entry: Int, depth: Int, hasDefaultACL: Bool)]

        init(root: [UInt8], accounts: HostAccounts, rng: SplitMix64) {
            self.root = root
            self.accounts = accounts
            self.rng = rng
            entries = [TreeEntry(path: root, isDirectory: true, parent: nil)]
            directories = [(0, 0, false)]
        }

        mutating func build(entryCount: Int) throws {
            for i in 1...entryCount {
                let candidates = directories.filter { $0.depth < 7 }
                let parent = i <= 6 ? directories[0] : candidates[below(candidates.count)]
                let isDirectory = i <= 6 || chance(27)
                let path = entries[parent.entry].path + [UInt8(ascii: "/")] + name(i, isDirectory)
                let shown = HostPath(bytes: path)
                try withCPath(path) { p in
                    if isDirectory {
                        try KernelDifferentialTests.check(mkdir(p, 0o777) == 0, "mkdir \(shown)")
                    } else {
                        let fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
                        try KernelDifferentialTests.check(fd >= 0, "create \(shown)")
                        close(fd)
                    }
                }
                // Under a default ACL, often keep what the entry inherited.
                let inherits = parent.hasDefaultACL
                try withCPath(path) { p in
                    if chance(inherits ? 75 : 92) {
                        let uid = owner(), gid = chance(inherits ? 50 : 90) ? group() : UInt32.max
                        try KernelDifferentialTests.check(lchown(p, uid, gid) == 0, "lchown \(shown)")
                    }
                    if chance(inherits ? 50 : 95) {
                        try KernelDifferentialTests.check(chmod(p, isDirectory ? directoryMode() : fileMode()) == 0, "chmod \(shown)")
                    }
                }
                if chance(inherits ? 30 : 45) { try KernelDifferentialTests.setfacl(accessACLArguments(), path) }
                var hasDefaultACL = inherits && isDirectory
                if isDirectory && chance(30) {
                    try KernelDifferentialTests.setfacl(defaultACLArguments(), path)
                    hasDefaultACL = true
                }
                entries.append(TreeEntry(path: path, isDirectory: isDirectory, parent: parent.entry))
                if isDirectory { directories.append((entries.count - 1, parent.depth + 1, hasDefaultACL)) }
            }
        }

        private mutating func below(_ n: Int) -> Int { KernelDifferentialTests.below(n, &rng) }
        private mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
        private mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }

        /// Mostly plain names; some with a space, a newline, a leading dash, non-ASCII or invalid UTF-8
        /// (never ending in `.pdprobe`, the name the kernel probe renames to).
        private mutating func name(_ i: Int, _ isDirectory: Bool) -> [UInt8] {
            let plain = Array("\(isDirectory ? "d" : "f")\(i)".utf8)
            switch below(40) {
            case 0: return plain + Array(" x".utf8)
            case 1: return Array("a\nb".utf8) + plain
            case 2: return Array("-".utf8) + plain
            case 3: return Array("ü".utf8) + plain
            case 4: return plain + [0xFF, 0x41]
            default: return plain
            }
        }

        private mutating func owner() -> UInt32 {
            let r = below(100)
            return r < 80 ? pick(accounts.users).uid : r < 94 ? 0 : accounts.orphanUID
        }

        private mutating func group() -> UInt32 {
            let r = below(100)
            return r < 82 ? pick(accounts.groups).gid : r < 93 ? 0 : accounts.orphanGID
        }

        private mutating func directoryMode() -> UInt32 {
            if chance(35) {
                return pick([
                    0o755, 0o751, 0o711, 0o750, 0o710, 0o770, 0o775, 0o777, 0o700, 0o1777, 0o1770, 0o1733,
                    0o2775, 0o2770, 0o3777, 0o3770, 0, 0o705, 0o707, 0o057, 0o1755, 0o2750, 0o1730
                ])
            }
            var mode = UInt32(rng.next() & 0o777)
            if chance(70) { mode |= 0o001 }
            if chance(50) { mode |= 0o010 }
            if chance(25) { mode |= 0o1000 }
            if chance(20) { mode |= 0o2000 }
            return mode
        }

        private mutating func fileMode() -> UInt32 {
            if chance(40) {
                return pick([0o644, 0o640, 0o600, 0o664, 0o666, 0o755, 0o700, 0, 0o777, 0o604, 0o060, 0o406, 0o4755, 0o2755])
            }
            return UInt32(rng.next() & 0o777) | (chance(5) ? 0o1000 : 0)
        }

        private mutating func perms() -> String {
            let bits = below(8)
            return (bits & 4 != 0 ? "r" : "-") + (bits & 2 != 0 ? "w" : "-") + (bits & 1 != 0 ? "x" : "-")
        }

        /// Named entries: users among the test's, root and the uid without an account; groups likewise.
        private mutating func namedEntries(atLeastOne: Bool) -> [String] {
            var userPool = accounts.users.map(\.uid) + [0, accounts.orphanUID]
            var groupPool = accounts.groups.map(\.gid) + [0, accounts.orphanGID]
            var out = [String]()
            for _ in 0..<pick([0, 1, 1, 2, 2, 3]) {
                let i = below(userPool.count)
                out.append("u:\(userPool.remove(at: i)):\(perms())")
            }
            for _ in 0..<pick([0, 1, 1, 2]) {
                let i = below(groupPool.count)
                out.append("g:\(groupPool.remove(at: i)):\(perms())")
            }
            if atLeastOne && out.isEmpty { out.append(chance(50) ? "u:\(pick(userPool)):\(perms())" : "g:\(pick(groupPool)):\(perms())") }
            return out
        }

        private mutating func accessACLArguments() -> [String] {
            switch below(3) {
            case 0:
                // Replace the whole ACL; with named entries, a mask of its own (often narrower than them).
                let named = namedEntries(atLeastOne: false)
                var spec = ["u::\(perms())", "g::\(perms())", "o::\(perms())"] + named
                if !named.isEmpty || chance(30) {
                    spec.append("m::\(perms())")
                    return ["-n", "--set", spec.joined(separator: ",")]
                }
                return ["--set", spec.joined(separator: ",")]
            case 1:
                // Add to what is there; setfacl recomputes the mask.
                return ["-m", namedEntries(atLeastOne: true).joined(separator: ",")]
            default:
                return ["-n", "-m", (namedEntries(atLeastOne: true) + ["m::\(perms())"]).joined(separator: ",")]
            }
        }

        private mutating func defaultACLArguments() -> [String] {
            if chance(50) {
                let named = namedEntries(atLeastOne: false)
                var spec = ["u::\(perms())", "g::\(perms())", "o::\(perms())"] + named
                if !named.isEmpty { spec.append("m::\(perms())") }
                return ["-n", "-d", "--set", spec.joined(separator: ",")]
            }
            return ["-d", "-m", namedEntries(atLeastOne: true).joined(separator: ",")]
        }
    }
}
