import Foundation
import PermDriftTestSupport
import Testing

/// Checking provisioning in CI: the example provisioning script run into scratch roots both ways, the
/// CI gate, SARIF and JUnit, and scratch roots that are exact (names from DIR only, nothing outside DIR).
@Suite(.enabled(if: Harness.isRoot, "needs root: provisions scratch roots with useradd --prefix and setfacl"))
struct ProvisioningTests {
    static let script = Harness.packageRoot.appendingPathComponent("examples/provisioning/provision-agent-host.sh").path
    static let baseline = Harness.packageRoot.appendingPathComponent("baselines/agent-host.yaml").path

    /// Provisions a fresh scratch root; returns it and the directory to remove afterwards.
    static func provision(_ extra: [String] = []) throws -> (root: String, base: String) {
        let base = try makeTemporaryDirectory(prefix: "pd-prov")
        chmod(base, 0o755)
        let root = base + "/root"
        let run = try Harness.run("/bin/sh", [script, "--root", root] + extra + ["agent-ada", "agent-bo", "agent-cy"])
        guard run.status == 0 else { throw HarnessError("provisioning failed: \(run.stderr)") }
        return (root, base)
    }

    static func scan(_ root: String, _ arguments: [String]) throws -> Harness.Run {
        try Harness.permdrift(["scan", "--root", root, "--baseline", baseline] + arguments)
    }

