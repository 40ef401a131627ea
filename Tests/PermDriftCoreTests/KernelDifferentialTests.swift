import Glibc
import PermDriftCore
import Testing

/// "A differential test against the kernel": random trees (random modes with sticky and setgid
/// directories, random access and default ACLs with named users, named groups and masks, random group
/// memberships) owned by real accounts that the test creates, and for every (user, path, right) the
/// kernel's answer — `access(2)` and a real rename, in a child running under exactly that user's uid, gid
/// and supplementary groups with no capabilities — compared with what `Explanation.explain` says on the
/// live host, reaching from the real `/`. Zero disagreements.
///
/// The seeds are fixed so CI is reproducible; `PERMDRIFT_DIFF_SEED=N` (or `N,M,…`, decimal or `0x…`)
/// runs other trees. The accounts (`pdk-u*`, `pdk-g*`) are removed when a test ends and, should a run
/// have crashed, at the start of the next one; a lock file keeps concurrent runs on one host apart.
@Suite("Effective access against the kernel's answer", .serialized,
       .enabled(if: geteuid() == 0, "needs root: creates accounts and sets ACLs"))
struct KernelDifferentialTests {
    static let fixedSeeds: [UInt64] = [0x5EED_D1FF_0001, 0x0BAD_CAFE_2025, 7_340_033]

    /// The fixed seeds, or those of `PERMDRIFT_DIFF_SEED`.
    static var seeds: [UInt64] {
        guard let raw = getenv("PERMDRIFT_DIFF_SEED") else { return fixedSeeds }
        let parsed = String(cString: raw).split(separator: ",").compactMap { part -> UInt64? in
            let text = part.filter { $0 != " " }
            return text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
        }
        return parsed.isEmpty ? fixedSeeds : parsed
    }

    @Test("random trees: permdrift's read, write and execute equal the kernel's for every user and path",
          arguments: KernelDifferentialTests.seeds)
    func randomTreeAgreesWithKernel(seed: UInt64) throws {
        print("KernelDifferentialTests: seed \(seed) (reproduce with PERMDRIFT_DIFF_SEED=\(seed))")
        let clock = ContinuousClock()
        let started = clock.now
        var rng = SplitMix64(seed: seed)
        let context = Comment(rawValue: "seed \(seed)")

        // Fourteen users spread over six groups: a random primary group each and random supplementary ones.
        // (Many users and a few hundred paths: explaining a path costs far more than probing it.)
        var memberships = [(primary: Int, supplementary: [Int])]()
        for _ in 0..<14 {
            let primary = Self.below(6, &rng)
            memberships.append((primary, (0..<6).filter { $0 != primary && Self.below(100, &rng) < 30 }))
        }
        let accounts = try HostAccounts.create(memberships: memberships, groupCount: 6)
        defer { accounts.remove() }

        let tmp = try makeTemporaryDirectory("permdrift-kdiff")
        defer { removeTree(tmp) }
        try Self.check(chmod(tmp, 0o755) == 0, "chmod \(tmp)")
        var tree = RandomAccessTree(root: Array(tmp.utf8), accounts: accounts, rng: rng)
        try tree.build(entryCount: 260 + Self.below(60, &rng))

        let database = AccountDatabase.loadSystem()
        for user in accounts.users {
            for group in accounts.groups {
                #expect(database.isMember(uid: user.uid, ofGroup: group.gid) == user.groups.contains(group.gid),
                        "NSS membership of \(user.name) in \(group.name) (\(context.rawValue))")
            }
        }
        let built = clock.now
        let permdrift = try Self.permdriftAnswers(tree.entries, database)
        let explained = clock.now
        let kernel = try accounts.users.map { try KernelProbe.answers(as: $0, groups: .explicit, for: tree.entries) }
        let probed = clock.now

