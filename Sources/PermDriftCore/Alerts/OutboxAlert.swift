public import Foundation

/// One alert in Alertmanager's v2 form (`POST /api/v2/alerts`), and whether it has been delivered.
public struct OutboxAlert: Codable, Sendable, Equatable {
    /// `PermissionDrift/RULE`, `PermdriftScanIncomplete` or `PermdriftBaselineRejected`.
    public var key: String
    public var labels: [String: String]
    public var annotations: [String: String]
    public var startsAt: Date
    /// Well past the next run while firing (Alertmanager resolves it by itself if runs stop); the time
    /// of resolution once resolved.
    public var endsAt: Date
    public var resolved: Bool
    public var delivered: Bool
}

/// Turns the ledger's firing findings and the run's state into alerts: one per host and rule, plus one
/// for an incomplete scan and one for a rejected baseline. Their number is bounded by the baseline's
/// rules, and their labels carry no path: an agent cannot mint label series by naming files.
public enum AlertBuilder {
    /// How long a firing alert stays firing in Alertmanager without being sent again: three hourly runs.
    public static let firingWindow: TimeInterval = 3 * 3600
    public static let maxSamples = 5
    public static let maxSampleLength = 240

    public static let driftAlert = "PermissionDrift"
    public static let incompleteAlert = "PermdriftScanIncomplete"
    public static let rejectedAlert = "PermdriftBaselineRejected"

    /// Puts this run's alerts into the ledger's outbox: every firing one (again, with a renewed
    /// `endsAt`), and every one that fired before and does not now as resolved (`endsAt` = now).
    /// `alertOn` (the configuration's `alert-on:`) picks the findings that page: a rule none of whose
    /// findings it counts has no drift alert.
    public static func update(_ ledger: inout FindingLedger, result: ScanResult, now: Date, alertOn: FailOn = .anyDrift) {
        let host = TerminalText.escape(result.host)
        var current = [String: OutboxAlert]()
        func add(_ key: String, labels: [String: String], annotations: [String: String], startsAt: Date) {
            var starts = startsAt
            if let old = ledger.outbox[key], !old.resolved { starts = min(old.startsAt, startsAt) }
            current[key] = OutboxAlert(
                key: key, labels: labels, annotations: annotations, startsAt: starts,
                endsAt: now.addingTimeInterval(firingWindow), resolved: false, delivered: false)
        }
        var byRule = [String: [FindingLedger.Entry]]()
        for entry in ledger.findings.values
        where alertOn.counts(severity: Severity(rawValue: entry.severity) ?? .high, widening: entry.widening) {
            byRule[entry.rule, default: []].append(entry)
        }
        for (rule, entries) in byRule {
            let severity = entries.compactMap { Severity(rawValue: $0.severity) }.max() ?? .high
            let samples = Set(entries.map(\.hostPath)).sorted().prefix(maxSamples).map { clip($0.description) }
            let ruleText = TerminalText.escape(rule)
            // The run's count, when it has one: it includes the findings beyond those the report lists.
            // With `alert-on`, only the findings it counts (the run's count includes the others).
            let count =
                alertOn.isAnyDrift ? max(entries.count, ledger.lastRun?.counts.first { $0.rule == rule }?.count ?? 0) : entries.count
            var annotations = [
                "summary": "\(count) permission drift finding\(count == 1 ? "" : "s") of rule \(ruleText) on \(host)",
                "count": String(count),
                "samples": samples.joined(separator: "\n")
            ]
            var description = result.rules.first(where: { $0.id == rule })?.description.map { [clip(TerminalText.escape($0))] } ?? []
            description += grouped(result.findings.filter { $0.rule == rule && alertOn.counts($0) })
            if !description.isEmpty { annotations["description"] = description.joined(separator: "\n") }
            add(
                driftAlert + "/" + rule,
                labels: ["alertname": driftAlert, "host": host, "rule": ruleText, "severity": severity.rawValue],
                annotations: annotations, startsAt: entries.map(\.firstSeen).min() ?? now)
        }
        let rejected = result.findings.first { $0.kind == .baselineRejected }
        if let rejected {
            add(
                rejectedAlert,
                labels: ["alertname": rejectedAlert, "host": host, "severity": Severity.critical.rawValue],
                annotations: [
                    "summary": "The baseline was rejected on \(host); nothing was enforced",
                    "reason": clip(TerminalText.escape(rejected.actual)),
                    "baseline": clip(TerminalText.escape(result.baselineOrigin.source))
                ],
                startsAt: now)
        } else if !result.isComplete {
            let samples = result.errors.prefix(maxSamples).map { clip("\($0.path): \(TerminalText.escape($0.message))") }
            add(
                incompleteAlert,
                labels: ["alertname": incompleteAlert, "host": host, "severity": Severity.high.rawValue],
                annotations: [
                    "summary":
                        "The scan on \(host) is incomplete: \(result.errors.count) path\(result.errors.count == 1 ? "" : "s") could not be read, and drift under them cannot be seen",
                    "count": String(result.errors.count),
                    "samples": samples.joined(separator: "\n")
                ],
                startsAt: now)
        }
        for (key, old) in ledger.outbox where current[key] == nil {
            if old.resolved {
                current[key] = old  // resolved before and not yet delivered
            } else {
                var resolved = old
                resolved.resolved = true
                // Alertmanager refuses an alert that ends before it starts (a clock stepped back).
                resolved.endsAt = max(now, old.startsAt)
                resolved.delivered = false
                current[key] = resolved
            }
        }
        ledger.outbox = current
    }

