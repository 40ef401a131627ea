import Foundation
import PermDriftTestSupport
import Testing

/// Issue 20, part 3's first step through the real binary: `permdrift fix` scans, prints the plan and
/// changes nothing.
@Suite(.enabled(if: Harness.isRoot, "needs root: builds trees owned by other uids and sets ACLs"))
struct FixPlanTests {
    static let homes =
        ScratchHost.head + """
            rules:
              - id: homes
                severity: critical
                match: ["/home/{a}", "/home/{a}/**"]
                expect: { owner: "{a}", group: "{a}", acl: none }
              - id: home-dirs
                severity: high
                match: "/home/{a}"
                expect: { mode: "0700", default-acl: none }
              - id: transcripts
                severity: critical
                match: /home/{a}/transcripts/**
                types: [file]
                expect: { mode: "<=0640", capabilities: none }

            """

    /// ctime of every entry under a directory, by path.
    static func ctimes(_ root: String) -> [String: String] {
        var out = [String: String]()
        let e = FileManager.default.enumerator(atPath: root)
        var paths = [root]
        while let p = e?.nextObject() as? String { paths.append(root + "/" + p) }
        for p in paths {
            var st = stat()
            if lstat(p, &st) == 0 { out[p] = "\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec) \(st.st_mode) \(st.st_uid)" }
        }
        return out
    }

    @Test func theDemoPlanHasOneACLRemovalThatTheAccessFindingsPointToAndChangesNothing() throws {
        let demo = try Harness.permdrift(["demo", "--keep"])
        let dir = try #require(demo.stdout.split(separator: " ").map(String.init).first { $0.hasPrefix("/tmp/permdrift-demo") })
            .trimmingCharacters(in: .whitespacesAndNewlines)
        defer { removeTree(dir) }
        let before = Self.ctimes(dir)
        let run = try Harness.permdrift(["fix", "--root", dir])
        #expect(run.status == 1, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "permdrift fix: the plan; nothing is changed without --apply.")
        let home = try #require(lines.firstIndex(of: "/home/agent-ada"), "\(run.stdout)")
        #expect(lines[home + 1].hasPrefix("  the scan saw: directory, device "))
        #expect(lines.filter { $0 == "  remove ACL entry user:agent-bo:r-x" }.count == 1, "\(run.stdout)")
        #expect(lines[home + 2] == "  remove ACL entry user:agent-bo:r-x")
        #expect(lines[home + 5] == "    removes the cause of 5 access findings on 3 paths: user:agent-bo (execute, read)")
        #expect(lines.contains("  mode 0644 → 0600"))
        #expect(lines.last?.hasSuffix("Nothing was changed.") == true)
        #expect(Self.ctimes(dir) == before, "fix changed something")
    }

    /// One drift of each kind fix repairs: a home's mode, a named ACL entry and a default ACL on it, a
    /// file's owner and group, a transcript's mode, file capabilities.
    static func driftEveryRepairableKind(_ host: ScratchHost) throws {
        host.setMode("/home/ann", 0o750)
        try host.setfacl("/home/ann", "u:33002:rx")
        try host.setfacl("/home/ann", "u:33002:rx", isDefault: true)
        try host.changeOwner("/home/ann/notes.md", uid: 33002, gid: 33101)
        host.setMode(ScratchHost.transcript, 0o664)
        try host.setcap(ScratchHost.transcript2, "cap_net_raw+ep")
    }

    @Test func everyRepairableKindHasItsExactChange() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try Self.driftEveryRepairableKind(host)
        let file = try host.baseline(Self.homes)
        let before = Self.ctimes(host.root)
        let run = try Harness.permdrift(["fix", "--root", host.root, "--baseline", file, "--no-config"])
        #expect(run.status == 1, "\(run.stderr)")
        let lines = Set(run.stdout.split(separator: "\n").map(String.init))
        for change in [
            "  mode 0750 → 0700", "  remove ACL entry user:bob:r-x", "  remove the default ACL", "  owner bob → ann",
            "  group eve → ann", "  mode 0664 → 0640", "  remove security.capability"
        ] {
            #expect(lines.contains(change), "\(change) missing from \(run.stdout)")
        }
        #expect(Self.ctimes(host.root) == before, "fix changed something")
    }

    @Test func aHardLinkedRootFileInAnAgentsHomeIsRefused() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try host.write("/home/secret", "", mode: 0o600)
        try host.hardLink("/home/secret", at: "/home/ann/stolen")
        let run = try Harness.permdrift(["fix", "--root", host.root, "--baseline", try host.baseline(Self.homes), "--no-config"])
        #expect(run.status == 1, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        let at = try #require(lines.firstIndex(of: "/home/ann/stolen"), "\(run.stdout)")
        for change in ["  REFUSED: owner root → ann", "  REFUSED: group root → ann"] {
            let refused = try #require(lines[at...].firstIndex(of: change), "\(run.stdout)")
            #expect(lines[refused + 1].hasPrefix("    why: the inode has 2 links: "), "\(run.stdout)")
        }
        #expect(!lines.contains("  owner root → ann") && !lines.contains("  group root → ann"))
        #expect(run.stdout.contains(", 3 refused, "), "\(run.stdout)")  // and a mode that would widen it
    }

    @Test func namesFromTheTreeAreEscapedInThePlan() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let name = "/home/ann/a\u{7}b\u{1B}[31mc\u{202E}d"
        try host.write(name, "", mode: 0o600, uid: 33002, gid: 33001)
        let run = try Harness.permdrift(["fix", "--root", host.root, "--baseline", try host.baseline(Self.homes), "--no-config"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stdout.contains("/home/ann/a\\x07b\\x1b[31mc\\u202ed"), "\(run.stdout)")
        #expect(!run.stdout.contains("\u{1B}") && !run.stdout.contains("\u{7}") && !run.stdout.contains("\u{202E}"))
    }

    @Test func aCleanTreeHasAnEmptyPlanAndExitsZero() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let run = try Harness.permdrift(["fix", "--root", host.root, "--baseline", try host.baseline(Self.homes), "--no-config"])
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
    }

    @Test func fixRefusesToRunAsAnyoneButRoot() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        host.setMode(ScratchHost.transcript, 0o664)
        let file = try host.baseline(Self.homes)
        let run = try Harness.permdrift(asUID: 65534, ["fix", "--root", host.root, "--baseline", file, "--no-config"])
        #expect(run.status == 64, "\(run.stdout) \(run.stderr)")
        #expect(run.stderr.contains("permdrift fix: must run as root (the effective uid is 65534)"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }
}
