import Foundation
import PermDriftTestSupport
import Testing

/// Finding lifecycle, Alertmanager delivery and the metrics file, against Debian's Alertmanager and
/// node_exporter started on loopback ports of the tests' own.
@Suite(.serialized) struct AlertingTests {
    /// A scratch host, a state directory (root's own, 0700) and a baseline with the transcripts rule.
    struct Setup {
        let host: ScratchHost
        let state: String
        let baseline: String

        init(baseline text: String = ScratchHost.transcriptsRule) throws {
            host = try ScratchHost()
            state = host.base + "/state"
            mkdir(state, 0o700)
            baseline = try host.baseline(text)
        }

        func scan(_ extra: [String]) throws -> Harness.Run {
            try Harness.permdrift(["scan", "--root", host.root, "--baseline", baseline, "--state-dir", state] + extra)
        }

        func notify(_ extra: [String]) throws -> Harness.Run {
            try Harness.permdrift(["notify", "--no-config", "--state-dir", state] + extra)
        }

        func status() throws -> [String: Any] {
            let run = try Harness.permdrift(["status", "--no-config", "--state-dir", state, "--json"])
            guard run.status == 0, let object = try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any] else {
                throw HarnessError("status: \(run.status) \(run.stderr)")
            }
            return object
        }

        func pending() throws -> [[String: Any]] { try status()["pending_alerts"] as? [[String: Any]] ?? [] }