    /// What to send while a scan stuck in the kernel holds the state directory's lock, so that nothing
    /// can be recorded: the alerts firing in the ledger (read without the lock) with a renewed `endsAt`,
    /// lest Alertmanager let them expire as if resolved, and `PermdriftScanIncomplete` saying why.
    /// Nothing is recorded; the next run that takes the lock sends what it finds.
    public static func whileStuck(_ ledger: FindingLedger, note: String, now: Date) -> [OutboxAlert] {
        let host = TerminalText.escape(Scanner.hostName())
        var alerts = ledger.outbox.values.filter { !$0.resolved && $0.key != incompleteAlert }.map { alert -> OutboxAlert in
            var renewed = alert
            renewed.endsAt = now.addingTimeInterval(firingWindow)
            renewed.delivered = false
            return renewed
        }
        alerts.append(stuckAlert(ledger, host: host, note: note, now: now))
        return alerts.sorted { $0.key < $1.key }
    }

    private static func stuckAlert(_ ledger: FindingLedger, host: String, note: String, now: Date) -> OutboxAlert {
        let started = ledger.outbox[incompleteAlert].flatMap { $0.resolved ? nil : $0.startsAt } ?? now
        return OutboxAlert(
            key: incompleteAlert,
            labels: ["alertname": incompleteAlert, "host": host, "severity": Severity.high.rawValue],
            annotations: [
                "summary":
                    "The scan on \(host) is stuck in the kernel on a filesystem that does not answer (\(clip(note))); no scan can run until it answers or is aborted, and drift cannot be seen",
                "count": "1",
                "samples": clip("a scan stuck in the kernel: \(note)")
            ],
            startsAt: started, endsAt: now.addingTimeInterval(firingWindow), resolved: false, delivered: false)
    }

    /// After a stuck scan is gone: the `PermdriftScanIncomplete` that `whileStuck` sent was not recorded,
    /// so it goes into the outbox (as delivered), where the next scan resolves it or renews it.
    public static func rememberStuck(_ ledger: inout FindingLedger, now: Date) {
        if let current = ledger.outbox[incompleteAlert], !current.resolved { return }
        var alert = stuckAlert(ledger, host: TerminalText.escape(Scanner.hostName()), note: "ended", now: now)
        alert.delivered = true
        ledger.outbox[incompleteAlert] = alert
    }

    /// `update` for a run that ended at its deadline without a result: what fired stays firing as it was
    /// (a rejected baseline included, which the run could not check again), with the descriptions the
    /// result cannot give (it has no rules).
    public static func updateUnfinished(_ ledger: inout FindingLedger, result: ScanResult, now: Date, alertOn: FailOn = .anyDrift) {
        let before = ledger.outbox
        update(&ledger, result: result, now: now, alertOn: alertOn)
        for (key, old) in before where !old.resolved {
            if key == rejectedAlert {
                var kept = old
                kept.endsAt = now.addingTimeInterval(firingWindow)
                kept.delivered = false
                ledger.outbox[key] = kept
            } else if var current = ledger.outbox[key], !current.resolved, current.annotations["description"] == nil,
                let description = old.annotations["description"]
            {
                current.annotations["description"] = description
                ledger.outbox[key] = current
            }
        }
    }

    /// Marks `sent` as delivered; resolved alerts, once delivered, are forgotten.
    public static func markDelivered(_ ledger: inout FindingLedger, _ sent: [OutboxAlert]) {
        for alert in sent {
            guard let now = ledger.outbox[alert.key], now == alert else { continue }
            if alert.resolved { ledger.outbox[alert.key] = nil } else { ledger.outbox[alert.key]?.delivered = true }
        }
    }

    /// The run's findings of one rule in the text report's grouped form, at most `maxSamples` lines:
    /// access findings by cause (`user:agent-bo:r-x on /home/agent-ada lets user:agent-bo read and
    /// execute: 3 paths [widening]`), the others by kind (`mode: 2 paths [1 widening, 1 narrowing]`).
    static func grouped(_ findings: [Finding]) -> [String] {
        var lines = TextReport.causes(findings).map { "\($0.heading) [widening]" }
        var byKind = [FindingKind: (paths: Int, widening: Int)]()
        for f in findings where !f.isAccess {
            byKind[f.kind, default: (0, 0)].paths += 1
            if f.widening { byKind[f.kind, default: (0, 0)].widening += 1 }
        }
        for (kind, n) in byKind.sorted(by: { $0.key < $1.key }) {
            let change =
                n.widening == n.paths
                ? "widening" : n.widening == 0 ? "narrowing" : "\(n.widening) widening, \(n.paths - n.widening) narrowing"
            lines.append("\(kind.rawValue): \(TextReport.count(n.paths, "path")) [\(change)]")
        }
        if lines.count > maxSamples { lines = lines.prefix(maxSamples - 1) + ["… and \(lines.count - maxSamples + 1) more"] }
        return lines.map(clip)
    }

    /// A sample no longer than `maxSampleLength` characters: a longer one keeps its beginning and its
    /// end (where a path's last names are) and says how long it was.
    static func clip(_ text: String) -> String {
        guard text.count > maxSampleLength else { return text }
        let note = " [\(text.count) characters, shortened]"
        let keep = maxSampleLength - note.count - 1
        return String(text.prefix(keep / 2)) + "…" + String(text.suffix(keep - keep / 2)) + note
    }
}
