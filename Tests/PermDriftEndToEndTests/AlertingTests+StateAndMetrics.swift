import Foundation
import PermDriftTestSupport
import Testing

/// The metrics file, hostile names, many findings, the state directory's failures, exceptions that
/// expire and rejected baselines, as alerts, metrics and status show them.
extension AlertingTests {
    @Test func theMetricsFileIsServedByNodeExporter() throws {
        let s = try Setup()
        defer { s.remove() }
        let textfiles = s.host.base + "/textfiles"
        mkdir(textfiles, 0o755)
        s.host.setMode(ScratchHost.transcript, 0o644)
        let run = try s.scan(["--prometheus-textfile", textfiles + "/permdrift.prom"])
        #expect(run.status == 1, "\(run.stderr)")
        let exporter = try Daemon(
            "/usr/bin/prometheus-node-exporter",
            arguments: { port, _ in
                [
                    "--web.listen-address=127.0.0.1:\(port)", "--collector.disable-defaults", "--collector.textfile",
                    "--collector.textfile.directory=\(textfiles)"
                ]
            })
        defer { exporter.remove() }
        let metrics = String(decoding: try Daemon.get(exporter.base + "/metrics").body, as: UTF8.self)
        #expect(metrics.contains("node_textfile_scrape_error 0"), "\(metrics.prefix(2000))")
        #expect(metrics.contains(#"permdrift_findings{rule="transcripts-private",severity="critical"} 1"#), "\(metrics)")
        #expect(metrics.contains("permdrift_scan_complete 1"))
        #expect(metrics.contains("permdrift_entries_scanned "))
        #expect(metrics.contains("permdrift_last_success_timestamp_seconds "))
        #expect(!metrics.contains("permdrift_alerts_pending"), "no Alertmanager configured: nothing waits for delivery")
        #expect(metrics.contains(#"permdrift_baseline_info{name="e2e",sha256=""#))
    }

