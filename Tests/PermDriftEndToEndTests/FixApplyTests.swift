import Foundation
import PermDriftTestSupport
import Testing

/// Issue 20, part 3 through the real binary: `permdrift fix --apply` repairs what it can, journals it,
/// scans again, and `--undo` puts back exactly what was there.
@Suite(.enabled(if: Harness.isRoot, "needs root: builds trees owned by other uids, sets ACLs and capabilities"))
struct FixApplyTests {
    /// A 0700 state directory of the test's own.
    static func stateDirectory() throws -> String {
        let dir = try makeTemporaryDirectory(prefix: "pd-fix-state")
        chmod(dir, 0o700)
        return dir
    }

    /// The run's name from `permdrift fix --undo RUN reverts this run.`
    static func runName(_ stdout: String) -> String? {
        guard let range = stdout.range(of: "permdrift fix --undo ") else { return nil }
        return stdout[range.upperBound...].split(separator: " ").first.map(String.init)
    }

    @Test func theDemoIsRepairedButForWhatFixCannotRepairAndUndoBringsTheDriftBackExactly() throws {
        let demo = try Harness.permdrift(["demo", "--keep"])
        let dir = try #require(demo.stdout.split(separator: " ").map(String.init).first { $0.hasPrefix("/tmp/permdrift-demo") })
            .trimmingCharacters(in: .whitespacesAndNewlines)
        defer { removeTree(dir) }
        let state = try Self.stateDirectory()
        defer { removeTree(state) }
        let drifted = try TreeState.read(dir)
        let first = try Harness.permdrift(["scan", "--root", dir, "--format", "json"])
        let before = try Self.findings(first)

        let plan = try Harness.permdrift(["fix", "--root", dir])
        #expect(plan.status == 1)
        #expect(plan.stdout.split(separator: "\n").count <= 50, "the plan does not fit one screen: \(plan.stdout)")

        let fix = try Harness.permdrift(["fix", "--root", dir, "--apply", "--yes", "--journal-dir", state])
        #expect(fix.status == 1, "one finding (a second name of a transcript) is left: \(fix.stdout) \(fix.stderr)")
        #expect(fix.stdout.contains("permdrift fix: changed 5 of 5 paths;"), "\(fix.stdout)")
        #expect(fix.stdout.contains("the scan after the changes finds 1 finding."), "\(fix.stdout)")
        let run = try #require(Self.runName(fix.stdout), "\(fix.stdout)")

        // A second scan shows only what the plan said fix cannot repair.
        let second = try Self.findings(try Harness.permdrift(["scan", "--root", dir, "--format", "json"]))
        #expect(second.map(\.kind) == ["links"], "\(second)")
        #expect(second.map(\.path) == ["/home/agent-ada/transcripts/session-002.jsonl"])
        let again = try Harness.permdrift(["fix", "--root", dir])
        #expect(again.stdout.contains("0 changes on 0 paths, 0 refused, 1 finding it cannot repair"), "\(again.stdout)")

        let undo = try Harness.permdrift(["fix", "--root", dir, "--undo", run, "--journal-dir", state])
        #expect(undo.status == 0, "\(undo.stdout) \(undo.stderr)")
        #expect(undo.stdout.contains("restored 5 of 5 paths changed by run \(run)"), "\(undo.stdout)")
        #expect(try TreeState.read(dir) == drifted, "undo did not bring back exactly the drifted tree")
        let after = try Self.findings(try Harness.permdrift(["scan", "--root", dir, "--format", "json"]))
        #expect(after == before)

        let twice = try Harness.permdrift(["fix", "--root", dir, "--undo", run, "--journal-dir", state])
        #expect(twice.status == 64)
        #expect(twice.stderr.contains("has been undone already"), "\(twice.stderr)")
        #expect(try TreeState.read(dir) == drifted)
    }

    @Test func everyRepairableKindIsRestoredAndScansClean() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try Self.stateDirectory()
        defer { removeTree(state) }
        try FixPlanTests.driftEveryRepairableKind(host)
        let file = try host.baseline(FixPlanTests.homes)
        let drifted = try TreeState.read(host.root)
        let fix = try Harness.permdrift([
            "fix", "--root", host.root, "--baseline", file, "--no-config", "--apply", "--yes", "--journal-dir", state
        ])
        #expect(fix.status == 0, "\(fix.stdout) \(fix.stderr)")
        #expect(fix.stdout.contains("the scan after the changes finds 0 findings."), "\(fix.stdout)")
        let scan = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--no-config"])
        #expect(scan.status == 0, "\(scan.stdout)")
        let repaired = try TreeState.read(host.root)
        #expect(repaired[ScratchHost.transcript2]?.capability == nil)
        #expect(repaired["/home/ann/notes.md"]?.owner == "33001:33001")
        #expect(repaired["/home/ann"]?.acl == nil && repaired["/home/ann"]?.mode == 0o40700)
        #expect(repaired["/home/ann"]?.defaultACL == nil)

