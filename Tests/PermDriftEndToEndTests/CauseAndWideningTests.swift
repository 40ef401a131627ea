import Foundation
import PermDriftTestSupport
import Testing

/// Issue 20, parts 1 and 2 through the real binary: access findings grouped by the entry where the
/// access first opens, and every finding marked widening or narrowing, with `--fail-on widening`,
/// `fail-on: widening` and `alert-on: widening`.
@Suite(.enabled(if: Harness.isRoot, "needs root: builds trees owned by other uids and sets ACLs"))
struct CauseAndWideningTests {
    static let privateHomes =
        ScratchHost.head + """
            rules:
              - id: private
                severity: critical
                match: ["/home/{a}", "/home/{a}/**"]
                access: { read: ["{a}"], write: ["{a}"], execute: ["{a}"] }

            """

    @Test func theDemosACLEntryIsOneCauseWithMergedRightsAndCountedPaths() throws {
        let run = try Harness.permdrift(["demo"])
        #expect(run.status == 1, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        let cause = "  user:agent-bo:r-x on /home/agent-ada lets user:agent-bo read and execute: 3 paths [widening]"
        #expect(lines.filter { $0 == cause }.count == 1, "\(run.stdout)")
        // The chain once, then the three paths with their rights; no line per (path, right) any more.
        let at = try #require(lines.firstIndex(of: cause))
        #expect(lines[at + 1] == "    through other::r-x on /; other::r-x on /home; user:agent-bo:r-x on /home/agent-ada")
        #expect(lines[at + 2] == "    /home/agent-ada (read, execute: user:agent-bo:r-x)")
        #expect(lines[at + 3] == "    /home/agent-ada/transcripts (read, execute: other::r-x)")
        #expect(lines[at + 4] == "    /home/agent-ada/transcripts/session-001.jsonl (read: other::r--)")
        #expect(!lines.contains { $0.contains("user:agent-bo can ") }, "\(run.stdout)")
        // The shared-memory ACL entry is one cause for three agents, its directory and the file in it.
        #expect(
            lines.contains(
                "  group:agents:rwx on /srv/shared-memory lets user:agent-ada, user:agent-bo, user:agent-cy write: 2 paths [widening]"))

