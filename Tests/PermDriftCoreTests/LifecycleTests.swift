import Foundation
import PermDriftTestSupport
import Testing

@testable import PermDriftCore

/// The ledger's lifecycle rules, the alerts built from it and the metrics' escaping.
struct LifecycleTests {
    static func finding(_ path: String, rule: String = "r", severity: Severity = .high) -> Finding {
        Finding(rule: rule, severity: severity, kind: .mode, path: HostPath(path), expected: "0600", actual: "0644")
    }

    static func result(_ findings: [Finding], errors: [String] = [], host: String = "h") -> ScanResult {
        ScanResult(
            host: host, rootDirectory: "/", startedAt: Date(), finishedAt: Date(), baselineName: "b",
            baselineOrigin: BaselineOrigin(source: "b.yaml", sha256: "00", isBuiltIn: false, signer: nil),
            entries: 10, findings: findings, errors: errors.map { WalkError(path: HostPath($0), message: "EACCES") },
            skipped: [], notices: [], rules: [])
    }

    @Test func newStillFiringResolvedAndKept() {
        var ledger = FindingLedger()
        let t0 = Date(timeIntervalSince1970: 1000)
        let first = ledger.record(Self.result([Self.finding("/home/a/x"), Self.finding("/home/b/y")]), now: t0)
        #expect(first.new.count == 2 && first.resolved.isEmpty)
        let t1 = Date(timeIntervalSince1970: 2000)
        let second = ledger.record(Self.result([Self.finding("/home/a/x")]), now: t1)
        #expect(second.stillFiring.count == 1 && second.stillFiring[0].firstSeen == t0)
        #expect(second.resolved.map(\.hostPath) == [HostPath("/home/b/y")])
        // An incomplete scan that could not read /home/a keeps /home/a/x firing; /home/ab is not under it.
        _ = ledger.record(Self.result([Self.finding("/home/a/x"), Self.finding("/home/ab/z")]), now: t1)
        let third = ledger.record(Self.result([], errors: ["/home/a", "/home/ab/other"]), now: Date(timeIntervalSince1970: 3000))
        #expect(third.kept.map(\.hostPath) == [HostPath("/home/a/x")], "\(third.kept)")
        // The kept finding still counts for its rule: the metrics must not read it as fixed.
        #expect(ledger.lastRun?.counts.map { "\($0.rule) \($0.severity) \($0.count)" } == ["r high 1"], "\(ledger.lastRun?.counts ?? [])")
        #expect(third.resolved.map(\.hostPath) == [HostPath("/home/ab/z")])
        #expect(ledger.lastRun?.complete == false && ledger.lastRun?.kept == 1)
        #expect(ledger.lastSuccess != nil, "the last complete run is remembered through an incomplete one")
        #expect(ledger.findings.values.first?.firstSeen == t0, "a kept finding keeps its first-seen time")
    }

    @Test func aRejectedBaselineResolvesNothing() {
        var ledger = FindingLedger()
        _ = ledger.record(Self.result([Self.finding("/x")]), now: Date())
        let rejected = ScanResult.rejectedBaseline(
            source: "/etc/permdrift/baseline.yaml", bytes: nil, reason: "no signature", rootDirectory: "/")
        let lifecycle = ledger.record(rejected, now: Date())
        #expect(lifecycle.kept.count == 1 && lifecycle.resolved.isEmpty && lifecycle.new.isEmpty)
        #expect(ledger.lastRun?.baselineRejected == true)
        AlertBuilder.update(&ledger, result: rejected, now: Date())
        #expect(Set(ledger.outbox.keys) == ["PermissionDrift/r", "PermdriftBaselineRejected"])
    }

    /// A run its deadline ended re-checked nothing: it resolves nothing, the rejected baseline's alert
    /// included, and the drift alerts keep their rule's description.
    @Test func anUnfinishedRunResolvesNothingAndKeepsDescriptions() {
        let unfinished = ScanResult.unfinished(
            reason: "the scan did not finish within 1.0 seconds", rootDirectory: "/",
            startedAt: Date(), baselineName: "b", baselineSHA256: "00")
        // After a complete run: the drift alert stays firing with its rule's description.
        var ledger = FindingLedger()
        var first = Self.result([Self.finding("/x")])
        first.rules = [
            Rule(
                id: "r", severity: .high, description: "what r is for", patterns: [], types: nil, conditions: [],
                expect: Expectations(), access: nil, line: 1)
        ]
        _ = ledger.record(first, now: Date())
        AlertBuilder.update(&ledger, result: first, now: Date())
        let lifecycle = ledger.record(unfinished, now: Date())
        #expect(lifecycle.kept.count == 1 && lifecycle.resolved.isEmpty)
        AlertBuilder.updateUnfinished(&ledger, result: unfinished, now: Date())
        #expect(ledger.outbox["PermdriftScanIncomplete"]?.resolved == false)
        #expect(ledger.outbox["PermissionDrift/r"]?.resolved == false)
        // The rule's description first, then the grouped form of the run's findings (none here).
        #expect(ledger.outbox["PermissionDrift/r"]?.annotations["description"]?.hasPrefix("what r is for") == true)
        // After a rejected baseline: its alert stays firing (plain `update` would resolve it).
        var rejectedLedger = FindingLedger()
        let rejected = ScanResult.rejectedBaseline(
            source: "/etc/permdrift/baseline.yaml", bytes: nil, reason: "no signature", rootDirectory: "/")
        _ = rejectedLedger.record(rejected, now: Date())
        AlertBuilder.update(&rejectedLedger, result: rejected, now: Date())
        var plain = rejectedLedger
        _ = rejectedLedger.record(unfinished, now: Date())
        AlertBuilder.updateUnfinished(&rejectedLedger, result: unfinished, now: Date())
        #expect(rejectedLedger.outbox["PermdriftBaselineRejected"]?.resolved == false, "a rejected baseline stays firing")
        AlertBuilder.update(&plain, result: unfinished, now: Date())
        #expect(plain.outbox["PermdriftBaselineRejected"]?.resolved == true, "the case this guards")
    }