        // Undo puts every kind back but the capabilities: the agent owns that file and could have
        // changed its content, so undo does not make it capable again.
        let run = try #require(Self.runName(fix.stdout))
        let undo = try Harness.permdrift(["fix", "--root", host.root, "--undo", run, "--journal-dir", state])
        #expect(undo.status == 1, "\(undo.stdout) \(undo.stderr)")
        #expect(
            undo.stdout.contains(
                "SKIPPED  \(ScratchHost.transcript2): this would give the file capabilities (security.capability); fix never gives a file privilege"
            ),
            "\(undo.stdout)")
        var expected = drifted
        expected[ScratchHost.transcript2]?.capability = nil
        #expect(try TreeState.read(host.root) == expected, "undo did not restore every other kind exactly")
    }

    /// The reviewers' attacks: an agent's own program made root's and setuid by a rule, a setgid bit
    /// kept across a change to another group, and undo giving root's ownership and setuid back to a file
    /// the fix had given an agent. None is done.
    @Test func privilegeIsNeverGivenToAFile() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try Self.stateDirectory()
        defer { removeTree(state) }
        try host.directory("/srv/shared/tools", mode: 0o750, uid: 33001, gid: 33001)
        try host.write("/srv/shared/tools/helper", "#!/bin/sh\n", mode: 0o755, uid: 33001, gid: 33001)
        try host.write("/srv/shared/tools/diskhelper", "#!/bin/sh\n", mode: 0o644, uid: 33001, gid: 33001)
        chmod(host.path("/srv/shared/tools/diskhelper"), 0o2644)
        try host.write("/home/ann/tool", "", mode: 0o755)
        chmod(host.path("/home/ann/tool"), 0o4755)
        let file = try host.baseline(
            FixPlanTests.homes + """
                  - id: helper
                    match: /srv/shared/tools/helper
                    types: [file]
                    expect: { owner: root, group: root, mode: "4755" }
                  - id: diskhelper
                    match: /srv/shared/tools/diskhelper
                    types: [file]
                    expect: { group: eve, mode: "2755" }

                """)
        let fix = try Harness.permdrift([
            "fix", "--root", host.root, "--baseline", file, "--no-config", "--apply", "--yes", "--journal-dir", state
        ])
        #expect(fix.status == 1, "\(fix.stdout) \(fix.stderr)")
        #expect(fix.stdout.contains("  REFUSED: owner ann → root\n    why: this would give the file root's ownership; "), "\(fix.stdout)")
        #expect(
            fix.stdout.contains("  REFUSED: mode 0755 → 4755\n    why: this would give the file a setuid or setgid bit; "), "\(fix.stdout)")
        #expect(
            fix.stdout.contains("  REFUSED: group ann → eve\n    why: this would give the file setgid to another group; "), "\(fix.stdout)")
        let tree = try TreeState.read(host.root)
        #expect(tree["/srv/shared/tools/helper"]?.owner.hasPrefix("33001:") == true && tree["/srv/shared/tools/helper"]?.mode == 0o100755)
        #expect(
            tree["/srv/shared/tools/diskhelper"]?.owner == "33001:33001" && tree["/srv/shared/tools/diskhelper"]?.mode == 0o102755,
            "setgid to ann's own group only")
        // The root-owned setuid file in ann's home was given to ann (which clears setuid); undo does not
        // make what ann could since have written root's and setuid again.
        #expect(tree["/home/ann/tool"]?.owner == "33001:33001")
        let run = try #require(Self.runName(fix.stdout))
        let undo = try Harness.permdrift(["fix", "--root", host.root, "--undo", run, "--journal-dir", state])
        #expect(undo.status == 1)
        #expect(undo.stdout.contains("SKIPPED  /home/ann/tool: this would give the file root's ownership"), "\(undo.stdout)")
        let tool = try TreeState.read(host.root)["/home/ann/tool"]
        #expect(tool?.owner == "33001:33001" && tool?.mode == 0o100755)
    }

    /// An ACL whose mask limits the owning group: removing it leaves the group what it had in effect.
    @Test func removingAnACLLeavesTheOwningGroupWhatTheMaskAllowed() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try Self.stateDirectory()
        defer { removeTree(state) }
        try host.setfacl(ScratchHost.transcript, "u::rw-,u:33002:r--,g::rwx,m::r--,o::---")
        let file = try host.baseline(FixPlanTests.homes)
        let fix = try Harness.permdrift([
            "fix", "--root", host.root, "--baseline", file, "--no-config", "--apply", "--yes", "--journal-dir", state
        ])
        #expect(fix.status == 0, "\(fix.stdout) \(fix.stderr)")
        let t = try TreeState.read(host.root)[ScratchHost.transcript]
        #expect(t?.mode == 0o100640 && t?.acl == nil, "\(String(describing: t))")
    }

    /// A default ACL the rule asks for: set where it is missing, and a named entry removed where one
    /// was added; then undone exactly.
    @Test func defaultACLsAreSetAndTrimmedAndUndone() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try Self.stateDirectory()
        defer { removeTree(state) }
        try host.directory("/srv/shared/a", mode: 0o750, uid: 33100, gid: ScratchHost.agentsGID)
        try host.directory("/srv/shared/b", mode: 0o750, uid: 33100, gid: ScratchHost.agentsGID)
        try host.setfacl("/srv/shared/b", "u::rwx,g::r-x,g:33000:r-x,u:33002:rwx,m::rwx,o::---", isDefault: true)
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: shared-dirs
                    match: /srv/shared/*
                    types: [directory]
                    expect: { default-acl: "user::rwx,group::r-x,group:agents:r-x,mask::r-x,other::---" }

                """)
        let drifted = try TreeState.read(host.root)
        let fix = try Harness.permdrift([
            "fix", "--root", host.root, "--baseline", file, "--no-config", "--apply", "--yes", "--journal-dir", state
        ])
        #expect(fix.status == 0, "\(fix.stdout) \(fix.stderr)")
        #expect(
            fix.stdout.contains("changed /srv/shared/a: set default ACL to user::rwx,group::r-x,group:agents:r-x,mask::r-x,other::---"),
            "\(fix.stdout)")
        #expect(fix.stdout.contains("changed /srv/shared/b: "), "\(fix.stdout)")
        let repaired = try TreeState.read(host.root)
        #expect(
            repaired["/srv/shared/a"]?.defaultACL != nil && repaired["/srv/shared/a"]?.defaultACL == repaired["/srv/shared/b"]?.defaultACL)
        let run = try #require(Self.runName(fix.stdout))
        let undo = try Harness.permdrift(["fix", "--root", host.root, "--undo", run, "--journal-dir", state])
        #expect(undo.status == 0, "\(undo.stdout) \(undo.stderr)")
        #expect(try TreeState.read(host.root) == drifted)
    }

    @Test func undoSkipsWhatChangedSinceTheFixAndRestoresTheRest() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try Self.stateDirectory()
        defer { removeTree(state) }
        host.setMode(ScratchHost.transcript, 0o664)
        host.setMode(ScratchHost.transcript2, 0o644)
        let file = try host.baseline(FixPlanTests.homes)
        let fix = try Harness.permdrift([
            "fix", "--root", host.root, "--baseline", file, "--no-config", "--apply", "--yes", "--journal-dir", state
        ])
        #expect(fix.status == 0, "\(fix.stdout) \(fix.stderr)")
        host.setMode(ScratchHost.transcript, 0o600)  // an admin's own change after the fix
        let run = try #require(Self.runName(fix.stdout))
        let undo = try Harness.permdrift(["fix", "--root", host.root, "--undo", run, "--journal-dir", state])
        #expect(undo.status == 1, "\(undo.stdout) \(undo.stderr)")
        #expect(undo.stdout.contains("SKIPPED  \(ScratchHost.transcript): changed since the fix"), "\(undo.stdout)")
        #expect(undo.stdout.contains("restored \(ScratchHost.transcript2): mode 0640 → 0644"), "\(undo.stdout)")
        #expect(try TreeState.read(host.root)[ScratchHost.transcript]?.mode == 0o100600, "the later change was kept")
        #expect(try TreeState.read(host.root)[ScratchHost.transcript2]?.mode == 0o100644)
    }

    @Test func aHardLinkedRootFileInAnAgentsHomeIsNeverChowned() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try Self.stateDirectory()
        defer { removeTree(state) }
        try host.write("/home/secret", "", mode: 0o600)
        try host.hardLink("/home/secret", at: "/home/ann/stolen")
        let file = try host.baseline(FixPlanTests.homes)
        let fix = try Harness.permdrift([
            "fix", "--root", host.root, "--baseline", file, "--no-config", "--apply", "--yes", "--journal-dir", state
        ])
        #expect(fix.status == 1, "\(fix.stdout) \(fix.stderr)")
        #expect(fix.stdout.contains("  REFUSED: owner root → ann"), "\(fix.stdout)")
        #expect(try TreeState.read(host.root)["/home/secret"]?.owner == "0:0", "the root file was handed to the agent")
    }

    /// An exact mode would widen a file that another name reaches (a file hard-linked from elsewhere):
    /// the plan refuses the change and apply does not make it.
    @Test func aChangeThatGrantsMoreOnAHardLinkedFileIsRefused() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try Self.stateDirectory()
        defer { removeTree(state) }
        host.setMode(ScratchHost.facts, 0o600)
        try host.hardLink(ScratchHost.facts, at: "/srv/facts-link")
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: shared
                    match: /srv/shared/**
                    types: [file]
                    expect: { mode: "0640" }

                """)
        let fix = try Harness.permdrift([
            "fix", "--root", host.root, "--baseline", file, "--no-config", "--apply", "--yes", "--journal-dir", state
        ])
        #expect(fix.status == 1, "\(fix.stdout) \(fix.stderr)")
        #expect(fix.stdout.contains("  REFUSED: mode 0600 → 0640"), "\(fix.stdout)")
        #expect(fix.stdout.contains("    why: the inode has 2 links: another name reaches the same file"), "\(fix.stdout)")
        #expect(try TreeState.read(host.root)[ScratchHost.facts]?.mode == 0o100600)
    }

    @Test func namesFromTheTreeAreEscapedInWhatApplySays() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try Self.stateDirectory()
        defer { removeTree(state) }
        let name = "/home/ann/transcripts/a\u{1B}[31mb\u{7}.jsonl"
        try host.write(name, "", mode: 0o644, uid: 33001, gid: 33001)
        let file = try host.baseline(FixPlanTests.homes)
        let fix = try Harness.permdrift([
            "fix", "--root", host.root, "--baseline", file, "--no-config", "--apply", "--yes", "--journal-dir", state
        ])
        #expect(fix.status == 0, "\(fix.stdout) \(fix.stderr)")
        #expect(fix.stdout.contains("changed /home/ann/transcripts/a\\x1b[31mb\\x07.jsonl: mode 0644 → 0640"), "\(fix.stdout)")
        #expect(!fix.stdout.contains("\u{1B}") && !fix.stdout.contains("\u{7}"))
        #expect(try TreeState.read(host.root)[name]?.mode == 0o100640)
    }

    /// A finding as the JSON report gives it: (path, kind).
    struct Found: Equatable {
        var path: String
        var kind: String
    }

    static func findings(_ run: Harness.Run) throws -> [Found] {
        let object = try #require(try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any], "\(run.stderr)")
        return object.findings.map { Found(path: $0["path"] as? String ?? "", kind: $0["kind"] as? String ?? "") }
    }
}

/// What fix may change of every entry of a tree, read with lstat and lgetxattr (not through permdrift):
/// type and mode, owner, the raw ACL and capability attributes.
enum TreeState {
    struct Entry: Equatable {
        var mode: UInt32
        var owner: String
        var inode: UInt64
        var acl: [UInt8]?
        var defaultACL: [UInt8]?
        var capability: [UInt8]?
    }

    /// By path under `root` ("/home/ann" for root + "/home/ann").
    static func read(_ root: String) throws -> [String: Entry] {
        var out = [String: Entry]()
        var paths = [""]
        let e = FileManager.default.enumerator(atPath: root)
        while let p = e?.nextObject() as? String { paths.append("/" + p) }
        for p in paths {
            var st = stat()
            guard lstat(root + p, &st) == 0 else { throw HarnessError("lstat \(root + p): \(errno)") }
            out[p.isEmpty ? "/" : p] = Entry(
                mode: st.st_mode, owner: "\(st.st_uid):\(st.st_gid)", inode: UInt64(st.st_ino),
                acl: attribute(root + p, "system.posix_acl_access"), defaultACL: attribute(root + p, "system.posix_acl_default"),
                capability: attribute(root + p, "security.capability"))
        }
        return out
    }

    static func attribute(_ path: String, _ name: String) -> [UInt8]? { rawAttribute(path, name) }
}