    @Test func theCorrectVariantPasses() throws {
        let (root, base) = try Self.provision()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let run = try Self.scan(root, ["--fail-on", "high", "--format", "json"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        try Harness.validateAgainstSchema(run.stdoutBytes)
    }

    @Test(arguments: [("open-home", "agent-home-private"), ("shared-group-write", "shared-memory-read-only")])
    func aMistakeFailsWithItsRuleInJUnit(mistake: String, rule: String) throws {
        let (root, base) = try Self.provision(["--mistake", mistake])
        defer { try? FileManager.default.removeItem(atPath: base) }
        let junit = base + "/permdrift.xml", sarif = base + "/permdrift.sarif"
        let run = try Self.scan(root, ["--fail-on", "high", "--output", "junit:\(junit)", "--output", "sarif:\(sarif)"])
        #expect(run.status == 1)
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        try Harness.validateXML(Data(xml.utf8))
        #expect(xml.contains("<testcase classname=\"permdrift.agent-host\" name=\"\(rule)\">\n      <failure "), "\(xml)")
        let sarifData = try Data(contentsOf: URL(fileURLWithPath: sarif))
        try Harness.validateSARIF(sarifData)
        let report = try #require(try JSONSerialization.jsonObject(with: sarifData) as? [String: Any])
        let results = ((report["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]]) ?? []
        #expect(results.contains { $0["ruleId"] as? String == rule && $0["level"] as? String == "error" })
    }

    @Test func sarifCarriesEveryFindingRuleMetadataAndExactPaths() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        host.setMode(ScratchHost.transcript, 0o644)
        let odd = host.path("/home/ann/transcripts/") + "we ird\u{1B}%.jsonl"
        #expect(FileManager.default.createFile(atPath: odd, contents: nil))
        chown(odd, 33001, 33001); chmod(odd, 0o666)
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--format", "sarif"])
        #expect(run.status == 1)
        try Harness.validateSARIF(run.stdoutBytes)
        #expect(run.stdoutBytes.allSatisfy { $0 < 0x80 })
        let sarif = try #require(try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any])
        #expect(sarif["version"] as? String == "2.1.0")
        let runInfo = try #require((sarif["runs"] as? [[String: Any]])?.first)
        let rules = (((runInfo["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]]) ?? []
        #expect(rules.map { $0["id"] as? String } == ["transcripts-private"])
        #expect(((rules.first?["defaultConfiguration"] as? [String: Any])?["level"] as? String) == "error")
        let results = runInfo["results"] as? [[String: Any]] ?? []
        let uris = results.compactMap {
            ((($0["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])?["artifactLocation"] as? [String: Any])?[
                "uri"] as? String
        }
        #expect(Set(uris) == ["home/ann/transcripts/t1.jsonl", "home/ann/transcripts/we%20ird%1B%25.jsonl"])
        #expect(results.allSatisfy { (($0["partialFingerprints"] as? [String: Any])?["permdrift/v1"] as? String)?.count == 32 })
    }

    @Test func failOnReportsEverythingButFailsOnlyAtOrAboveTheThreshold() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        host.setMode(ScratchHost.notes, 0o640)
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: notes-low
                    severity: low
                    match: /home/*/notes.md
                    expect: { mode: "0600" }
                  - id: transcripts-critical
                    severity: critical
                    match: /home/*/transcripts/**
                    types: [file]
                    expect: { mode: "0600" }

                """)
        let passing = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--fail-on", "high"])
        #expect(passing.status == 0)
        #expect(passing.stdout.contains("/home/ann/notes.md: mode is 0640, expected 0600"))
        #expect(passing.stdout.contains("drift below --fail-on high, the run passes"))
        let junit = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--fail-on", "high", "--format", "junit"])
        #expect(junit.stdout.contains("failures=\"0\""))
        #expect(junit.stdout.contains("<system-out>1 finding below --fail-on high:"))
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--baseline", file]).status == 1)
        let sarif = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--fail-on", "high", "--format", "sarif"])
        try Harness.validateSARIF(sarif.stdoutBytes)
        let results =
            (((try JSONSerialization.jsonObject(with: sarif.stdoutBytes) as? [String: Any])?["runs"] as? [[String: Any]])?
                .first?["results"] as? [[String: Any]]) ?? []
        #expect(results.count == 1)
        #expect(results.first?["level"] as? String == "note", "a finding below --fail-on must not fail a code-scanning check")
        #expect(results.first?["kind"] as? String == "informational")
        host.setMode(ScratchHost.transcript, 0o644)
        let failing = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--fail-on", "high"])
        #expect(failing.status == 1)
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--fail-on", "urgent"]).status == 64)
    }

    @Test func namesResolveInTheRootNeverOnTheMachine() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        // `daemon` is uid 1 on this machine; in the scratch root it is 33300.
        let passwd = try String(contentsOfFile: host.path("/etc/passwd"), encoding: .utf8)
        try host.write("/etc/passwd", passwd + "daemon:x:33300:33300::/:/usr/sbin/nologin\n", mode: 0o644)
        try host.write("/srv/shared/by-root-daemon", "", mode: 0o640, uid: 33300, gid: 33000)
        try host.write("/srv/shared/by-machine-daemon", "", mode: 0o640, uid: 1, gid: 33000)
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: daemon-owns
                    match: /srv/shared/by-*
                    expect: { owner: daemon }

                """)
        let (run, report) = try host.scanJSON(file)
        #expect(run.status == 1)
        #expect(!report.hasFinding(rule: "daemon-owns", path: "/srv/shared/by-root-daemon"))
        let finding = try #require(report.findings.first { $0["path"] as? String == "/srv/shared/by-machine-daemon" })
        #expect(finding["actual"] as? String == "uid:1", "uid 1 has no account in the root, whatever the machine says")
        #expect(finding["expected"] as? String == "daemon")
    }

    @Test func symlinksInsideTheRootThatPointOutAreRecordedNotFollowed() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        symlink("../../..", host.path("/home/ann/up"))
        symlink("/etc", host.path("/home/ann/etc"))
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: everything-0600
                    match: /**
                    types: [file]
                    expect: { mode: "0600" }
                  - id: links
                    match: /home/**
                    types: [symlink]
                    expect: { owner: ann }

                """)
        let (run, report) = try host.scanJSON(file)
        #expect(run.status == 1)
        #expect(report.hasFinding(rule: "links", path: "/home/ann/up", kind: "owner"))
        #expect(report.hasFinding(rule: "links", path: "/home/ann/etc", kind: "owner"))
        #expect(
            !report.findings.contains {
                ($0["path"] as? String)?.hasPrefix("/home/ann/up/") == true || ($0["path"] as? String)?.hasPrefix("/home/ann/etc/") == true
            })
    }

    @Test func aRootWithoutAccountFilesIsRefused() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try FileManager.default.removeItem(atPath: host.path("/etc/passwd"))
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", try host.baseline(ScratchHost.transcriptsRule)])
        #expect(run.status == 2)
        #expect(run.stderr.contains("cannot read the accounts of \(host.root): \(host.root)/etc/passwd: no such file"), "\(run.stderr)")
    }

    @Test(arguments: [
        ("/etc/passwd", "ann:x:notanumber:33001::/home/ann:/bin/sh\n", "etc/passwd:LAST: error: not a passwd entry"),
        ("/etc/passwd", "ann:x:33009:33009::/home/ann:/bin/sh\n", "etc/passwd:LAST: error: user 'ann' is defined again (first at line 2)"),
        ("/etc/group", "agents:x:33000:eve\n", "etc/group:LAST: error: group 'agents' is defined again"),
        ("/etc/group", "broken-line\n", "etc/group:LAST: error: not a group entry")
    ])
    func malformedOrDuplicateAccountLinesAreRefused(file: String, appended: String, message: String) throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let text = try String(contentsOfFile: host.path(file), encoding: .utf8)
        try host.write(file, text + appended, mode: 0o644)
        let last = text.split(separator: "\n").count + 1
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", try host.baseline(ScratchHost.transcriptsRule)])
        #expect(run.status == 2)
        #expect(run.stderr.contains(host.root + "/" + message.replacingOccurrences(of: "LAST", with: String(last))), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test func aRootThatIsASymlinkIsRefused() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        symlink(host.root, host.base + "/link")
        let run = try Harness.permdrift([
            "scan", "--root", host.base + "/link", "--baseline", try host.baseline(ScratchHost.transcriptsRule)
        ])
        #expect(run.status == 2)
        #expect(run.stderr.contains("--root \(host.base)/link is a symlink"), "\(run.stderr)")
    }
}
