public import Foundation

/// What the state directory remembers between runs: every firing finding with the time it was first
/// seen, a summary of the last run, and the alerts that wait for delivery. Written atomically with a
/// checksum (`StateDirectory.saveLedger`); a torn or corrupt file is reported and not trusted.
public struct FindingLedger: Codable, Sendable, Equatable {
    public static let formatVersion = 1
    /// Findings of a rule with more than the report lists that are kept firing while not listed.
    public static let unlistedKeptPerRule = 200

    public var version = FindingLedger.formatVersion
    /// Firing findings by fingerprint.
    public var findings: [String: Entry] = [:]
    public var lastRun: RunSummary?
    /// When a scan last completed (no errors, baseline accepted).
    public var lastSuccess: Date?
    /// Alerts for Alertmanager by key (`PermissionDrift/RULE`, `PermdriftScanIncomplete`, …).
    public var outbox: [String: OutboxAlert] = [:]

    public init() {}

    public struct Entry: Codable, Sendable, Equatable {
        public var rule: String
        public var severity: String
        public var kind: String
        /// The path's bytes (names need not be UTF-8), as the report carries it.
        public var path: Data
        /// The length of the path, when `path` is a longer one shortened (`HostPath.init(reporting:)`).
        public var pathLength: Int?
        public var firstSeen: Date
        public var lastSeen: Date
        /// Whether the finding widens access (absent in a ledger written before: counted as widening).
        public var widening: Bool?

        public var hostPath: HostPath { HostPath(bytes: Array(path), shortenedFrom: pathLength) }
    }

    /// Alerts waiting to be sent (new, still firing with a renewed `endsAt`, or resolved).
    public var pendingAlerts: [OutboxAlert] {
        outbox.values.filter { !$0.delivered }.sorted { $0.key < $1.key }
    }
}

/// One run, as the state directory keeps it for `status` and the metrics `notify` rewrites.
public struct RunSummary: Codable, Sendable, Equatable {
    public var startedAt: Date
    public var finishedAt: Date
    public var host: String
    public var complete: Bool
    public var baselineRejected: Bool
    public var entries: Int
    public var errors: Int
    public var baselineName: String
    public var baselineSHA256: String
    public var baselineSigner: String?
    /// Findings of this run per rule (every rule of the baseline, zero included) and severity; with a
    /// state directory, plus the findings kept firing under paths the run could not read (`kept`).
    public var counts: [RuleCount]
    /// Lifecycle of this run's findings.
    public var new: Int
    public var firing: Int
    public var resolved: Int
    /// Firing findings kept because the paths they are on could not be read this time.
    public var kept: Int

    public struct RuleCount: Codable, Sendable, Equatable {
        public var rule: String
        public var severity: String
        public var count: Int
    }

    public var duration: Double { finishedAt.timeIntervalSince(startedAt) }

    /// The summary of `result` before the lifecycle is applied (`new`, `firing`, … zero).
    public init(_ result: ScanResult) {
        startedAt = result.startedAt
        finishedAt = result.finishedAt
        host = result.host
        baselineRejected = result.findings.contains { $0.kind == .baselineRejected }
        complete = result.isComplete && !baselineRejected
        entries = result.entries
        errors = result.errors.count
        baselineName = result.baselineName
        baselineSHA256 = result.baselineOrigin.sha256
        baselineSigner = result.baselineOrigin.signer
        var byRule = [String: (Severity, Int)]()
        for rule in result.rules { byRule[rule.id] = (rule.severity, 0) }
        for f in result.findings {
            let old = byRule[f.rule]
            byRule[f.rule] = (max(old?.0 ?? f.severity, f.severity), (old?.1 ?? 0) + 1)
        }
        // Findings beyond those listed count as much as the listed ones.
        for (rule, more) in result.omitted {
            let old = byRule[rule]
            byRule[rule] = (old?.0 ?? .high, (old?.1 ?? 0) + more)
        }
        counts = byRule.map { RuleCount(rule: $0.key, severity: $0.value.0.rawValue, count: $0.value.1) }
            .sorted { $0.rule < $1.rule }
        new = 0
        firing = 0
        resolved = 0
        kept = 0
    }
}