    @Test func hostileNamesNeverBreakAlertsMetricsOrStatus() throws {
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        let textfile = s.host.base + "/permdrift.prom"
        let name = "a\"b\n{c}\u{1B}[2J\\d\u{202E}"
        try s.host.write("/home/ann/transcripts/" + name, "", mode: 0o644, uid: 33001, gid: 33001)
        #expect(try s.scan(["--alertmanager", am.base, "--prometheus-textfile", textfile]).status == 1)
        let alert = Self.drift(try am.alerts(), rule: "transcripts-private").first
        let samples = (alert?["annotations"] as? [String: String])?["samples"] ?? ""
        #expect(samples == #"/home/ann/transcripts/a"b\n{c}\x1b[2J\\d\u202e"#, "\(samples)")
        let metrics = try String(contentsOfFile: textfile, encoding: .utf8)
        #expect(!metrics.contains("{c}") && !metrics.contains("\u{1B}"), "no path in the metrics")
        let text = try Harness.permdrift(["status", "--no-config", "--state-dir", s.state])
        #expect(text.status == 0 && !text.stdout.contains("\u{1B}"))
        // promtool parses the metrics file (the exposition format node_exporter reads).
        let check = try Harness.run("/bin/sh", ["-c", "/usr/bin/promtool check metrics < '\(textfile)'"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    @Test func tenThousandFindingsAreOneAlertWithAFewSamples() throws {
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        let textfile = s.host.base + "/permdrift.prom"
        for i in 0..<10_000 {
            let p = s.host.path("/home/ann/transcripts/2026/s\(i).jsonl")
            close(open(p, O_CREAT | O_WRONLY, 0o644))
            chmod(p, 0o644)
        }
        let run = try s.scan(["--alertmanager", am.base, "--prometheus-textfile", textfile])
        #expect(run.status == 1)
        let alerts = try am.alerts()
        #expect(alerts.count == 1, "one alert per host and rule: \(alerts.count)")
        let annotations = alerts.first?["annotations"] as? [String: String] ?? [:]
        #expect(annotations["count"] == "20000", "two findings per file: owner and mode")
        #expect(annotations["samples"]?.split(separator: "\n").count == 5)
        let metrics = try String(contentsOfFile: textfile, encoding: .utf8)
        #expect(metrics.split(separator: "\n").count < 40, "label series bounded by the rules, not the files")
    }

    @Test func aTruncatedStateFileIsDetectedAndNotTrusted() throws {
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        #expect(try s.scan([]).status == 1)
        let file = s.state + "/findings.json"
        let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int ?? 0
        #expect(truncate(file, off_t(size / 2)) == 0)
        let status = try Harness.permdrift(["status", "--no-config", "--state-dir", s.state])
        #expect(status.status == 2)
        #expect(status.stderr.contains("torn or truncated"), "\(status.stderr)")
        let run = try s.scan([])
        #expect(run.status == 2, "a run on a corrupt state says so: \(run.stderr)")
        #expect(run.stderr.contains("the state cannot be trusted"), "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: file + ".corrupt"))
        // The state was started anew: the next run is normal again, the finding counted as new once more.
        #expect(try s.scan([]).status == 1)
        let findings = try s.status()["last_run"].flatMap { ($0 as? [String: Any])?["findings"] as? [String: Int] }
        #expect(findings?["firing"] == 1)
        // A state file replaced by a symlink (to /etc/shadow) is refused unread and set aside.
        try FileManager.default.removeItem(atPath: file)
        #expect(symlink("/etc/shadow", file) == 0)
        let linked = try s.scan([])
        #expect(linked.status == 2, "\(linked.stderr)")
        #expect(linked.stderr.contains("not a regular file"), "\(linked.stderr)")
        #expect(!linked.stderr.contains("root:"), "nothing of /etc/shadow is read")
    }

    @Test func aFullStateDirectoryKeepsThePreviousState() throws {
        let s = try Setup()
        defer { s.remove() }
        // A small filesystem of the test's own as the state directory.
        try Harness.sh("/bin/mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "pd-test-state", s.state)
        defer { _ = try? Harness.run("/bin/umount", [s.state]) }
        s.host.setMode(ScratchHost.transcript, 0o644)
        #expect(try s.scan([]).status == 1)
        let before = try Data(contentsOf: URL(fileURLWithPath: s.state + "/findings.json"))
        // Fill it, then a run with more findings cannot write its state.
        _ = try Harness.run("/bin/dd", ["if=/dev/zero", "of=\(s.state)/filler", "bs=4k", "count=1000"])
        s.host.setMode(ScratchHost.transcript2, 0o644)
        let run = try s.scan([])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("No space left on device"), "\(run.stderr)")
        let after = try Data(contentsOf: URL(fileURLWithPath: s.state + "/findings.json"))
        #expect(before == after, "the previous state is intact")
        let status = try Harness.permdrift(["status", "--no-config", "--state-dir", s.state])
        #expect(status.status == 0, "\(status.stderr)")
    }

    @Test func alertmanagerNeedsAStateDirectory() throws {
        let s = try Setup()
        defer { s.remove() }
        let run = try Harness.permdrift(["scan", "--root", s.host.root, "--baseline", s.baseline, "--alertmanager", "http://127.0.0.1:9"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("--alertmanager needs --state-dir"))
    }

    @Test func anExpiredExceptionBringsItsFindingsBack() throws {
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        #expect(try s.scan(["--alertmanager", am.base]).status == 1)
        func exception(_ expires: String) -> String {
            ScratchHost.transcriptsRule + """
                exceptions:
                  - rule: transcripts-private
                    path: \(ScratchHost.transcript)
                    approved-by: alice
                    reason: shared with the reviewer
                    expires: \(expires)

                """
        }
        _ = try s.host.baseline(exception("2099-12-31"))
        #expect(try s.scan(["--alertmanager", am.base]).status == 0)
        #expect(Self.drift(try am.alerts(), rule: "transcripts-private").isEmpty, "silenced while the exception holds")
        _ = try s.host.baseline(exception("2020-01-01"))
        #expect(try s.scan(["--alertmanager", am.base]).status == 1)
        #expect(Self.drift(try am.alerts(), rule: "transcripts-private").count == 1, "back once it expired")
        let findings = try s.status()["last_run"].flatMap { ($0 as? [String: Any])?["findings"] as? [String: Int] }
        #expect(findings?["new"] == 1, "\(String(describing: findings))")
    }

    @Test func aRejectedBaselineIsAnAlertAndResolvesNothing() throws {
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        #expect(try s.scan(["--alertmanager", am.base]).status == 1)
        // The same baseline, now required to be signed: it has no signature, so it is rejected.
        let signers = s.host.base + "/allowed_signers"
        _ = FileManager.default.createFile(atPath: signers, contents: Data())
        let run = try s.scan(["--alertmanager", am.base, "--require-signature", "--signers", signers])
        #expect(run.status == 2, "\(run.stderr)")
        let alerts = try am.alerts()
        #expect(alerts.contains { ($0["labels"] as? [String: String])?["alertname"] == "PermdriftBaselineRejected" }, "\(alerts)")
        #expect(Self.drift(alerts, rule: "transcripts-private").count == 1, "the drift seen before stays firing")
        #expect(Self.drift(alerts, rule: "baseline").isEmpty, "the rejection is its own alert")
        let findings = try s.status()["last_run"].flatMap { ($0 as? [String: Any])?["findings"] as? [String: Int] }
        #expect(findings?["kept"] == 1 && findings?["resolved"] == 0)
    }
}
