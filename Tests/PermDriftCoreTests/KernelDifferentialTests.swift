import Glibc
import PermDriftCore
import PermDriftTestSupport
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
@Suite(
    "Effective access against the kernel's answer", .serialized,
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

    @Test(
        "random trees: permdrift's read, write and execute equal the kernel's for every user and path",
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

        let tmp = try makeTemporaryDirectory(prefix: "permdrift-kdiff")
        defer { removeTree(tmp) }
        try Self.check(chmod(tmp, 0o755) == 0, "chmod \(tmp)")
        var tree = RandomAccessTree(root: Array(tmp.utf8), accounts: accounts, rng: rng)
        try tree.build(entryCount: 260 + Self.below(60, &rng))

        let database = AccountDatabase.loadSystem()
        for user in accounts.users {
            for group in accounts.groups {
                #expect(
                    database.isMember(uid: user.uid, ofGroup: group.gid) == user.groups.contains(group.gid),
                    "NSS membership of \(user.name) in \(group.name) (\(context.rawValue))")
            }
        }
        let built = clock.now
        let permdrift = try Self.permdriftAnswers(tree.entries, database)
        let explained = clock.now
        let kernel = try accounts.users.map { try KernelProbe.answers(as: $0, groups: .explicit, for: tree.entries) }
        let probed = clock.now

        let comparison = Self.compare(entries: tree.entries, users: accounts.users, kernel: kernel, permdrift: permdrift)
        print(
            "KernelDifferentialTests: seed \(seed): \(tree.entries.count) paths × \(accounts.users.count) users × 3 rights"
                + " = \(comparison.triples) triples, \(comparison.disagreements.count) disagreements;"
                + " build \(built - started), explain \(explained - built), kernel \(probed - explained)")
        #expect(comparison.triples >= 10_000, context)
        Self.report(
            comparison.disagreements, seed: "seed \(seed)", entries: tree.entries, users: accounts.users,
            kernel: kernel, permdrift: permdrift)
        #expect(
            comparison.disagreements.count == 0,
            "\(comparison.disagreements.count) of \(comparison.triples) (user, path, right) triples disagree with the kernel (\(context.rawValue))"
        )

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

        let tmp = try makeTemporaryDirectory(prefix: "permdrift-kdiff-group")
        defer { removeTree(tmp) }
        try Self.check(chmod(tmp, 0o755) == 0, "chmod \(tmp)")
        let directory = tmp + "/shared", file = directory + "/notes.txt"
        try Self.make(directory, directory: true, uid: owner.uid, gid: shared.gid, mode: 0o750)
        try Self.make(file, directory: false, uid: owner.uid, gid: shared.gid, mode: 0o640)
        let entries = [
            TreeEntry(path: Array(directory.utf8), isDirectory: true, parent: nil),
            TreeEntry(path: Array(file.utf8), isDirectory: false, parent: 0)
        ]

        let before = try Self.permdriftAnswers(entries, AccountDatabase.loadSystem())
        #expect(before[1].holders(.read).keys.sorted() == [owner.uid, member.uid])
        #expect(before[1].holders(.read)[outsider.uid] == nil)
        var kernel = try accounts.users.map { try KernelProbe.answers(as: $0, groups: .initGroups, for: entries) }
        #expect(kernel[1][1].read == false && kernel[2][1].read == true)
        var comparison = Self.compare(entries: entries, users: accounts.users, kernel: kernel, permdrift: before)
        Self.report(
            comparison.disagreements, seed: "before gpasswd", entries: entries, users: accounts.users,
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
        Self.report(
            comparison.disagreements, seed: "after gpasswd", entries: entries, users: accounts.users,
            kernel: kernel, permdrift: after)
        #expect(comparison.disagreements.count == 0)
    }

    @Test("a 0644 transcript inside a 0700 home is readable by its owner alone")
    func transcriptInsidePrivateHome() throws {
        let accounts = try HostAccounts.create(memberships: [(0, []), (0, [1]), (1, [0]), (1, [])], groupCount: 2)
        defer { accounts.remove() }
        let owner = accounts.users[0]

        let tmp = try makeTemporaryDirectory(prefix: "permdrift-kdiff-home")
        defer { removeTree(tmp) }
        try Self.check(chmod(tmp, 0o755) == 0, "chmod \(tmp)")
        let home = tmp + "/home", userHome = home + "/" + owner.name
        let transcripts = userHome + "/transcripts", transcript = transcripts + "/s1.jsonl"
        try Self.make(home, directory: true, uid: 0, gid: 0, mode: 0o755)
        try Self.make(userHome, directory: true, uid: owner.uid, gid: owner.primaryGID, mode: 0o700)
        try Self.make(transcripts, directory: true, uid: owner.uid, gid: owner.primaryGID, mode: 0o755)
        try Self.make(transcript, directory: false, uid: owner.uid, gid: owner.primaryGID, mode: 0o644)
        let entries = [
            TreeEntry(path: Array(home.utf8), isDirectory: true, parent: nil),
            TreeEntry(path: Array(userHome.utf8), isDirectory: true, parent: 0),
            TreeEntry(path: Array(transcripts.utf8), isDirectory: true, parent: 1),
            TreeEntry(path: Array(transcript.utf8), isDirectory: false, parent: 2)
        ]

        let permdrift = try Self.permdriftAnswers(entries, AccountDatabase.loadSystem())
        // Among every account on the host, not only the test's: the owner alone, and root (never listed).
        #expect(permdrift[3].holders(.read).keys.sorted() == [owner.uid])
        #expect(permdrift[3].holders(.write).keys.sorted() == [owner.uid])
        #expect(permdrift[3].holders(.execute).isEmpty)
        let kernel = try accounts.users.map { try KernelProbe.answers(as: $0, groups: .initGroups, for: entries) }
        #expect(kernel.map { $0[3].read } == [true, false, false, false])
        let comparison = Self.compare(entries: entries, users: accounts.users, kernel: kernel, permdrift: permdrift)
        Self.report(
            comparison.disagreements, seed: "0700 home", entries: entries, users: accounts.users,
            kernel: kernel, permdrift: permdrift)
        #expect(comparison.disagreements.count == 0)
    }

    @Test("an empty mask: the kernel skips the ACL and gives named entries the other class")
    func emptyMaskAgreesWithKernel() throws {
        // pdk-u1 owns the file with group pdk-g1; pdk-u2 is a named user, pdk-u3 is in the named group
        // pdk-g2, pdk-u4 is in the owning group, pdk-u5 is none of them.
        let accounts = try HostAccounts.create(memberships: [(0, []), (2, []), (1, []), (0, []), (2, [])], groupCount: 3)
        defer { accounts.remove() }
        let tmp = try makeTemporaryDirectory(prefix: "permdrift-kdiff-mask")
        defer { removeTree(tmp) }
        try Self.check(chmod(tmp, 0o755) == 0, "chmod \(tmp)")
        let file = tmp + "/f", directory = tmp + "/d", inner = directory + "/g"
        let (u, g) = (accounts.users, accounts.groups)
        try Self.make(file, directory: false, uid: u[0].uid, gid: g[0].gid, mode: 0o644)
        try Self.setfacl(["-n", "--set", "u::rw-,u:\(u[1].uid):rw-,g::r--,g:\(g[1].gid):rw-,m::---,o::r--", file])
        try Self.make(directory, directory: true, uid: u[0].uid, gid: g[0].gid, mode: 0o755)
        try Self.setfacl(["-n", "--set", "u::rwx,u:\(u[1].uid):rwx,g::r-x,g:\(g[1].gid):rwx,m::---,o::r-x", directory])
        try Self.make(inner, directory: false, uid: u[0].uid, gid: g[0].gid, mode: 0o644)
        let entries = [
            TreeEntry(path: Array(file.utf8), isDirectory: false, parent: nil),
            TreeEntry(path: Array(directory.utf8), isDirectory: true, parent: nil),
            TreeEntry(path: Array(inner.utf8), isDirectory: false, parent: 1)
        ]
        let permdrift = try Self.permdriftAnswers(entries, AccountDatabase.loadSystem())
        let kernel = try accounts.users.map { try KernelProbe.answers(as: $0, groups: .initGroups, for: entries) }
        // With the mask's bits (the mode's group bits) all clear, Linux never consults the ACL
        // (acl_permission_check in fs/namei.c): the owning group gets the group bits, 000, and everyone
        // else, named user and named group alike, the other bits.
        #expect(kernel.map { $0[0].read } == [true, true, true, false, true])
        #expect(kernel.map { $0[1].execute } == [true, true, true, false, true])
        let comparison = Self.compare(entries: entries, users: accounts.users, kernel: kernel, permdrift: permdrift)
        Self.report(
            comparison.disagreements, seed: "empty mask", entries: entries, users: accounts.users,
            kernel: kernel, permdrift: permdrift)
        #expect(comparison.disagreements.count == 0)
    }

    @Test("writing in a directory takes one group-class entry granting both write and search")
    func directoryWriteNeedsOneEntryAgreesWithKernel() throws {
        // pdk-u1 owns the directory with group pdk-g1; pdk-u2 is in pdk-g1 (-w-) and pdk-g2 (--x).
        let accounts = try HostAccounts.create(memberships: [(2, []), (0, [1]), (1, [])], groupCount: 3)
        defer { accounts.remove() }
        let tmp = try makeTemporaryDirectory(prefix: "permdrift-kdiff-split")
        defer { removeTree(tmp) }
        try Self.check(chmod(tmp, 0o755) == 0, "chmod \(tmp)")
        let (u, g) = (accounts.users, accounts.groups)
        let directory = tmp + "/d", file = directory + "/f"
        try Self.make(directory, directory: true, uid: u[0].uid, gid: g[0].gid, mode: 0o770)
        try Self.setfacl(["-n", "--set", "u::rwx,g::-w-,g:\(g[1].gid):--x,m::rwx,o::---", directory])
        try Self.make(file, directory: false, uid: u[0].uid, gid: g[0].gid, mode: 0o600)
        let entries = [
            TreeEntry(path: Array(directory.utf8), isDirectory: true, parent: nil),
            TreeEntry(path: Array(file.utf8), isDirectory: false, parent: 0)
        ]
        let permdrift = try Self.permdriftAnswers(entries, AccountDatabase.loadSystem())
        let kernel = try accounts.users.map { try KernelProbe.answers(as: $0, groups: .initGroups, for: entries) }
        // Creating, deleting and renaming check write and search together (MAY_WRITE | MAY_EXEC), and an
        // ACL's group class grants a request only through one entry that holds all of it.
        #expect(kernel[1][0].writeObject == false && kernel[1][1].replace == false && kernel[1][0].execute == true)
        let comparison = Self.compare(entries: entries, users: accounts.users, kernel: kernel, permdrift: permdrift)
        Self.report(
            comparison.disagreements, seed: "split group entries", entries: entries, users: accounts.users,
            kernel: kernel, permdrift: permdrift)
        #expect(comparison.disagreements.count == 0)
    }
}