    @Test func alertsAreOnePerRuleAndResolvedOnce() {
        var ledger = FindingLedger()
        let now = Date()
        let many = (0..<1000).map { Self.finding("/home/a/f\($0)") } + [Self.finding("/srv/s", rule: "other", severity: .critical)]
        let r = Self.result(many)
        _ = ledger.record(r, now: now)
        AlertBuilder.update(&ledger, result: r, now: now)
        #expect(ledger.outbox.count == 2)
        let drift = ledger.outbox["PermissionDrift/r"]!
        #expect(drift.annotations["count"] == "1000")
        #expect(drift.annotations["samples"]?.split(separator: "\n").count == AlertBuilder.maxSamples)
        #expect(drift.endsAt.timeIntervalSince(now) == AlertBuilder.firingWindow)
        AlertBuilder.markDelivered(&ledger, ledger.pendingAlerts)
        #expect(ledger.pendingAlerts.isEmpty)
        // Fixed: the rule's alert is resolved (endsAt = now), sent once, then forgotten.
        let later = now.addingTimeInterval(3600)
        let fixed = Self.result([Self.finding("/srv/s", rule: "other", severity: .critical)])
        _ = ledger.record(fixed, now: later)
        AlertBuilder.update(&ledger, result: fixed, now: later)
        let resolved = ledger.outbox["PermissionDrift/r"]!
        #expect(resolved.resolved && resolved.endsAt == later && !resolved.delivered)
        AlertBuilder.markDelivered(&ledger, ledger.pendingAlerts)
        #expect(ledger.outbox["PermissionDrift/r"] == nil)
        #expect(ledger.outbox["PermissionDrift/other"]?.delivered == true)
    }

    @Test func aResolutionNeverEndsBeforeItStarted() {
        var ledger = FindingLedger()
        let start = Date(timeIntervalSince1970: 10_000)
        let r = Self.result([Self.finding("/x")])
        _ = ledger.record(r, now: start)
        AlertBuilder.update(&ledger, result: r, now: start)
        // The clock stepped back before the fix was seen.
        let earlier = start.addingTimeInterval(-600)
        let fixed = Self.result([])
        _ = ledger.record(fixed, now: earlier)
        AlertBuilder.update(&ledger, result: fixed, now: earlier)
        let alert = ledger.outbox["PermissionDrift/r"]!
        #expect(alert.resolved && alert.endsAt >= alert.startsAt)
    }

    @Test func metricLabelValuesAreEscaped() {
        #expect(PrometheusTextfile.escape("a\"b\\c\nd") == #"a\"b\\\\c\\nd"#)
        var run = RunSummary(Self.result([]))
        run.baselineName = "x\"}\ny 1\nevil{"
        let text = PrometheusTextfile.render(run: run, lastSuccess: nil, pendingAlerts: nil)
        let info = text.split(separator: "\n").filter { $0.hasPrefix("permdrift_baseline_info") }
        #expect(info.count == 1, "one line, however the name looks: \(text)")
        #expect(!text.contains("permdrift_alerts_pending"), "no outbox, no pending metric")
    }

    @Test func anEditedLedgerFailsItsChecksum() throws {
        let dir = try makeTemporaryDirectory(prefix: "pd-ledger")
        defer { removeTree(dir) }
        let state = try StateDirectory(path: dir)
        var ledger = FindingLedger()
        _ = ledger.record(Self.result([Self.finding("/x")]), now: Date())
        try state.saveLedger(ledger)
        guard case .loaded(let back) = state.loadLedger() else { Issue.record("does not load back"); return }
        #expect(back == ledger)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/findings.json")))
        let i = bytes.lastIndex(of: UInt8(ascii: "x"))!
        bytes[i] = UInt8(ascii: "y")
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/findings.json"))
        guard case .corrupt(let why, let keptAs) = state.loadLedger() else { Issue.record("an edited ledger was trusted"); return }
        #expect(why.contains("checksum"))
        #expect(keptAs == dir + "/findings.json.corrupt")
        guard case .missing = state.loadLedger() else { Issue.record("the corrupt file is moved aside"); return }
    }
}
