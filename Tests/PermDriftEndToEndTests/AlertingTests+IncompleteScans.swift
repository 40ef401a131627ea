import Foundation
import PermDriftTestSupport
import Testing

/// Scans that did not finish (unreadable parts, the deadline, a killed worker, a deleted binary, a scan
/// stuck in the kernel): each is an alert of its own and resolves nothing it could not read.
extension AlertingTests {
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
        let run = try Harness.permdrift(
            asUID: eve,
            [
                "scan", "--root", s.host.root, "--baseline", s.baseline,
                "--state-dir", s.state, "--alertmanager", am.base
            ])
        #expect(run.status == 2, "\(run.stderr)")
        let alerts = try am.alerts()
        let incomplete = alerts.filter { ($0["labels"] as? [String: String])?["alertname"] == "PermdriftScanIncomplete" }
        #expect(incomplete.count == 1, "\(alerts)")
        #expect(Self.drift(alerts, rule: "transcripts-private").count == 1, "the finding under the unreadable home is kept firing")
        let status = try Harness.run(
            "/usr/bin/setpriv",
            [
                "--reuid=\(eve)", "--regid=\(eve)", "--clear-groups", "--", Harness.binary,
                "status", "--no-config", "--state-dir", s.state, "--json"
            ])
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
        #expect(
            metrics.contains(#"permdrift_findings{rule="transcripts-private",severity="critical"} 1"#),
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
                Self.state(of: w) == "T"
            {
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
        let run = try Harness.run(
            "/usr/bin/python3",
            [
                "-c", launcher, copy, "scan", "--root", s.host.root, "--baseline", s.baseline,
                "--state-dir", s.state, "--alertmanager", am.base
            ])
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
}
