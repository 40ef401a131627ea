import Foundation
import PermDriftTestSupport
import Testing

/// Effective access through the real binary: the situations the effective-access issue names, group
/// membership drift, ids without accounts, and `permdrift explain`.
@Suite(.enabled(if: Harness.isRoot, "needs root: builds trees owned by other uids"))
struct AccessEndToEndTests {
    static let privateHomes =
        ScratchHost.head + """
            rules:
              - id: private
                severity: critical
                match: /home/{a}/**
                access: { read: ["{a}"], write: ["{a}"] }

            """

    static func accessFindings(_ report: [String: Any]) -> [(path: String, principal: String, right: String, via: [String])] {
        report.findings.filter { $0["kind"] as? String == "access" }.map {
            ($0["path"] as? String ?? "", $0["principal"] as? String ?? "", $0["right"] as? String ?? "", $0["via"] as? [String] ?? [])
        }
    }

    @Test func chmod644InsideA0700HomeExposesNothing() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        host.setMode(ScratchHost.transcript, 0o644)
        let (run, report) = try host.scanJSON(try host.baseline(Self.privateHomes))
        #expect(run.status == 0, "\(report.findings)")
        #expect(Self.accessFindings(report).isEmpty)
    }

    @Test func anACLOnTheHomePlusA0755FolderPlusA0644TranscriptExposesThatTranscript() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try host.setfacl("/home/ann", "u:33002:rx")
        host.setMode("/home/ann/transcripts", 0o755)
        host.setMode(ScratchHost.transcript, 0o644)
        let (run, report) = try host.scanJSON(try host.baseline(Self.privateHomes))
        #expect(run.status == 1)
        let findings = Self.accessFindings(report)
        let exposed = try #require(findings.first { $0.path == ScratchHost.transcript && $0.principal == "user:bob" && $0.right == "read" })
        #expect(
            exposed.via == [
                "other::r-x on /", "other::r-x on /home", "user:bob:r-x on /home/ann",
                "other::r-x on /home/ann/transcripts", "other::r-- on /home/ann/transcripts/t1.jsonl"
            ])
        // Only bob, who holds the ACL entry, gets in: eve and svc stop at the 0700 home.
        #expect(!findings.contains { $0.principal == "user:eve" || $0.principal == "user:svc" })
        // The other transcripts, still 0600, stay private; the 0700 subfolder stops bob.
        #expect(!findings.contains { $0.path == ScratchHost.transcript2 || $0.path == ScratchHost.notes && $0.right == "read" })
        // Each change alone exposes no transcript.
        #expect(findings.contains { $0.path == "/home/ann" && $0.principal == "user:bob" && $0.right == "read" })
    }

    @Test func addingAnAgentToAnotherAgentsGroupOpensAccessWithNoFileChanging() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        host.setMode("/home/ann", 0o750)
        host.setMode(ScratchHost.notes, 0o640)
        let file = try host.baseline(Self.privateHomes)
        let (before, clean) = try host.scanJSON(file)
        #expect(before.status == 0, "\(clean.findings)")
        // Only etc/group changes: bob becomes a member of ann's group.
        let group = try String(contentsOfFile: host.path("/etc/group"), encoding: .utf8)
            .replacingOccurrences(of: "ann:x:33001:\n", with: "ann:x:33001:bob\n")
        try host.write("/etc/group", group, mode: 0o644)
        let (after, report) = try host.scanJSON(file)
        #expect(after.status == 1)
        let findings = Self.accessFindings(report)
        #expect(
            findings.contains {
                $0.path == ScratchHost.notes && $0.principal == "user:bob" && $0.right == "read"
                    && $0.via.last == "group::r-- on /home/ann/notes.md"
            })
        #expect(!findings.contains { $0.principal == "user:eve" })
    }

    @Test func groupWriteOnTheSharedFolderLetsMembersReplaceItsFiles() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try host.setfacl("/srv/shared", "g:33000:rwx")
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: shared-read-only
                    match: /srv/shared/**
                    access: { write: [user:svc] }

                """)
        let (run, report) = try host.scanJSON(file)
        #expect(run.status == 1)
        let findings = Self.accessFindings(report)
        let replace = try #require(findings.first { $0.path == ScratchHost.facts && $0.principal == "user:ann" && $0.right == "write" })
        #expect(replace.via.last == "replace via group:agents:rwx on /srv/shared (not sticky)")
        // With the sticky bit, members can still create entries but no longer replace svc's file.
        host.setMode("/srv/shared", 0o1770)
        let (_, sticky) = try host.scanJSON(file)
        let stickyFindings = Self.accessFindings(sticky)
        #expect(stickyFindings.contains { $0.path == "/srv/shared" && $0.principal == "user:ann" && $0.right == "write" })
        #expect(!stickyFindings.contains { $0.path == ScratchHost.facts })
    }

    @Test func anIdWithoutAnAccountIsReportedByNumber() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try host.setfacl("/home/ann", "u:40404:x")
        try host.write("/home/ann/orphan.txt", "", mode: 0o640, uid: 40404, gid: 40404)
        let (run, report) = try host.scanJSON(try host.baseline(Self.privateHomes))
        #expect(run.status == 1)
        let findings = Self.accessFindings(report)
        #expect(findings.contains { $0.path == "/home/ann/orphan.txt" && $0.principal == "uid:40404" && $0.right == "read" })
        #expect(findings.contains { $0.path == "/home/ann/orphan.txt" && $0.principal == "uid:40404" && $0.right == "write" })
    }

    @Test func aDefaultACLIsReportedBeforeTheNextTranscriptLeaks() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        host.setMode("/home/ann", 0o711)
        host.setMode("/home/ann/transcripts", 0o711)
        try host.setfacl("/home/ann/transcripts", "u:33002:r", isDefault: true)
        let (run, report) = try host.scanJSON(try host.baseline(Self.privateHomes))
        #expect(run.status == 1)
        let inherited = report.findings.filter { $0["kind"] as? String == "inherited-access" }
        let finding = try #require(inherited.first { $0["path"] as? String == "/home/ann/transcripts" })
        #expect(finding["principal"] as? String == "user:bob")
        #expect(finding["right"] as? String == "read")
        #expect((finding["via"] as? [String])?.last == "default:user:bob:r-- on /home/ann/transcripts (inherited by new files)")
        // The transcripts that exist are not readable by bob (the default ACL came after them).
        #expect(!Self.accessFindings(report).contains { $0.path == ScratchHost.transcript && $0.principal == "user:bob" })
    }

    @Test func aGroupListingAnUnknownUserIsANoticeNotACrash() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let group = try String(contentsOfFile: host.path("/etc/group"), encoding: .utf8)
            .replacingOccurrences(of: "agents:x:33000:ann,bob\n", with: "agents:x:33000:ann,bob,ghost\n")
        try host.write(
            "/etc/group", group + String(repeating: "big:x:39999:" + (1...3000).map { "m\($0)" }.joined(separator: ",") + "\n", count: 1),
            mode: 0o644)
        let (run, report) = try host.scanJSON(try host.baseline(Self.privateHomes))
        #expect(run.status == 0, "\(report.findings)")
        let notices = report["notices"] as? [String] ?? []
        #expect(notices.contains("group agents lists ghost, who has no account; ignored"), "\(notices)")
    }

    @Test func anACLWithTheMostEntriesTheFilesystemHoldsIsReadWhole() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        // 500 named users without accounts, each with read: the most an ext4 inode's xattr block holds
        // beside the base entries (one more does not fit, as the last assertion shows).
        let count = 500
        let users = 45000..<(45000 + count)
        try Harness.sh("/usr/bin/setfacl", "-m", users.map { "u:\($0):r" }.joined(separator: ","), host.path(ScratchHost.notes))
        try Harness.sh("/usr/bin/setfacl", "-m", users.map { "u:\($0):x" }.joined(separator: ","), host.path("/home/ann"))
        let (run, report) = try host.scanJSON(try host.baseline(Self.privateHomes))
        #expect(run.status == 1)
        let readers = Set(Self.accessFindings(report).filter { $0.path == ScratchHost.notes && $0.right == "read" }.map(\.principal))
        #expect(readers == Set(users.map { "uid:\($0)" }))
        let more = try Harness.run(
            "/usr/bin/setfacl", ["-m", (0..<8).map { "u:\(46000 + $0):r" }.joined(separator: ","), host.path(ScratchHost.notes)])
        #expect(more.status != 0, "the filesystem stores more entries than this test assumes; raise count")
    }

    @Test func explainListsEveryUserAndWhy() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try host.setfacl("/home/ann", "u:33002:rx")
        host.setMode("/home/ann/transcripts", 0o755)
        host.setMode(ScratchHost.transcript, 0o644)
        let run = try Harness.permdrift(["explain", "--root", host.root, "--format", "json", ScratchHost.transcript])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any])
        #expect(json["path"] as? String == ScratchHost.transcript)
        let rights = try #require(json["rights"] as? [String: [[String: Any]]])
        #expect(rights["read"]?.compactMap { $0["principal"] as? String } == ["user:ann", "user:bob"])
        #expect(rights["write"]?.compactMap { $0["principal"] as? String } == ["user:ann"])
        #expect(rights["execute"]?.isEmpty == true)
        let text = try Harness.permdrift(["explain", "--root", host.root, ScratchHost.transcript])
        #expect(text.stdout.contains("read: 2 users"))
        #expect(text.stdout.contains("    user:bob:r-x on /home/ann"))
        let missing = try Harness.permdrift(["explain", "--root", host.root, "/home/ann/nope"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/home/ann/nope does not exist"))
    }

    @Test func theDefaultBaselineFlagsTheDemoHostsAccessDrift() throws {
        let run = try Harness.permdrift(["demo", "--format", "json"])
        #expect(run.status == 1)
        let json = String(run.stdout[run.stdout.range(of: "\n{\n")!.lowerBound...])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        try Harness.validateAgainstSchema(Data(json.utf8))
        #expect(
            Self.accessFindings(report).contains {
                $0.path == "/home/agent-ada/transcripts/session-001.jsonl" && $0.principal == "user:agent-bo" && $0.right == "read"
            })
        #expect(
            Self.accessFindings(report).contains {
                $0.path == "/srv/shared-memory/facts.md" && $0.principal == "user:agent-cy" && $0.right == "write"
            })
    }

    @Test func symlinksHaveNoAccessOfTheirOwnButCanBeReplaced() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        symlink("/etc/shadow", host.path("/srv/shared/link"))
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: shared
                    match: /srv/shared/**
                    access: { read: [user:svc, group:agents], write: [user:svc] }

                """)
        let (clean, report) = try host.scanJSON(file)
        #expect(clean.status == 0, "a link's 0777 is not access: \(report.findings)")
        // Group write on the directory lets the agents replace the link.
        try host.setfacl("/srv/shared", "g:33000:rwx")
        let (_, writable) = try host.scanJSON(file)
        let link = Self.accessFindings(writable).filter { $0.path == "/srv/shared/link" }
        #expect(Set(link.map(\.principal)) == ["user:ann", "user:bob"])
        #expect(link.allSatisfy { $0.right == "write" && $0.via.last == "replace via group:agents:rwx on /srv/shared (not sticky)" })
    }

    @Test func inheritedAccessFollowsRulesThatNameFiles() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        host.setMode("/home/ann", 0o711)
        host.setMode("/home/ann/transcripts", 0o711)
        try host.setfacl("/home/ann/transcripts", "u:33002:rw", isDefault: true)
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: jsonl
                    match: /home/{a}/transcripts/*.jsonl
                    access: { read: ["{a}"], write: ["{a}"] }

                """)
        let (run, report) = try host.scanJSON(file)
        #expect(run.status == 1)
        let inherited = report.findings.filter {
            $0["kind"] as? String == "inherited-access" && $0["path"] as? String == "/home/ann/transcripts"
        }
        #expect(Set(inherited.compactMap { $0["right"] as? String }) == ["read", "write"], "\(inherited)")
    }
}
