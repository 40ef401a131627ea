import Foundation
import Glibc
import PermDriftCore
import PermDriftTestSupport
import Testing

/// A scan that did not finish, recorded by its supervisor: what fired stays firing, the incomplete-scan
/// alert waits for delivery, the metrics say so, and nothing is recorded while another run holds the lock.
struct UnfinishedRunTests {
    static func unfinished(state: String?, textfile: String? = nil, stale: [ReportOutput] = []) -> UnfinishedRun {
        var run = UnfinishedRun(
            reason: UnfinishedRun.pastDeadline(30), startedAt: Date(timeIntervalSince1970: 1_000_000),
            rootDirectory: "/", statePath: state, textfile: textfile, countsPendingAlerts: true,
            staleReports: stale)
        run.lockAttempts = 3
        run.retryInterval = .milliseconds(10)
        return run
    }

    static func ledger(in dir: String) throws -> FindingLedger {
        guard case .loaded(let ledger) = try StateDirectory(path: dir).loadLedger(setAside: false) else {
            throw HarnessError("no ledger in \(dir)")
        }
        return ledger
    }

    @Test func aFirstUnfinishedRunIsRecordedWithItsAlert() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-unfinished")
        defer { removeTree(dir) }
        let recorder = RunConsoleRecorder()
        let outcome = Self.unfinished(state: dir).record(console: recorder.console)
        #expect(outcome == .recorded(kept: 0, pending: 1))
        let ledger = try Self.ledger(in: dir)
        #expect(ledger.lastRun?.complete == false)
        #expect(ledger.pendingAlerts.map(\.key) == [AlertBuilder.incompleteAlert])
        #expect(ledger.lastSuccess == nil)
        #expect(recorder.said(.error) == ["permdrift: recorded the unfinished scan: 0 findings kept firing; 1 alert to deliver"])
    }

    @Test func whatFiredStaysFiringAndNothingIsResolved() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-unfinished")
        defer { removeTree(dir) }
        let state = try StateDirectory(path: dir)
        var ledger = FindingLedger()
        let complete = LifecycleTests.result([LifecycleTests.finding("/home/a/x")])
        _ = ledger.record(complete, now: Date())
        AlertBuilder.update(&ledger, result: complete, now: Date())
        try state.saveLedger(ledger)
        let report = dir + "/last.json"
        try AtomicFile.write("{}", to: report, mode: 0o600)
        let recorder = RunConsoleRecorder()
        let outcome = Self.unfinished(state: dir, textfile: dir + "/permdrift.prom", stale: [ReportOutput(argument: "json:" + report)!])
            .record(console: recorder.console)
        #expect(outcome == .recorded(kept: 1, pending: 2))
        let after = try Self.ledger(in: dir)
        #expect(after.findings.count == 1, "the finding is kept, not resolved")
        #expect(Set(after.pendingAlerts.map(\.key)) == ["PermissionDrift/r", AlertBuilder.incompleteAlert])
        #expect(after.pendingAlerts.allSatisfy { !$0.resolved })
        #expect(after.lastSuccess == ledger.lastSuccess, "the last complete run is still the last success")
        // The configuration's report of the earlier run is gone; the metrics say the run was incomplete.
        #expect(access(report, F_OK) != 0)
        #expect(recorder.said(.error).contains("permdrift: removed \(report), which held an earlier run's report"))
        let metrics = try String(contentsOfFile: dir + "/permdrift.prom", encoding: .utf8)
        #expect(metrics.contains("permdrift_scan_complete 0"), "\(metrics)")
        #expect(metrics.contains("permdrift_alerts_pending 2"), "\(metrics)")
    }

    @Test func nothingIsRecordedWhileAnotherRunHoldsTheLock() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-unfinished")
        defer { removeTree(dir) }
        let holder = try StateDirectory(path: dir)
        try holder.lock()
        let report = dir + "/last.json"
        try AtomicFile.write("{}", to: report, mode: 0o600)
        let recorder = RunConsoleRecorder()
        let outcome = Self.unfinished(state: dir, stale: [ReportOutput(argument: "json:" + report)!]).record(console: recorder.console)
        #expect(outcome == .notRecorded)
        #expect(
            recorder.said(.error) == [
                "permdrift: cannot record the unfinished scan: another permdrift run holds the state directory's lock"
            ])
        guard case .missing = holder.loadLedger(setAside: false) else {
            Issue.record("a ledger was written without the lock")
            return
        }
        #expect(access(report, F_OK) == 0, "a run without the lock removes no report of the configuration's")
        // Once the lock is free, the same record succeeds.
        holder.unlock()
        #expect(Self.unfinished(state: dir).record(console: recorder.console) == .recorded(kept: 0, pending: 1))
    }

    @Test func anUntrustedLedgerIsNotOverwritten() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-unfinished")
        defer { removeTree(dir) }
        try AtomicFile.write("not json", to: dir + "/" + StateDirectory.ledgerFile, mode: 0o600)
        let recorder = RunConsoleRecorder()
        #expect(Self.unfinished(state: dir).record(console: recorder.console) == .notRecorded)
        #expect(recorder.said(.error).last?.contains("the unfinished scan is not recorded") == true, "\(recorder.said())")
    }

    @Test func withoutAStateDirectoryOnlyTheMetricsSayIt() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-unfinished")
        defer { removeTree(dir) }
        let recorder = RunConsoleRecorder()
        #expect(Self.unfinished(state: nil).record(console: recorder.console) == .metricsOnly)
        #expect(Self.unfinished(state: nil, textfile: dir + "/m.prom").record(console: recorder.console) == .metricsOnly)
        let metrics = try String(contentsOfFile: dir + "/m.prom", encoding: .utf8)
        #expect(metrics.contains("permdrift_scan_complete 0"), "\(metrics)")
        #expect(!metrics.contains("permdrift_alerts_pending"), "no delivery without a state directory: \(metrics)")
        #expect(recorder.said().isEmpty, "\(recorder.said())")
    }
}
