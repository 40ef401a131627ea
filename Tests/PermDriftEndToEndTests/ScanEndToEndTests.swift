import Foundation
import PermDriftTestSupport
import Testing

/// The "Done when", run as a user would: the real binary on a real tree with real owners and ACLs.
@Suite(.enabled(if: Harness.isRoot, "needs root: builds trees owned by other uids"))
struct ScanEndToEndTests {
    @Test func cleanTreeExitsZero() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let (run, report) = try host.scanJSON(try host.baseline(ScratchHost.transcriptsRule))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(report.findings.isEmpty)
        let summary = try #require(report["summary"] as? [String: Any])
        #expect(summary["complete"] as? Bool == true)
        #expect((summary["entries"] as? Int ?? 0) >= 12)
    }

    @Test func chmod644OnATranscriptIsAFindingOfTheTranscriptsRule() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        host.setMode(ScratchHost.transcript, 0o644)
        let (run, report) = try host.scanJSON(try host.baseline(ScratchHost.transcriptsRule))
        #expect(run.status == 1)
        let finding = try #require(report.findings.first { $0["path"] as? String == ScratchHost.transcript })
        #expect(finding["rule"] as? String == "transcripts-private")
        #expect(finding["kind"] as? String == "mode")
        #expect(finding["expected"] as? String == "0600")
        #expect(finding["actual"] as? String == "0644")
        #expect(finding["severity"] as? String == "critical")
        #expect((finding["fingerprint"] as? String)?.count == 32)
        #expect(report.findings.count == 1, "only the changed transcript drifts: \(report.findings)")
    }

    @Test func fingerprintsAreStableAcrossRuns() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        host.setMode(ScratchHost.transcript, 0o644)
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let (_, a) = try host.scanJSON(file)
        let (_, b) = try host.scanJSON(file)
        #expect(a.findings.map { $0["fingerprint"] as? String } == b.findings.map { $0["fingerprint"] as? String })
        #expect(a.findings.first?["fingerprint"] as? String != nil)
    }

    @Test func unreadableDirectoryMakesTheScanIncomplete() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(ScratchHost.transcriptsRule)
        // An unprivileged uid without capabilities cannot list the agents' 0700 homes.
        let run = try Harness.permdrift(asUID: 61999, ["scan", "--root", host.root, "--baseline", file, "--format", "json"])
        #expect(run.status == 2, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any])
        try Harness.validateAgainstSchema(run.stdoutBytes)
        let errors = report.errors
        let ann = try #require(errors.first { $0["path"] as? String == "/home/ann" }, "errors: \(errors)")
        #expect(ann["syscall"] as? String == "openat")
        #expect(ann["errno"] as? Int == Int(EACCES))
        #expect(ann["errno_name"] as? String == "EACCES")
        let summary = try #require(report["summary"] as? [String: Any])
        #expect(summary["complete"] as? Bool == false)
        #expect(run.stderr.contains("incomplete"))
    }

    @Test func unreadableDirectoryStillReportsItsOwnDrift() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        // The home itself is 0000: its mode is read through the parent, its contents are an error.
        host.setMode("/home/bob", 0o000)
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: homes
                    match: /home/{a}
                    expect: { mode: "0700" }

                """)
        let run = try Harness.permdrift(asUID: 61999, ["scan", "--root", host.root, "--baseline", file, "--format", "json"])
        #expect(run.status == 2)
        let report = try #require(try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any])
        #expect(report.hasFinding(rule: "homes", path: "/home/bob", kind: "mode"))
        #expect(report.errors.contains { $0["path"] as? String == "/home/bob" })
    }

    @Test func unquotedModeExitsTwoWithFileLineColumn() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: t
                    match: /home/*
                    expect: { mode: 0600 }

                """)
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--format", "json"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("\(file):8:21: error: mode must be a quoted octal string: write \"0600\""), "\(run.stderr)")
        #expect(run.stdout.isEmpty, "nothing is reported from a baseline that does not load")
    }

    @Test func textReportNamesTheBaselineAndSummarizes() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        host.setMode(ScratchHost.transcript, 0o640)
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file])
        #expect(run.status == 1)
        #expect(run.stdout.contains("baseline e2e from \(file)"))
        #expect(run.stdout.contains("CRITICAL  transcripts-private  1 finding"))
        #expect(run.stdout.contains("\(ScratchHost.transcript): mode is 0640, expected 0600"))
        #expect(run.stdout.contains("1 finding (1 critical; 1 widening, 0 narrowing), 0 errors: drift found"))
    }

    @Test func outputsAreWrittenBesideStdout() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        host.setMode(ScratchHost.transcript, 0o644)
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let json = host.base + "/out/report.json", junit = host.base + "/out/report.xml", text = host.base + "/out/report.txt"
        try FileManager.default.createDirectory(atPath: host.base + "/out", withIntermediateDirectories: true)
        let run = try Harness.permdrift([
            "scan", "--root", host.root, "--baseline", file, "--format", "junit",
            "--output", "json:\(json)", "--output", "junit:\(junit)", "--output", "text:\(text)"
        ])
        #expect(run.status == 1)
        #expect(run.stdout.hasPrefix("<?xml"))
        let written = try Data(contentsOf: URL(fileURLWithPath: json))
        try Harness.validateAgainstSchema(written)
        let report = try #require(try JSONSerialization.jsonObject(with: written) as? [String: Any])
        #expect(report.hasFinding(rule: "transcripts-private", path: ScratchHost.transcript))
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains("<testcase classname=\"permdrift.e2e\" name=\"transcripts-private\">"))
        #expect(
            xml.contains(
                "<failure message=\"1 finding\" type=\"drift\">\(ScratchHost.transcript): mode is 0644, expected 0600 [widening]</failure>")
        )
        try Harness.validateXML(Data(xml.utf8))
        #expect(try String(contentsOfFile: text, encoding: .utf8).contains("drift found"))
        // Nothing but the three reports is left in the directory (no temporary files).
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: host.base + "/out").sorted()
                == ["report.json", "report.txt", "report.xml"])
    }

    @Test func aFailedRunRemovesTheReportsOfAnEarlierOne() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let json = host.base + "/last.json"
        let good = try host.baseline(ScratchHost.transcriptsRule)
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--baseline", good, "--output", "json:\(json)"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: json))
        let bad = try host.baseline(
            ScratchHost.head + "rules:\n  - id: t\n    match: /home/*\n    expect: { mode: 0600 }\n", name: "bad.yaml")
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", bad, "--output", "json:\(json)"])
        #expect(run.status == 2)
        #expect(!FileManager.default.fileExists(atPath: json), "a report of an earlier run must not stand in for this one")
        #expect(run.stderr.contains("removed \(json), which held an earlier run's report"))
    }

    @Test func junitListsEveryRuleAsATestCase() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(
            ScratchHost.transcriptsRule + """
                  - id: homes
                    match: /home/{a}
                    expect: { mode: "0700" }

                """)
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--format", "junit"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("name=\"transcripts-private\"/>"))
        #expect(run.stdout.contains("name=\"homes\"/>"))
        #expect(run.stdout.contains("failures=\"0\""))
    }

    @Test(arguments: [
        (["scan", "--no-such-flag"], "unknown option"),
        (["scan", "--format", "yaml"], "format"),
        (["scan", "--output", "json"], "output"),
        (["scan", "--output", "pdf:/tmp/x"], "output"),
        (["scan", "--root", "/nonexistent-permdrift-root"], "no such directory"),
        (["frobnicate"], "frobnicate"),
        (["explain", "--root", "/tmp", "/../etc"], "'.' and '..' are not allowed"),
        (["explain", "relative/path"], "absolute path")
    ])
    func usageErrorsExit64(arguments: [String], mentions: String) throws {
        let run = try Harness.permdrift(arguments)
        #expect(run.status == 64, "\(arguments): \(run.stderr)")
        #expect(run.stderr.lowercased().contains(mentions.lowercased()), "\(run.stderr)")
    }

    @Test func missingBaselineFileExitsTwo() throws {
        let run = try Harness.permdrift(["scan", "--baseline", "/nonexistent/permdrift/baseline.yaml", "--format", "json"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("/nonexistent/permdrift/baseline.yaml: no such file"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test func demoShowsFindings() throws {
        let run = try Harness.permdrift(["demo"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stdout.contains("transcripts-private"))
        #expect(run.stdout.contains("/home/agent-ada/transcripts/session-001.jsonl: mode is 0644, expected 0600"))
        #expect(run.stdout.contains("user:agent-bo:r-x"))
        #expect(run.stdout.contains("baseline agent-host from the built-in default"))
        // The demo host is removed afterwards.
        let dir = try #require(
            run.stdout.split(separator: "\n").first?.split(separator: " ").last?
                .trimmingCharacters(in: CharacterSet(charactersIn: "()")))
        #expect(!FileManager.default.fileExists(atPath: String(dir)))
    }

    @Test func demoRefusesWithoutRoot() throws {
        let run = try Harness.permdrift(asUID: 61999, ["demo"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("needs root"))
    }
}