/// How one run changed the set of firing findings.
public struct Lifecycle: Sendable {
    /// Findings seen for the first time (or again, after they were resolved).
    public var new: [Finding] = []
    /// Findings that were already firing, with the time they were first seen.
    public var stillFiring: [(finding: Finding, firstSeen: Date)] = []
    /// Findings no longer present on paths this run could read.
    public var resolved: [FindingLedger.Entry] = []
    /// Findings not seen, but on paths this run could not read (or on every path, when the baseline was
    /// rejected): they stay firing, with their first-seen time, and nothing is resolved there.
    public var kept: [FindingLedger.Entry] = []
}

extension FindingLedger {
    /// Classifies `result`'s findings against the ledger and records them: new, still firing or resolved.
    /// An incomplete scan resolves nothing under a path it could not read; a rejected baseline resolves
    /// nothing at all.
    public mutating func record(_ result: ScanResult, now: Date) -> Lifecycle {
        var lifecycle = Lifecycle()
        var summary = RunSummary(result)
        var next = [String: Entry]()
        for finding in result.findings where finding.kind != .baselineRejected {
            let print = finding.fingerprint
            if let old = findings[print] {
                lifecycle.stillFiring.append((finding, old.firstSeen))
                next[print] = Entry(
                    rule: finding.rule, severity: finding.severity.rawValue, kind: finding.kind.rawValue,
                    path: Data(finding.path.bytes), pathLength: finding.path.shortenedFrom,
                    firstSeen: old.firstSeen, lastSeen: now, widening: finding.widening)
            } else {
                lifecycle.new.append(finding)
                next[print] = Entry(
                    rule: finding.rule, severity: finding.severity.rawValue, kind: finding.kind.rawValue,
                    path: Data(finding.path.bytes), pathLength: finding.path.shortenedFrom,
                    firstSeen: now, lastSeen: now, widening: finding.widening)
            }
        }
        let unreadable = result.errors.map(\.path)
        // Not every unreadable path is listed: any finding may lie under one that is not, so none is
        // resolved by its absence.
        let unreadableUnknown = result.errorsOmitted > 0
        // A rule with more findings than the report lists may still have one that is not listed: its
        // findings are not resolved by their absence, only forgotten beyond a bound (they are counted).
        var unlistedKept = [String: Int]()
        for (print, entry) in findings.sorted(by: { $0.key < $1.key }) where next[print] == nil {
            let path = entry.hostPath
            if summary.baselineRejected || unreadableUnknown || unreadable.contains(where: { path.isWithin($0) }) {
                lifecycle.kept.append(entry)
                next[print] = entry
            } else if result.omitted[entry.rule] != nil {
                if unlistedKept[entry.rule, default: 0] < FindingLedger.unlistedKeptPerRule {
                    unlistedKept[entry.rule, default: 0] += 1
                    next[print] = entry
                }
            } else {
                lifecycle.resolved.append(entry)
            }
        }
        findings = next
        // The counts say what fires: a finding kept under a path this run could not read still does, and
        // a metric that dropped it would look like a fix.
        for entry in lifecycle.kept {
            if let i = summary.counts.firstIndex(where: { $0.rule == entry.rule }) {
                summary.counts[i].count += 1
                if let kept = Severity(rawValue: entry.severity), let known = Severity(rawValue: summary.counts[i].severity), kept > known {
                    summary.counts[i].severity = kept.rawValue
                }
            } else {
                summary.counts.append(RunSummary.RuleCount(rule: entry.rule, severity: entry.severity, count: 1))
            }
        }
        summary.counts.sort { $0.rule < $1.rule }
        summary.new = lifecycle.new.count
        summary.firing = next.count
        summary.resolved = lifecycle.resolved.count
        summary.kept = lifecycle.kept.count
        lastRun = summary
        if summary.complete { lastSuccess = result.finishedAt }
        return lifecycle
    }
}