        let json = try Harness.permdrift(["demo", "--format", "json"])
        let body = Data(json.stdout[json.stdout.range(of: "\n{\n")!.lowerBound...].utf8)
        try Harness.validateAgainstSchema(body)
        let report = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(report["schema_version"] as? Int == 2)
        let bo = report.findings.filter { $0["kind"] as? String == "access" && $0["principal"] as? String == "user:agent-bo" }
        let ada = bo.filter { ($0["path"] as? String ?? "").hasPrefix("/home/agent-ada") }
        #expect(ada.count == 5, "one JSON finding per (path, principal, right): \(ada)")
        #expect(ada.allSatisfy { $0["cause"] as? String == "user:agent-bo:r-x on /home/agent-ada" }, "\(ada)")
    }

    @Test func jsonCarriesTheCauseAndWideningOnEveryFinding() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try host.setfacl("/home/ann", "u:33002:rx")
        host.setMode("/home/ann/transcripts", 0o755)
        host.setMode(ScratchHost.transcript, 0o644)
        let (run, report) = try host.scanJSON(try host.baseline(Self.privateHomes))
        #expect(run.status == 1)
        #expect(!report.findings.isEmpty)
        for f in report.findings {
            #expect(f["widening"] as? Bool == true, "an access finding is widening: \(f)")
            #expect(f["cause"] as? String == "user:bob:r-x on /home/ann", "\(f)")
        }
        let text = try Harness.permdrift(["scan", "--root", host.root, "--baseline", try host.baseline(Self.privateHomes)])
        #expect(text.stdout.contains("  user:bob:r-x on /home/ann lets user:bob read and execute: 3 paths [widening]\n"), "\(text.stdout)")
    }

    /// When the agent's home has no access rule, permdrift cannot call the home's entry drift: the cause is
    /// the first directory on the chain the report lists as an access finding for the principal executing
    /// it (here the transcripts directory), else the entry on the path itself. The home's entry is still
    /// in the chain printed under the cause.
    @Test func withoutARuleOnTheHomeTheCauseIsTheFirstGovernedDirectoryOrThePathItself() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try host.setfacl("/home/ann", "u:33002:rx")
        host.setMode("/home/ann/transcripts", 0o755)
        host.setMode(ScratchHost.transcript, 0o644)
        func rule(_ types: String) -> String {
            ScratchHost.head + """
                rules:
                  - id: transcripts
                    severity: critical
                    match: "/home/{a}/transcripts/**"\(types)
                    access: { read: ["{a}"], write: ["{a}"], execute: ["{a}"] }

                """
        }
        let governed = try host.baseline(rule(""))
        let (run, report) = try host.scanJSON(governed)
        #expect(run.status == 1)
        #expect(report.findings.count == 3, "\(report.findings)")
        for f in report.findings {
            #expect(f["principal"] as? String == "user:bob", "\(f)")
            #expect(f["cause"] as? String == "other::r-x on /home/ann/transcripts", "\(f)")
        }
        let text = try Harness.permdrift(["scan", "--root", host.root, "--baseline", governed]).stdout
        let lines = text.split(separator: "\n").map(String.init)
        let cause = "  other::r-x on /home/ann/transcripts lets user:bob read and execute: 2 paths [widening]"
        let at = try #require(lines.firstIndex(of: cause), "\(text)")
        #expect(
            lines[at + 1]
                == "    through other::r-x on /; other::r-x on /home; user:bob:r-x on /home/ann; other::r-x on /home/ann/transcripts")

        // Files only: no directory on the chain is a finding, so the cause is the file's own entry.
        let filesOnly = try host.baseline(rule("\n    types: [file]"), name: "files.yaml")
        let (_, fileReport) = try host.scanJSON(filesOnly)
        let read = try #require(fileReport.findings.first { $0["path"] as? String == ScratchHost.transcript })
        #expect(fileReport.findings.count == 1, "\(fileReport.findings)")
        #expect(read["cause"] as? String == "other::r-- on /home/ann/transcripts/t1.jsonl", "\(read)")
    }

    @Test func chmod0400IsNarrowingAndPassesFailOnWideningWhile0644IsWideningAndFails() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(ScratchHost.transcriptsRule)
        host.setMode(ScratchHost.transcript, 0o400)
        let (narrow, report) = try host.scanJSON(file, extra: ["--fail-on", "widening"])
        #expect(narrow.status == 0, "\(report.findings)")
        let finding = try #require(report.findings.first { $0["kind"] as? String == "mode" })
        #expect(finding["widening"] as? Bool == false)
        #expect(finding["cause"] == nil)
        let text = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--fail-on", "widening"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("/home/ann/transcripts/t1.jsonl: mode is 0400, expected 0600 [narrowing]"), "\(text.stdout)")
        #expect(text.stdout.contains("the run passes"), "\(text.stdout)")
        // The default still fails on any drift.
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--baseline", file]).status == 1)
        // A severity and widening together: both must hold.
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--fail-on", "critical,widening"]).status == 0)

        host.setMode(ScratchHost.transcript, 0o644)
        let (wide, wideReport) = try host.scanJSON(file, extra: ["--fail-on", "widening"])
        #expect(wide.status == 1)
        #expect(wideReport.findings.first { $0["kind"] as? String == "mode" }?["widening"] as? Bool == true)
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--fail-on", "critical,widening"]).status == 1)
    }

    @Test func fileCapabilitiesAreWideningAndFailFailOnWidening() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: no-caps
                    match: /home/**
                    types: [file]
                    expect: { capabilities: none }

                """)
        try host.setcap(ScratchHost.transcript, "cap_net_raw+ep")
        let (run, report) = try host.scanJSON(file, extra: ["--fail-on", "widening"])
        #expect(run.status == 1, "\(report.findings)")
        let finding = try #require(report.findings.first { $0["kind"] as? String == "capabilities" })
        #expect(finding["widening"] as? Bool == true)
    }

    @Test func aConfigurationsFailOnWidening() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let config = try host.baseline("baseline: \(file)\nfail-on: widening\n", name: "config.yaml")
        host.setMode(ScratchHost.transcript, 0o400)
        let narrow = try Harness.permdrift(["scan", "--root", host.root, "--config", config])
        #expect(narrow.status == 0, "\(narrow.stdout)\(narrow.stderr)")
        // The flag overrides the configuration.
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--config", config, "--fail-on", "low"]).status == 1)
        host.setMode(ScratchHost.transcript, 0o644)
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--config", config]).status == 1)
    }

    @Test func aBadFailOnNamesTheFileAndLineOrTheFlag() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(ScratchHost.transcriptsRule)
        for key in ["fail-on", "alert-on"] {
            let config = try host.baseline("baseline: \(file)\n\(key): sometimes\n", name: "config.yaml")
            let run = try Harness.permdrift(["scan", "--root", host.root, "--config", config])
            #expect(run.status == 2)
            let column = key.count + 3
            #expect(
                run.stderr.contains("\(config):2:\(column): error: \(key) 'sometimes' is not one of critical, high, medium, low, widening"),
                "\(run.stderr)")
        }
        for value in ["sometimes", "widening,widening", "high,low"] {
            let flag = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--fail-on", value])
            #expect(flag.status == 64)
            #expect(flag.stderr.contains("--fail-on"), "\(flag.stderr)")
            #expect(flag.stderr.contains(value), "\(flag.stderr)")
        }
    }

    @Test func alertOnWideningPagesOnlyForWideningDrift() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = host.base + "/state"
        mkdir(state, 0o700)
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let config = try host.baseline("baseline: \(file)\nalert-on: widening\n", name: "config.yaml")
        func pending() throws -> [[String: Any]] {
            let run = try Harness.permdrift(["status", "--no-config", "--state-dir", state, "--json"])
            let object = try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any]
            return (object?["pending_alerts"] as? [[String: Any]] ?? []).filter {
                $0["key"] as? String == "PermissionDrift/transcripts-private"
            }
        }
        host.setMode(ScratchHost.transcript, 0o400)
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--config", config, "--state-dir", state]).status == 1)
        #expect(try pending().isEmpty, "a narrowing drift does not page under alert-on: widening")
        host.setMode(ScratchHost.transcript, 0o644)
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--config", config, "--state-dir", state]).status == 1)
        #expect(try pending().count == 1)
        // The description's grouped form is in the state directory's outbox.
        let ledger = try String(contentsOfFile: state + "/findings.json", encoding: .utf8)
        #expect(ledger.contains("mode: 1 path [widening]"), "\(ledger)")
    }
}
