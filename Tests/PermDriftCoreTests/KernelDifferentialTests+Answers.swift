import Glibc
import PermDriftCore
import PermDriftTestSupport
import Testing

// The kernel's and permdrift's answers for KernelDifferentialTests, and their comparison.

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
            let listDirectory = try makeTemporaryDirectory(prefix: "permdrift-kdiff-list")
            defer { removeTree(listDirectory) }
            try KernelDifferentialTests.check(chmod(listDirectory, 0o755) == 0, "chmod \(listDirectory)")
            let list = listDirectory + "/paths"
            var bytes = [UInt8]()
            for entry in entries { bytes += [UInt8(ascii: entry.isDirectory ? "d" : "f")] + entry.path + [0] }
            try write(bytes, to: list)

            let groupArgument =
                groups == .explicit
                ? "--groups=" + user.groups.map(String.init).joined(separator: ",") : "--init-groups"
            let result = try Harness.run(
                [
                    "/usr/bin/setpriv", "--reuid=\(user.uid)", "--regid=\(user.primaryGID)", groupArgument,
                    "--inh-caps=-all", "--bounding-set=-all", "--",
                    "/usr/bin/python3", "-I", "-c", script, list
                ], environment: .cLocale)
            guard result.status == 0 else {
                throw HarnessError("probe as \(user.name): exit \(result.status): \(result.stderr)")
            }
            let lines = result.stdout.split(separator: "\n").map(String.init)
            let ids =
                "ids \(user.uid) \(user.uid) \(user.primaryGID) \(user.primaryGID) "
                + user.groups.map(String.init).joined(separator: ",") + " 0000000000000000"
            try KernelDifferentialTests.ensure(lines.first == ids, "probe as \(user.name) ran as \(lines.first ?? "?"), expected \(ids)")
            try KernelDifferentialTests.ensure(
                lines.count == entries.count + 1, "probe as \(user.name): \(lines.count - 1) answers for \(entries.count) paths")
            var answers = [KernelAnswer]()
            for (line, entry) in zip(lines.dropFirst(), entries) {
                let bits = Array(line.utf8)
                guard bits.count == 4, bits.allSatisfy({ $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: "1") }) else {
                    throw HarnessError("probe as \(user.name) on \(HostPath(bytes: entry.path)): \(line)")
                }
                let b = bits.map { $0 == UInt8(ascii: "1") }
                answers.append(KernelAnswer(read: b[0], writeObject: b[1], execute: b[2], replace: b[3]))
            }
            // Every rename went back: the tree is as it was.
            for entry in entries {
                var st = stat()
                try withCPath(entry.path) { p in
                    try KernelDifferentialTests.check(
                        lstat(p, &st) == 0, "\(HostPath(bytes: entry.path)) is gone after probing as \(user.name)")
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
                throw HarnessError("explain \(HostPath(bytes: entry.path)): \(failure)")
            }
        }
    }

    struct Disagreement {
        let user: Int
        let entry: Int
        let right: AccessRight
        let kernel: Bool
    }

    static func compare(
        entries: [TreeEntry], users: [Account], kernel: [[KernelAnswer]],
        permdrift: [PermdriftAnswer]
    ) -> (triples: Int, disagreements: [Disagreement]) {
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
    static func report(
        _ disagreements: [Disagreement], seed: String, entries: [TreeEntry], users: [Account],
        kernel: [[KernelAnswer]], permdrift: [PermdriftAnswer]
    ) {
        for (n, d) in disagreements.enumerated() {
            let user = users[d.user], entry = entries[d.entry], k = kernel[d.user][d.entry]
            let path = HostPath(bytes: entry.path)
            var text =
                "\(seed): \(d.right.rawValue) of \(path) for \(user.name) (uid \(user.uid), gid \(user.primaryGID),"
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
                    text +=
                        "\n  \(HostPath(bytes: entries[i].path)) [kernel for this user: R=\(parentKernel.read)"
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
        guard
            let result = try? Harness.run(
                [
                    Array("/usr/bin/getfacl".utf8), Array("-n".utf8), Array("-p".utf8),
                    Array("--".utf8), path
                ], environment: .cLocale)
        else { return "(getfacl failed)" }
        return result.stdout + result.stderr
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

    static func coverage(
        entries: [TreeEntry], users: [Account], kernel: [[KernelAnswer]],
        permdrift: [PermdriftAnswer]
    ) -> Coverage {
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
                    && (acl.permissions(of: .other) ?? 0) & 4 != 0
                {
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
        if !condition { throw HarnessError("\(what()): errno \(errno)") }
    }

    /// Throws when the test's own set-up is not what it must be.
    static func ensure(_ condition: Bool, _ what: @autoclosure () -> String) throws {
        if !condition { throw HarnessError(what()) }
    }

    static func setfacl(_ arguments: [String], _ path: [UInt8]) throws {
        let result = try Harness.run(
            [Array("/usr/bin/setfacl".utf8)] + arguments.map { Array($0.utf8) } + [Array("--".utf8), path], environment: .cLocale)
        guard result.status == 0 else {
            throw HarnessError("setfacl \(arguments.joined(separator: " ")) \(HostPath(bytes: path)): \(result.stderr)")
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
        case .failure(let failure): throw HarnessError("look up \(path): \(failure)")
        }
    }
}