        func remove() { host.remove() }
    }

    static func drift(_ alerts: [[String: Any]], rule: String) -> [[String: Any]] {
        alerts.filter { ($0["labels"] as? [String: String])?["rule"] == rule }
    }

    @Test func driftReachesAlertmanagerAndIsResolvedAfterTheFix() throws {
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        let first = try s.scan(["--alertmanager", am.base])
        #expect(first.status == 1, "\(first.stderr)")
        let all = try am.alerts()
        let alerts = Self.drift(all, rule: "transcripts-private")
        try #require(alerts.count == 1, "\(all)")
        let labels = alerts[0]["labels"] as? [String: String] ?? [:]
        #expect(labels["alertname"] == "PermissionDrift")
        #expect(labels["severity"] == "critical")
        #expect(labels["host"]?.isEmpty == false)
        #expect(Set(labels.keys) == ["alertname", "host", "rule", "severity"], "no path is a label")
        let annotations = alerts[0]["annotations"] as? [String: String] ?? [:]
        #expect(annotations["count"] == "1")
        #expect(annotations["samples"] == ScratchHost.transcript)
        let ends = ISO8601DateFormatter().date(from: String((alerts[0]["endsAt"] as? String ?? "").prefix(19)) + "Z")
        #expect((ends?.timeIntervalSinceNow ?? 0) > 2 * 3600, "endsAt is well past the next hourly run")
        #expect(try s.pending().isEmpty)
        #expect(try s.status()["last_run"].flatMap { ($0 as? [String: Any])?["findings"] as? [String: Int] }?["new"] == 1)

        // Still firing: sent again, first-seen kept.
        #expect(try s.scan(["--alertmanager", am.base]).status == 1)
        let findings = try s.status()["last_run"].flatMap { ($0 as? [String: Any])?["findings"] as? [String: Int] }
        #expect(findings?["new"] == 0 && findings?["firing"] == 1)

        // The fix resolves it: Alertmanager no longer lists it as active.
        s.host.setMode(ScratchHost.transcript, 0o600)
        let fixed = try s.scan(["--alertmanager", am.base])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        let after = try am.alerts()
        #expect(Self.drift(after, rule: "transcripts-private").isEmpty, "\(after)")
        #expect(try s.status()["last_run"].flatMap { ($0 as? [String: Any])?["findings"] as? [String: Int] }?["resolved"] == 1)
        #expect(try s.pending().isEmpty)
    }

    @Test func alertsRaisedWhileAlertmanagerIsDownArriveAfterItIsBack() throws {
        let port = try Daemon.freePort()
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        // Alertmanager is down: the scan reports, records the alert, and exits 2 (undelivered).
        let down = try s.scan(["--alertmanager", "http://127.0.0.1:\(port)", "--format", "json"])
        #expect(down.status == 2, "\(down.stderr)")
        #expect(down.stderr.contains("1 alert waits in the state directory"), "\(down.stderr)")
        #expect(try s.pending().map { $0["key"] as? String } == ["PermissionDrift/transcripts-private"])
        // A second drift appears while it is still down.
        s.host.setMode(ScratchHost.notes, 0o644)
        let notesRule = ScratchHost.transcriptsRule + """
              - id: homes-private
                severity: high
                match: /home/*/notes.md
                expect: { mode: "0600" }

            """
        _ = try s.host.baseline(notesRule)
        #expect(try s.scan(["--alertmanager", "http://127.0.0.1:\(port)"]).status == 2)
        #expect(try s.pending().count == 2)

        // It comes back (a new process, on the same port): notify delivers everything, exits 0.
        let am = try Daemon.alertmanager(port: port)
        defer { am.remove() }
        let sent = try s.notify(["--alertmanager", am.base])
        #expect(sent.status == 0, "\(sent.stderr)")
        let alerts = try am.alerts()
        #expect(Self.drift(alerts, rule: "transcripts-private").count == 1, "\(alerts)")
        #expect(Self.drift(alerts, rule: "homes-private").count == 1, "\(alerts)")
        #expect(try s.pending().isEmpty)
        // Nothing is sent twice needlessly: a second notify has nothing to do.
        #expect(try s.notify(["--alertmanager", am.base]).status == 0)
    }

    @Test func aResolutionMadeDuringAnOutageIsDeliveredToo() throws {
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        #expect(try s.scan(["--alertmanager", am.base]).status == 1)
        #expect(Self.drift(try am.alerts(), rule: "transcripts-private").count == 1)
        // Fixed while the delivery fails (an address nothing listens on).
        s.host.setMode(ScratchHost.transcript, 0o600)
        let dead = "http://127.0.0.1:\(try Daemon.freePort())"
        #expect(try s.scan(["--alertmanager", dead]).status == 2)
        let pending = try s.pending()
        #expect(pending.count == 1 && pending[0]["resolved"] as? Bool == true, "\(pending)")
        #expect(try s.notify(["--alertmanager", am.base]).status == 0)
        #expect(Self.drift(try am.alerts(), rule: "transcripts-private").isEmpty)
    }

    @Test(arguments: ["500", "redirect", "hang"])
    func aFailingAlertmanagerKeepsTheAlertsAndExits2(mode: String) throws {
        let server = try Daemon.faulty(mode)
        defer { server.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        let started = Date()
        // Only the hanging server is meant to reach the timeout; the others answer at once, however
        // busy the machine.
        let run = try s.scan(["--alertmanager", server.base, "--alertmanager-timeout", mode == "hang" ? "2" : "30"])
        #expect(run.status == 2, "\(run.stderr)")
        let expected = ["500": "HTTP 500", "redirect": "HTTP 307 (a redirect, which is not followed)", "hang": "no answer within 2 seconds"][mode]!
        #expect(run.stderr.contains(expected), "\(run.stderr)")
        #expect(Date().timeIntervalSince(started) < 60, "bounded by the timeout, not hung")
        #expect(try s.pending().count == 1)
        // Later, with a working Alertmanager, nothing was lost.
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        #expect(try s.notify(["--alertmanager", am.base]).status == 0)
        #expect(Self.drift(try am.alerts(), rule: "transcripts-private").count == 1)
    }

    @Test func aSlowDeliveryDoesNotCostAFinishedScanItsReports() throws {
        let server = try Daemon.faulty("hang")
        defer { server.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        let report = s.host.base + "/last.json"
        // The deadline passes while the delivery waits for its (longer) timeout: the scan itself was done.
        // The deadline leaves a loaded machine ample time to scan; the delivery's timeout is longer still.
        let run = try s.scan(["--output", "json:\(report)", "--deadline", "15", "--alertmanager", server.base,
                              "--alertmanager-timeout", "20"])
        #expect(run.status == 2, "undelivered: \(run.stderr)")
        #expect(run.stderr.contains("no answer within 20 seconds"), "\(run.stderr)")
        #expect(!run.stderr.contains("did not finish within"), "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: report), "the finished scan's report stays")
        #expect(try s.pending().count == 1)
    }

    @Test func anIncompleteScanIsAnAlertAndResolvesNothingItCouldNotRead() throws {
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        #expect(try s.scan(["--alertmanager", am.base]).status == 1)
        // The same state, read by a user who cannot enter /home/ann (no capability): incomplete.
        let eve: UInt32 = 33101
        _ = try Harness.run("/bin/chown", ["-R", "\(eve):\(eve)", s.state])
        chmod(s.host.base, 0o755)
        let run = try Harness.permdrift(asUID: eve, ["scan", "--root", s.host.root, "--baseline", s.baseline,
                                                     "--state-dir", s.state, "--alertmanager", am.base])
        #expect(run.status == 2, "\(run.stderr)")
        let alerts = try am.alerts()
        let incomplete = alerts.filter { ($0["labels"] as? [String: String])?["alertname"] == "PermdriftScanIncomplete" }
        #expect(incomplete.count == 1, "\(alerts)")
        #expect(Self.drift(alerts, rule: "transcripts-private").count == 1, "the finding under the unreadable home is kept firing")
        let status = try Harness.run("/usr/bin/setpriv", ["--reuid=\(eve)", "--regid=\(eve)", "--clear-groups", "--", Harness.binary,
                                                          "status", "--no-config", "--state-dir", s.state, "--json"])
        let object = try JSONSerialization.jsonObject(with: status.stdoutBytes) as? [String: Any]
        let findings = (object?["last_run"] as? [String: Any])?["findings"] as? [String: Int]
        #expect(findings?["kept"] == 1 && findings?["resolved"] == 0, "\(status.stdout)")
    }

    /// A run its watchdog ends at the deadline records nothing itself; `permdrift scan` (the supervisor)
    /// then records that the scan did not finish. Without that, a filesystem slow enough to outlast every
    /// deadline would let the last drift alerts expire in Alertmanager as if resolved.
    @Test func aScanEndedAtItsDeadlineIsAnAlertAndKeepsTheDriftFiring() throws {
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        let textfile = s.host.base + "/permdrift.prom"
        #expect(try s.scan(["--alertmanager", am.base, "--prometheus-textfile", textfile]).status == 1)
        #expect(try s.pending().isEmpty)
        // A deadline shorter than any scan: the worker's watchdog ends the run, as it would one on a
        // filesystem that answers too slowly.
        let late = try s.scan(["--deadline", "0.000001", "--prometheus-textfile", textfile])
        #expect(late.status == 2, "\(late.stderr)")
        #expect(late.stderr.contains("the scan did not finish within"), "\(late.stderr)")
        #expect(late.stderr.contains("recorded the unfinished scan: 1 finding kept firing"), "\(late.stderr)")
        let pending = try s.pending().compactMap { $0["key"] as? String }
        #expect(pending == ["PermdriftScanIncomplete", "PermissionDrift/transcripts-private"], "\(pending)")
        let run = try s.status()["last_run"] as? [String: Any]
        #expect(run?["complete"] as? Bool == false, "\(run ?? [:])")
        let findings = run?["findings"] as? [String: Int]
        #expect(findings?["kept"] == 1 && findings?["resolved"] == 0, "\(findings ?? [:])")
        let metrics = (try? String(contentsOfFile: textfile, encoding: .utf8)) ?? ""
        #expect(metrics.contains("permdrift_scan_complete 0"), "\(metrics)")
        #expect(metrics.contains(#"permdrift_findings{rule="transcripts-private",severity="critical"} 1"#),
                "the kept finding still counts: \(metrics)")
        // Delivered as permdrift-notify.service delivers after every scan.
        let notify = try s.notify(["--alertmanager", am.base])
        #expect(notify.status == 0, "\(notify.stderr)")
        let alerts = try am.alerts()
        let incomplete = alerts.filter { ($0["labels"] as? [String: String])?["alertname"] == "PermdriftScanIncomplete" }
        try #require(incomplete.count == 1, "\(alerts)")
        let samples = (incomplete[0]["annotations"] as? [String: String])?["samples"] ?? ""
        #expect(samples.contains("did not finish within"), "\(samples)")
        #expect(Self.drift(alerts, rule: "transcripts-private").count == 1, "the drift alert stays firing")
        #expect(try s.pending().isEmpty)
    }

    /// A worker killed before its result is recorded (the kernel's out-of-memory killer at the unit's
    /// MemoryMax= sends SIGKILL) is an incomplete scan: the supervisor says so, records it, and
    /// PermdriftScanIncomplete goes to Alertmanager; the drift alert stays firing. (Under a real systemd
    /// and a real memory limit: scripts/test-systemd.)
    @Test(.enabled(if: Harness.binary.contains("/debug/"), "needs a debug build's PERMDRIFT_TEST_STOP_BEFORE"))
    func aWorkerKilledMidScanIsAnIncompleteScanAndAnAlert() throws {
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        #expect(try s.scan(["--alertmanager", am.base]).status == 1)
        // The worker stops itself before it reads the transcript; then it is killed as the OOM killer kills.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.binary)
        process.arguments = ["scan", "--root", s.host.root, "--baseline", s.baseline, "--state-dir", s.state, "--threads", "1"]
        process.environment = ProcessInfo.processInfo.environment.merging(["PERMDRIFT_TEST_STOP_BEFORE": ScratchHost.transcript]) { $1 }
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        var worker: Int32?
        let give = Date().addingTimeInterval(120)  // a safety net, not a measure
        while worker == nil, Date() < give {
            let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
            if let w = children.split(separator: " ").compactMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }).first,
               Self.state(of: w) == "T" {
                worker = w
            } else {
                usleep(10_000)
            }
        }
        let stopped = try #require(worker, "the worker never stopped before the transcript")
        kill(stopped, SIGKILL)
        process.waitUntilExit()
        let said = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 2, "\(said)")
        #expect(said.contains("the scan was killed (SIGKILL) before it finished"), "\(said)")
        #expect(said.contains("recorded the unfinished scan: 1 finding kept firing"), "\(said)")
        let run = try s.status()["last_run"] as? [String: Any]
        #expect(run?["complete"] as? Bool == false, "\(run ?? [:])")
        #expect(try s.notify(["--alertmanager", am.base]).status == 0)
        let alerts = try am.alerts()
        let incomplete = alerts.filter { ($0["labels"] as? [String: String])?["alertname"] == "PermdriftScanIncomplete" }
        try #require(incomplete.count == 1, "\(alerts)")
        let samples = (incomplete[0]["annotations"] as? [String: String])?["samples"] ?? ""
        #expect(samples.contains("killed (SIGKILL)") && samples.contains("MemoryMax="), "\(samples)")
        #expect(Self.drift(alerts, rule: "transcripts-private").count == 1, "the drift alert stays firing")
    }

    /// The state letter of a process (R, S, T …) from /proc.
    static func state(of pid: Int32) -> String? {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(close, offsetBy: 2)...].first.map(String.init)
    }

    /// During a package upgrade the running binary's path names the new file, or nothing: its
    /// /proc/self/exe reads "… (deleted)". The worker and the delivery are started from the running
    /// image itself, so the run goes on.
    @Test func aBinaryDeletedWhileItRunsStillStartsItsWorkerAndItsDelivery() throws {
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        let copy = s.host.base + "/permdrift-old"
        try FileManager.default.copyItem(atPath: Harness.binary, toPath: copy)
        // Executed from a descriptor of a file deleted just before: nothing is left at its path.
        let launcher = """
            import os, sys
            fd = os.open(sys.argv[1], os.O_RDONLY)
            os.unlink(sys.argv[1])
            os.execv(f"/proc/self/fd/{fd}", sys.argv[1:])
            """
        let run = try Harness.run("/usr/bin/python3", ["-c", launcher, copy, "scan", "--root", s.host.root, "--baseline", s.baseline,
                                                       "--state-dir", s.state, "--alertmanager", am.base])
        #expect(!FileManager.default.fileExists(atPath: copy))
        #expect(run.status == 1, "\(run.stderr)")
        #expect(Self.drift(try am.alerts(), rule: "transcripts-private").count == 1, "the delivery ran")
        #expect(try s.pending().isEmpty)
    }

    /// A worker stuck in the kernel (a FUSE daemon that never answers, Debian's fusepy) keeps the state
    /// lock, so no run can record anything. Its supervisor leaves a note when it gives up on it; the runs
    /// kept out then exit 2 and say why, and notify sends what fires (with a renewed endsAt) and that no
    /// scan can run, without recording it. Once the filesystem is aborted, the next run clears the note.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/fuse"), "no /dev/fuse"), .timeLimit(.minutes(2)))
    func aScanStuckInTheKernelIsAlertedWhileItHoldsTheLock() throws {
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        #expect(try s.scan(["--alertmanager", am.base]).status == 1)
        let firstEnds = Self.drift(try am.alerts(), rule: "transcripts-private").first?["endsAt"] as? String ?? ""
        try s.host.directory("/home/bob/hang", mode: 0o755, uid: 33002, gid: 33002)
        let fuse = try HangingFUSE(at: s.host.path("/home/bob/hang"), scratch: s.host.base)
        defer { fuse.release() }
        let stuck = try s.scan(["--deadline", "2"])
        #expect(stuck.status == 2)
        #expect(stuck.stderr.contains("is stuck past its deadline, in the kernel"), "\(stuck.stderr)")
        let note = (try? String(contentsOfFile: s.state + "/stuck", encoding: .utf8)) ?? ""
        #expect(note.hasPrefix("process "), "the supervisor's note: \(note)")
        // The stuck worker holds the lock: the next scan says so and fails (not 75, "another run").
        let next = try s.scan([])
        #expect(next.status == 2, "\(next.stderr)")
        #expect(next.stderr.contains("a scan stuck in the kernel (process "), "\(next.stderr)")
        // notify cannot record either, but sends what fires, renewed, and why no scan runs.
        let notify = try s.notify(["--alertmanager", am.base])
        #expect(notify.status == 2, "\(notify.stderr)")
        let alerts = try am.alerts()
        let incomplete = alerts.filter { ($0["labels"] as? [String: String])?["alertname"] == "PermdriftScanIncomplete" }
        try #require(incomplete.count == 1, "\(alerts)")
        let summary = (incomplete[0]["annotations"] as? [String: String])?["summary"] ?? ""
        #expect(summary.contains("stuck in the kernel"), "\(summary)")
        let renewedEnds = Self.drift(alerts, rule: "transcripts-private").first?["endsAt"] as? String ?? ""
        #expect(renewedEnds > firstEnds, "the drift alert's endsAt is renewed: \(firstEnds) -> \(renewedEnds)")
        // The filesystem aborted, the worker ends; the next run takes the lock and clears the note.
        let worker = note.split(separator: " ").dropFirst().first.flatMap { Int32($0.prefix { $0.isNumber }) }
        fuse.release()
        if let worker {
            let gone = Date().addingTimeInterval(15)
            while kill(worker, 0) == 0 && Date() < gone { usleep(100_000) }
        }
        let after = try s.scan(["--alertmanager", am.base])
        #expect(after.status == 1, "\(after.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.state + "/stuck"))
        // The complete scan resolves the alert notify sent while the scan was stuck.
        let resolved = try am.alerts()
        #expect(!resolved.contains { ($0["labels"] as? [String: String])?["alertname"] == "PermdriftScanIncomplete" }, "\(resolved)")
        #expect(Self.drift(resolved, rule: "transcripts-private").count == 1)
    }

    @Test func theMetricsFileIsServedByNodeExporter() throws {
        let s = try Setup()
        defer { s.remove() }
        let textfiles = s.host.base + "/textfiles"
        mkdir(textfiles, 0o755)
        s.host.setMode(ScratchHost.transcript, 0o644)
        let run = try s.scan(["--prometheus-textfile", textfiles + "/permdrift.prom"])
        #expect(run.status == 1, "\(run.stderr)")
        let exporter = try Daemon("/usr/bin/prometheus-node-exporter", arguments: { port, _ in
            ["--web.listen-address=127.0.0.1:\(port)", "--collector.disable-defaults", "--collector.textfile",
             "--collector.textfile.directory=\(textfiles)"]
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

    @Test func basicAuthenticationFromAPasswordFileAndAStrictTLSCheck() throws {
        // Alertmanager with basic authentication (a bcrypt hash, made by the system's crypt(3)).
        let hash = try Harness.run("/usr/bin/python3", ["-W", "ignore", "-c",
            "import crypt; print(crypt.crypt('s3cret-pw', crypt.mksalt(crypt.METHOD_BLOWFISH)))"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(hash.hasPrefix("$2"))
        let am = try Daemon.alertmanager(webConfig: "basic_auth_users:\n  permdrift: '\(hash)'\n")
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        #expect(try s.scan([]).status == 1)
        let password = s.host.base + "/am-password"
        _ = FileManager.default.createFile(atPath: password, contents: Data("s3cret-pw\n".utf8))
        chmod(password, 0o600)
        let config = try s.host.baseline("alertmanager:\n  url: \(am.base)\n  username: permdrift\n  password-file: \(password)\n",
                                          name: "config.yaml")
        // Without the credential: refused (401), kept, exit 2.
        let anonymous = try s.notify(["--alertmanager", am.base])
        #expect(anonymous.status == 2)
        #expect(anonymous.stderr.contains("HTTP 401"), "\(anonymous.stderr)")
        // A password file others may read is refused before anything is sent.
        chmod(password, 0o644)
        let loose = try Harness.permdrift(["notify", "--config", config, "--state-dir", s.state])
        #expect(loose.status == 2)
        #expect(loose.stderr.contains("readable by its owner only"), "\(loose.stderr)")
        chmod(password, 0o600)
        let sent = try Harness.permdrift(["notify", "--config", config, "--state-dir", s.state])
        #expect(sent.status == 0, "\(sent.stderr)")
        let auth = "Basic " + Data("permdrift:s3cret-pw".utf8).base64EncodedString()
        #expect(Self.drift(try am.alerts(authorization: auth), rule: "transcripts-private").count == 1)

        // TLS with a certificate the system does not trust: refused, kept, exit 2.
        let key = try Harness.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                                       "-nodes", "-keyout", s.host.base + "/key.pem", "-out", s.host.base + "/cert.pem",
                                                       "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        try #require(key.status == 0, "\(key.stderr)")
        let tls = try Daemon.alertmanager(webConfig: "tls_server_config:\n  cert_file: \(s.host.base)/cert.pem\n  key_file: \(s.host.base)/key.pem\n")
        defer { tls.remove() }
        s.host.setMode(ScratchHost.transcript, 0o600)
        #expect(try s.scan([]).status == 0)
        let refused = try s.notify(["--alertmanager", "https://127.0.0.1:\(tls.port)"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("certificate"), "\(refused.stderr)")
        #expect(try s.pending().count == 1, "the resolved alert waits")
    }

    @Test func theExampleRulesPassPromtool() throws {
        let dir = Harness.packageRoot.appendingPathComponent("examples/prometheus").path
        let check = try Harness.run("/usr/bin/promtool", ["check", "rules", dir + "/permdrift-rules.yml"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let test = try Harness.run("/bin/sh", ["-c", "cd '\(dir)' && /usr/bin/promtool test rules permdrift-rules.test.yml"])
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
    }
}