        let comparison = Self.compare(entries: tree.entries, users: accounts.users, kernel: kernel, permdrift: permdrift)
        print("KernelDifferentialTests: seed \(seed): \(tree.entries.count) paths × \(accounts.users.count) users × 3 rights"
              + " = \(comparison.triples) triples, \(comparison.disagreements.count) disagreements;"
              + " build \(built - started), explain \(explained - built), kernel \(probed - explained)")
        #expect(comparison.triples >= 10_000, context)
        Self.report(comparison.disagreements, seed: "seed \(seed)", entries: tree.entries, users: accounts.users,
                    kernel: kernel, permdrift: permdrift)
        #expect(comparison.disagreements.count == 0,
                "\(comparison.disagreements.count) of \(comparison.triples) (user, path, right) triples disagree with the kernel (\(context.rawValue))")

        // The tree must exercise what the test is about, or its passing means little.
        let stats = Self.coverage(entries: tree.entries, users: accounts.users, kernel: kernel, permdrift: permdrift)
        print("KernelDifferentialTests: seed \(seed): \(stats)")
        #expect(stats.extendedACLs >= 50, context)
        #expect(stats.defaultACLs >= 8, context)
        #expect(stats.stickyDirectories >= 4 && stats.setgidDirectories >= 4, context)
        #expect(stats.narrowMasks >= 10, context)
        #expect(stats.orphanOwned >= 3, context)
        for right in 0..<3 {
            #expect(stats.granted[right] >= 500 && stats.denied[right] >= 500, "right \(right) (\(context.rawValue))")
        }
        #expect(stats.writeOnlyByReplacing >= 20, context)
        #expect(stats.stickyRefusals >= 5, context)
        #expect(stats.groupClassDenials >= 5, context)
        #expect(stats.maskedNamedUsers >= 5, context)
        #expect(stats.unreachable >= 200, context)
    }

    @Test("adding a user to a group opens access with no file changing")
    func membershipOpensAccess() throws {
        // pdk-u1 owns the files; pdk-u2 is the outsider who gets added to pdk-g3; pdk-u3 is in pdk-g3 throughout.
        let accounts = try HostAccounts.create(memberships: [(0, [2]), (1, []), (1, [2])], groupCount: 3)
        defer { accounts.remove() }
        let (owner, outsider, member) = (accounts.users[0], accounts.users[1], accounts.users[2])
        let shared = accounts.groups[2]

        let tmp = try makeTemporaryDirectory("permdrift-kdiff-group")
        defer { removeTree(tmp) }
        try Self.check(chmod(tmp, 0o755) == 0, "chmod \(tmp)")
        let directory = tmp + "/shared", file = directory + "/notes.txt"
        try Self.make(directory, directory: true, uid: owner.uid, gid: shared.gid, mode: 0o750)
        try Self.make(file, directory: false, uid: owner.uid, gid: shared.gid, mode: 0o640)
        let entries = [TreeEntry(path: Array(directory.utf8), isDirectory: true, parent: nil),
                       TreeEntry(path: Array(file.utf8), isDirectory: false, parent: 0)]

        let before = try Self.permdriftAnswers(entries, AccountDatabase.loadSystem())
        #expect(before[1].holders(.read).keys.sorted() == [owner.uid, member.uid])
        #expect(before[1].holders(.read)[outsider.uid] == nil)
        var kernel = try accounts.users.map { try KernelProbe.answers(as: $0, groups: .initGroups, for: entries) }
        #expect(kernel[1][1].read == false && kernel[2][1].read == true)
        var comparison = Self.compare(entries: entries, users: accounts.users, kernel: kernel, permdrift: before)
        Self.report(comparison.disagreements, seed: "before gpasswd", entries: entries, users: accounts.users,
                    kernel: kernel, permdrift: before)
        #expect(comparison.disagreements.count == 0)

        // The records of the temporary directory, `shared` and the file, now that the probe's renames are
        // back (above them, /tmp changes whenever anyone creates a file there).
        let onDisk = try Self.chain(file).suffix(3)
        try accounts.addMember(user: 1, group: 2)
        let after = try Self.permdriftAnswers(entries, AccountDatabase.loadSystem())
        // No file changed: every record, ctime included, is what it was before gpasswd.
        #expect(try Self.chain(file).suffix(3) == onDisk)
        #expect(after[1].holders(.read).keys.sorted() == [owner.uid, outsider.uid, member.uid])
        // The finding names the access and the entries that grant it: the group, on the directory and the file.
        let via = after[1].holders(.read)[outsider.uid] ?? []
        #expect(Array(via.suffix(2)) == ["group::r-x on \(directory)", "group::r-- on \(file)"], "via: \(via)")
        kernel = try accounts.users.map { try KernelProbe.answers(as: $0, groups: .initGroups, for: entries) }
        #expect(kernel[1][1].read == true)
        comparison = Self.compare(entries: entries, users: accounts.users, kernel: kernel, permdrift: after)
        Self.report(comparison.disagreements, seed: "after gpasswd", entries: entries, users: accounts.users,
                    kernel: kernel, permdrift: after)
        #expect(comparison.disagreements.count == 0)
    }

    @Test("a 0644 transcript inside a 0700 home is readable by its owner alone")
    func transcriptInsidePrivateHome() throws {
        let accounts = try HostAccounts.create(memberships: [(0, []), (0, [1]), (1, [0]), (1, [])], groupCount: 2)
        defer { accounts.remove() }
        let owner = accounts.users[0]

        let tmp = try makeTemporaryDirectory("permdrift-kdiff-home")
        defer { removeTree(tmp) }
        try Self.check(chmod(tmp, 0o755) == 0, "chmod \(tmp)")
        let home = tmp + "/home", userHome = home + "/" + owner.name
        let transcripts = userHome + "/transcripts", transcript = transcripts + "/s1.jsonl"
        try Self.make(home, directory: true, uid: 0, gid: 0, mode: 0o755)
        try Self.make(userHome, directory: true, uid: owner.uid, gid: owner.primaryGID, mode: 0o700)
        try Self.make(transcripts, directory: true, uid: owner.uid, gid: owner.primaryGID, mode: 0o755)
        try Self.make(transcript, directory: false, uid: owner.uid, gid: owner.primaryGID, mode: 0o644)
        let entries = [TreeEntry(path: Array(home.utf8), isDirectory: true, parent: nil),
                       TreeEntry(path: Array(userHome.utf8), isDirectory: true, parent: 0),
                       TreeEntry(path: Array(transcripts.utf8), isDirectory: true, parent: 1),
                       TreeEntry(path: Array(transcript.utf8), isDirectory: false, parent: 2)]

        let permdrift = try Self.permdriftAnswers(entries, AccountDatabase.loadSystem())
        // Among every account on the host, not only the test's: the owner alone, and root (never listed).
        #expect(permdrift[3].holders(.read).keys.sorted() == [owner.uid])
        #expect(permdrift[3].holders(.write).keys.sorted() == [owner.uid])
        #expect(permdrift[3].holders(.execute).isEmpty)
        let kernel = try accounts.users.map { try KernelProbe.answers(as: $0, groups: .initGroups, for: entries) }
        #expect(kernel.map { $0[3].read } == [true, false, false, false])
        let comparison = Self.compare(entries: entries, users: accounts.users, kernel: kernel, permdrift: permdrift)
        Self.report(comparison.disagreements, seed: "0700 home", entries: entries, users: accounts.users,
                    kernel: kernel, permdrift: permdrift)
        #expect(comparison.disagreements.count == 0)
    }

    @Test("an empty mask: the kernel skips the ACL and gives named entries the other class")
    func emptyMaskAgreesWithKernel() throws {
        // pdk-u1 owns the file with group pdk-g1; pdk-u2 is a named user, pdk-u3 is in the named group
        // pdk-g2, pdk-u4 is in the owning group, pdk-u5 is none of them.
        let accounts = try HostAccounts.create(memberships: [(0, []), (2, []), (1, []), (0, []), (2, [])], groupCount: 3)
        defer { accounts.remove() }
        let tmp = try makeTemporaryDirectory("permdrift-kdiff-mask")
        defer { removeTree(tmp) }
        try Self.check(chmod(tmp, 0o755) == 0, "chmod \(tmp)")
        let file = tmp + "/f", directory = tmp + "/d", inner = directory + "/g"
        let (u, g) = (accounts.users, accounts.groups)
        try Self.make(file, directory: false, uid: u[0].uid, gid: g[0].gid, mode: 0o644)
        try Self.setfacl(["-n", "--set", "u::rw-,u:\(u[1].uid):rw-,g::r--,g:\(g[1].gid):rw-,m::---,o::r--", file])
        try Self.make(directory, directory: true, uid: u[0].uid, gid: g[0].gid, mode: 0o755)
        try Self.setfacl(["-n", "--set", "u::rwx,u:\(u[1].uid):rwx,g::r-x,g:\(g[1].gid):rwx,m::---,o::r-x", directory])
        try Self.make(inner, directory: false, uid: u[0].uid, gid: g[0].gid, mode: 0o644)
        let entries = [TreeEntry(path: Array(file.utf8), isDirectory: false, parent: nil),
                       TreeEntry(path: Array(directory.utf8), isDirectory: true, parent: nil),
                       TreeEntry(path: Array(inner.utf8), isDirectory: false, parent: 1)]
        let permdrift = try Self.permdriftAnswers(entries, AccountDatabase.loadSystem())
        let kernel = try accounts.users.map { try KernelProbe.answers(as: $0, groups: .initGroups, for: entries) }
        // With the mask's bits (the mode's group bits) all clear, Linux never consults the ACL
        // (acl_permission_check in fs/namei.c): the owning group gets the group bits, 000, and everyone
        // else, named user and named group alike, the other bits.
        #expect(kernel.map { $0[0].read } == [true, true, true, false, true])
        #expect(kernel.map { $0[1].execute } == [true, true, true, false, true])
        let comparison = Self.compare(entries: entries, users: accounts.users, kernel: kernel, permdrift: permdrift)
        Self.report(comparison.disagreements, seed: "empty mask", entries: entries, users: accounts.users,
                    kernel: kernel, permdrift: permdrift)
        #expect(comparison.disagreements.count == 0)
    }

    @Test("writing in a directory takes one group-class entry granting both write and search")
    func directoryWriteNeedsOneEntryAgreesWithKernel() throws {
        // pdk-u1 owns the directory with group pdk-g1; pdk-u2 is in pdk-g1 (-w-) and pdk-g2 (--x).
        let accounts = try HostAccounts.create(memberships: [(2, []), (0, [1]), (1, [])], groupCount: 3)
        defer { accounts.remove() }
        let tmp = try makeTemporaryDirectory("permdrift-kdiff-split")
        defer { removeTree(tmp) }
        try Self.check(chmod(tmp, 0o755) == 0, "chmod \(tmp)")
        let (u, g) = (accounts.users, accounts.groups)
        let directory = tmp + "/d", file = directory + "/f"
        try Self.make(directory, directory: true, uid: u[0].uid, gid: g[0].gid, mode: 0o770)
        try Self.setfacl(["-n", "--set", "u::rwx,g::-w-,g:\(g[1].gid):--x,m::rwx,o::---", directory])
        try Self.make(file, directory: false, uid: u[0].uid, gid: g[0].gid, mode: 0o600)
        let entries = [TreeEntry(path: Array(directory.utf8), isDirectory: true, parent: nil),
                       TreeEntry(path: Array(file.utf8), isDirectory: false, parent: 0)]
        let permdrift = try Self.permdriftAnswers(entries, AccountDatabase.loadSystem())
        let kernel = try accounts.users.map { try KernelProbe.answers(as: $0, groups: .initGroups, for: entries) }
        // Creating, deleting and renaming check write and search together (MAY_WRITE | MAY_EXEC), and an
        // ACL's group class grants a request only through one entry that holds all of it.
        #expect(kernel[1][0].writeObject == false && kernel[1][1].replace == false && kernel[1][0].execute == true)
        let comparison = Self.compare(entries: entries, users: accounts.users, kernel: kernel, permdrift: permdrift)
        Self.report(comparison.disagreements, seed: "split group entries", entries: entries, users: accounts.users,
                    kernel: kernel, permdrift: permdrift)
        #expect(comparison.disagreements.count == 0)
    }
}

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
        private let lock: Int32

        private init(lock: Int32, base: UInt32) {
            self.lock = lock
            orphanUID = base + 99
            orphanGID = base + 199
        }

        /// Creates `groupCount` groups and one user per membership (indexes into the groups).
        static func create(memberships: [(primary: Int, supplementary: [Int])], groupCount: Int) throws -> HostAccounts {
            for tool in ["/usr/sbin/useradd", "/usr/sbin/groupadd", "/usr/sbin/userdel", "/usr/sbin/groupdel",
                         "/usr/bin/gpasswd", "/usr/bin/getent", "/usr/bin/id", "/usr/bin/setfacl", "/usr/bin/getfacl",
                         "/usr/bin/setpriv", "/usr/bin/python3"] {
                try KernelDifferentialTests.ensure(access(tool, X_OK) == 0, "\(tool) is needed (scripts/install-deps)")
            }
            let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
            try KernelDifferentialTests.check(fd >= 0, "open \(lockPath)")
            while flock(fd, LOCK_EX) != 0 {
                guard errno == EINTR else { close(fd); throw ToolError(description: "flock \(lockPath): errno \(errno)") }
            }
            do {
                try removeLeftovers()
                let base = try freeBlock(users: memberships.count, groups: groupCount)
                let accounts = HostAccounts(lock: fd, base: base)
                do {
                    for i in 0..<groupCount {
                        let group = Group(name: "\(groupPrefix)\(i + 1)", gid: base + 101 + UInt32(i))
                        try run(["/usr/sbin/groupadd", "-g", String(group.gid), group.name])
                        accounts.groups.append(group)
                    }
                    for (i, m) in memberships.enumerated() {
                        let user = Account(name: "\(userPrefix)\(i + 1)", uid: base + 1 + UInt32(i),
                                           primaryGID: accounts.groups[m.primary].gid,
                                           supplementary: m.supplementary.map { accounts.groups[$0].gid })
                        var argv = ["/usr/sbin/useradd", "-M", "-N", "-d", "/nonexistent", "-s", "/usr/sbin/nologin",
                                    "-u", String(user.uid), "-g", String(user.primaryGID)]
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
                flock(fd, LOCK_UN)
                close(fd)
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
            flock(lock, LOCK_UN)
            close(lock)
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
                let result = try runTool(["/usr/bin/getent", database])
                for line in String(decoding: result.stdout, as: UTF8.self).split(separator: "\n") {
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
            throw ToolError(description: "no free block of uids and gids between 47000 and 50000")
        }

        @discardableResult
        static func run(_ argv: [String]) throws -> String {
            let result = try runTool(argv)
            guard result.status == 0 else {
                throw ToolError(description: "\(argv.joined(separator: " ")): exit \(result.status): \(result.stderr)")
            }
            return String(decoding: result.stdout, as: UTF8.self)
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
                try KernelDifferentialTests.withCPath(path) { p in
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
                try KernelDifferentialTests.withCPath(path) { p in
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
                return pick([0o755, 0o751, 0o711, 0o750, 0o710, 0o770, 0o775, 0o777, 0o700, 0o1777, 0o1770, 0o1733,
                             0o2775, 0o2770, 0o3777, 0o3770, 0, 0o705, 0o707, 0o057, 0o1755, 0o2750, 0o1730])
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

// MARK: - The kernel's answer

extension KernelDifferentialTests {
    struct KernelAnswer {
        /// `access(R_OK)`, `access(W_OK)` (`W_OK|X_OK` on a directory), `access(X_OK)`.
        var read, writeObject, execute: Bool
        /// Renaming the entry within its directory and back succeeded.
        var replace: Bool
        var write: Bool { writeObject || replace }

        func holds(_ right: AccessRight) -> Bool {
            switch right {
            case .read: read
            case .write: write
            case .execute: execute
            }
        }
    }

    enum KernelProbe {
        enum Groups {
            /// The groups the test gave the user (independent of NSS).
            case explicit
            /// `initgroups(3)`: the groups NSS has for the user now.
            case initGroups
        }

        /// The child's program: its ids and capabilities on the first line, then for each entry of the
        /// list (a type byte and the path, NUL-terminated) `R W X M` as 0/1, or `E errno` when a rename
        /// fails other than with EACCES or EPERM. A failed rename back is an exception: exit status 1.
        static let script = #"""
            import errno, os, sys
            os.chdir("/")
            caps = [l.split()[1].decode() for l in open("/proc/self/status", "rb") if l.startswith(b"CapEff:")][0]
            groups = ",".join(str(g) for g in sorted(set(os.getgroups())))
            out = ["ids %d %d %d %d %s %s" % (os.getuid(), os.geteuid(), os.getgid(), os.getegid(), groups or "-", caps)]
            for record in open(sys.argv[1], "rb").read().split(b"\0")[:-1]:
                kind, path = record[:1], record[1:]
                read = os.access(path, os.R_OK)
                write = os.access(path, os.W_OK | (os.X_OK if kind == b"d" else 0))
                execute = os.access(path, os.X_OK)
                probe = path + b".pdprobe"
                try:
                    os.rename(path, probe)
                except OSError as e:
                    if e.errno not in (errno.EACCES, errno.EPERM):
                        out.append("E %d" % e.errno)
                        continue
                    renamed = False
                else:
                    os.rename(probe, path)
                    renamed = True
                out.append("".join("1" if b else "0" for b in (read, write, execute, renamed)))
            sys.stdout.write("\n".join(out) + "\n")
            """#

        /// Runs the probe under `user`'s uid, primary gid and supplementary groups, with no capabilities.
        static func answers(as user: Account, groups: Groups, for entries: [TreeEntry]) throws -> [KernelAnswer] {
            let listDirectory = try makeTemporaryDirectory("permdrift-kdiff-list")
            defer { removeTree(listDirectory) }
            try KernelDifferentialTests.check(chmod(listDirectory, 0o755) == 0, "chmod \(listDirectory)")
            let list = listDirectory + "/paths"
            var bytes = [UInt8]()
            for entry in entries { bytes += [UInt8(ascii: entry.isDirectory ? "d" : "f")] + entry.path + [0] }
            try write(bytes, to: list)

            let groupArgument = groups == .explicit
                ? "--groups=" + user.groups.map(String.init).joined(separator: ",") : "--init-groups"
            let result = try runTool(["/usr/bin/setpriv", "--reuid=\(user.uid)", "--regid=\(user.primaryGID)", groupArgument,
                                      "--inh-caps=-all", "--bounding-set=-all", "--",
                                      "/usr/bin/python3", "-I", "-c", script, list])
            guard result.status == 0 else {
                throw ToolError(description: "probe as \(user.name): exit \(result.status): \(result.stderr)")
            }
            let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
            let ids = "ids \(user.uid) \(user.uid) \(user.primaryGID) \(user.primaryGID) "
                + user.groups.map(String.init).joined(separator: ",") + " 0000000000000000"
            try KernelDifferentialTests.ensure(lines.first == ids, "probe as \(user.name) ran as \(lines.first ?? "?"), expected \(ids)")
            try KernelDifferentialTests.ensure(lines.count == entries.count + 1, "probe as \(user.name): \(lines.count - 1) answers for \(entries.count) paths")
            var answers = [KernelAnswer]()
            for (line, entry) in zip(lines.dropFirst(), entries) {
                let bits = Array(line.utf8)
                guard bits.count == 4, bits.allSatisfy({ $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: "1") }) else {
                    throw ToolError(description: "probe as \(user.name) on \(HostPath(bytes: entry.path)): \(line)")
                }
                let b = bits.map { $0 == UInt8(ascii: "1") }
                answers.append(KernelAnswer(read: b[0], writeObject: b[1], execute: b[2], replace: b[3]))
            }
            // Every rename went back: the tree is as it was.
            for entry in entries {
                var st = stat()
                try KernelDifferentialTests.withCPath(entry.path) { p in
                    try KernelDifferentialTests.check(lstat(p, &st) == 0, "\(HostPath(bytes: entry.path)) is gone after probing as \(user.name)")
                }
            }
            return answers
        }

        private static func write(_ bytes: [UInt8], to path: String) throws {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            try KernelDifferentialTests.check(fd >= 0, "create \(path)")
            defer { close(fd) }
            try KernelDifferentialTests.check(fchmod(fd, 0o644) == 0, "fchmod \(path)")
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                try KernelDifferentialTests.check(n > 0, "write \(path)")
                offset += n
            }
        }
    }
}

// MARK: - permdrift's answer, and the comparison

extension KernelDifferentialTests {
    struct PermdriftAnswer {
        let record: FileRecord
        /// For each right, the holders' uids and the `via` of each.
        let byRight: [AccessRight: [UInt32: [String]]]

        func holders(_ right: AccessRight) -> [UInt32: [String]] { byRight[right] ?? [:] }
    }

    /// `Explanation.explain` of each entry on the live host, reaching from the real `/`.
    static func permdriftAnswers(_ entries: [TreeEntry], _ accounts: AccountDatabase) throws -> [PermdriftAnswer] {
        try entries.map { entry in
            switch Explanation.explain(HostPath(bytes: entry.path), rootDirectory: "/", accounts: accounts) {
            case .success(let explanation):
                var byRight = [AccessRight: [UInt32: [String]]]()
                for (right, holders) in explanation.rights {
                    byRight[right] = Dictionary(uniqueKeysWithValues: holders.map { ($0.uid, $0.via.map(\.plainText)) })
                }
                return PermdriftAnswer(record: explanation.record, byRight: byRight)
            case .failure(let failure):
                throw ToolError(description: "explain \(HostPath(bytes: entry.path)): \(failure)")
            }
        }
    }

    struct Disagreement {
        let user: Int
        let entry: Int
        let right: AccessRight
        let kernel: Bool
    }

    static func compare(entries: [TreeEntry], users: [Account], kernel: [[KernelAnswer]],
                        permdrift: [PermdriftAnswer]) -> (triples: Int, disagreements: [Disagreement]) {
        var triples = 0
        var disagreements = [Disagreement]()
        for (u, user) in users.enumerated() {
            for i in entries.indices {
                for right in AccessRight.allCases {
                    triples += 1
                    let theirs = kernel[u][i].holds(right)
                    if theirs != (permdrift[i].holders(right)[user.uid] != nil) {
                        disagreements.append(Disagreement(user: u, entry: i, right: right, kernel: theirs))
                    }
                }
            }
        }
        return (triples, disagreements)
    }

    /// Records an issue per disagreement, the first ones with everything needed to see why.
    static func report(_ disagreements: [Disagreement], seed: String, entries: [TreeEntry], users: [Account],
                       kernel: [[KernelAnswer]], permdrift: [PermdriftAnswer]) {
        for (n, d) in disagreements.enumerated() {
            let user = users[d.user], entry = entries[d.entry], k = kernel[d.user][d.entry]
            let path = HostPath(bytes: entry.path)
            var text = "\(seed): \(d.right.rawValue) of \(path) for \(user.name) (uid \(user.uid), gid \(user.primaryGID),"
                + " groups \(user.groups.map(String.init).joined(separator: ","))): kernel \(d.kernel ? "yes" : "no"),"
                + " permdrift \(d.kernel ? "no" : "yes")"
            if n < 12 {
                text += "\n  kernel: access R=\(k.read) W=\(k.writeObject) X=\(k.execute), rename \(k.replace)"
                text += "\n  permdrift via: \(permdrift[d.entry].holders(d.right)[user.uid].map { "\($0)" } ?? "(not a holder)")"
                var chain = [Int]()
                var at: Int? = d.entry
                while let i = at { chain.insert(i, at: 0); at = entries[i].parent }
                for i in chain.suffix(3) {
                    let parentKernel = kernel[d.user][i]
                    text += "\n  \(HostPath(bytes: entries[i].path)) [kernel for this user: R=\(parentKernel.read)"
                        + " W=\(parentKernel.writeObject) X=\(parentKernel.execute)]\n"
                    text += getfacl(entries[i].path).split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
                }
            }
            Issue.record(Comment(rawValue: text))
            if n == 200 {
                Issue.record("… and \(disagreements.count - 201) more disagreements")
                break
            }
        }
    }

    static func getfacl(_ path: [UInt8]) -> String {
        guard let result = try? runTool([Array("/usr/bin/getfacl".utf8), Array("-n".utf8), Array("-p".utf8),
                                         Array("--".utf8), path]) else { return "(getfacl failed)" }
        return String(decoding: result.stdout, as: UTF8.self) + result.stderr
    }

    struct Coverage: CustomStringConvertible {
        var extendedACLs = 0, defaultACLs = 0, stickyDirectories = 0, setgidDirectories = 0, narrowMasks = 0
        var emptyMasks = 0, orphanOwned = 0
        var granted = [0, 0, 0], denied = [0, 0, 0]
        /// Write the object itself does not grant, but renaming it through its directory does.
        var writeOnlyByReplacing = 0
        /// Write and search on a sticky directory, and still no rename: the user owns neither.
        var stickyRefusals = 0
        /// Read denied by the group class although other grants it, on a reachable path.
        var groupClassDenials = 0
        /// A named-user entry granting read, masked away, on a reachable path.
        var maskedNamedUsers = 0
        /// Triples on paths whose directory the user cannot search.
        var unreachable = 0

        var description: String {
            "ACLs \(extendedACLs), default ACLs \(defaultACLs), sticky \(stickyDirectories), setgid \(setgidDirectories),"
                + " narrow masks \(narrowMasks), empty masks \(emptyMasks), orphan-owned \(orphanOwned);"
                + " granted r/w/x \(granted), denied \(denied); write only by replacing \(writeOnlyByReplacing),"
                + " sticky refusals \(stickyRefusals), group-class denials \(groupClassDenials),"
                + " masked named users \(maskedNamedUsers), unreachable \(unreachable)"
        }
    }

    static func coverage(entries: [TreeEntry], users: [Account], kernel: [[KernelAnswer]],
                         permdrift: [PermdriftAnswer]) -> Coverage {
        var c = Coverage()
        let testUIDs = Set(users.map(\.uid))
        for (i, entry) in entries.enumerated() {
            let record = permdrift[i].record
            if let acl = record.acl {
                c.extendedACLs += 1
                if let mask = acl.mask {
                    let classBits = acl.entries.filter { [.user, .group, .groupObject].contains($0.tag) }
                        .reduce(UInt8(0)) { $0 | $1.permissions }
                    if classBits & ~mask != 0 { c.narrowMasks += 1 }
                    if mask == 0 { c.emptyMasks += 1 }
                }
            }
            if record.defaultACL != nil { c.defaultACLs += 1 }
            if entry.isDirectory && record.mode & 0o1000 != 0 { c.stickyDirectories += 1 }
            if entry.isDirectory && record.mode & 0o2000 != 0 { c.setgidDirectories += 1 }
            if record.uid != 0 && !testUIDs.contains(record.uid) { c.orphanOwned += 1 }
            for (u, user) in users.enumerated() {
                let k = kernel[u][i]
                for (r, right) in AccessRight.allCases.enumerated() {
                    if k.holds(right) { c.granted[r] += 1 } else { c.denied[r] += 1 }
                }
                let reachable = entry.parent.map { kernel[u][$0].execute } ?? true
                if !reachable { c.unreachable += 3 }
                if !k.writeObject && k.replace { c.writeOnlyByReplacing += 1 }
                if let p = entry.parent, permdrift[p].record.mode & 0o1000 != 0, kernel[u][p].writeObject, !k.replace {
                    c.stickyRefusals += 1
                }
                guard reachable, record.uid != user.uid else { continue }
                let acl = record.effectiveACL
                let mask = acl.mask ?? 7
                if let named = acl.entries.first(where: { $0.tag == .user && $0.id == user.uid }) {
                    if named.permissions & 4 != 0 && mask & 4 == 0 { c.maskedNamedUsers += 1 }
                    continue
                }
                let groupClass = acl.entries.filter {
                    ($0.tag == .groupObject && user.groups.contains(record.gid)) || ($0.tag == .group && user.groups.contains($0.id))
                }
                if !groupClass.isEmpty && !groupClass.contains(where: { $0.permissions & mask & 4 != 0 })
                    && (acl.permissions(of: .other) ?? 0) & 4 != 0 {
                    c.groupClassDenials += 1
                }
            }
        }
        return c
    }
}

// MARK: - Small helpers

extension KernelDifferentialTests {
    static func below(_ n: Int, _ rng: inout SplitMix64) -> Int { Int(rng.next() % UInt64(n)) }

    /// Throws, with errno, when a system call failed.
    static func check(_ condition: Bool, _ what: @autoclosure () -> String) throws {
        if !condition { throw ToolError(description: "\(what()): errno \(errno)") }
    }

    /// Throws when the test's own set-up is not what it must be.
    static func ensure(_ condition: Bool, _ what: @autoclosure () -> String) throws {
        if !condition { throw ToolError(description: what()) }
    }

    static func withCPath<R>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) throws -> R {
        try (path + [0]).withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    static func setfacl(_ arguments: [String], _ path: [UInt8]) throws {
        let result = try runTool([Array("/usr/bin/setfacl".utf8)] + arguments.map { Array($0.utf8) } + [Array("--".utf8), path])
        guard result.status == 0 else {
            throw ToolError(description: "setfacl \(arguments.joined(separator: " ")) \(HostPath(bytes: path)): \(result.stderr)")
        }
    }

    static func setfacl(_ argumentsAndPath: [String]) throws {
        try setfacl(Array(argumentsAndPath.dropLast()), Array(argumentsAndPath.last!.utf8))
    }

    static func make(_ path: String, directory: Bool, uid: UInt32, gid: UInt32, mode: UInt32) throws {
        if directory {
            try check(mkdir(path, 0o700) == 0, "mkdir \(path)")
        } else {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            try check(fd >= 0, "create \(path)")
            close(fd)
        }
        try check(lchown(path, uid, gid) == 0, "lchown \(path)")
        try check(chmod(path, mode) == 0, "chmod \(path)")
    }

    /// The records of `/` and every component down to `path`, as permdrift reads them.
    static func chain(_ path: String) throws -> [FileRecord] {
        switch Walker(rootDirectory: "/").lookUpChain(HostPath(path)) {
        case .success(let chain): return chain.map(\.record)
        case .failure(let failure): throw ToolError(description: "look up \(path): \(failure)")
        }
    }
}
