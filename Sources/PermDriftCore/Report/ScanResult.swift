public import Foundation

/// Everything one scan found, sorted and ready for any report format.
public struct ScanResult: Sendable {
    public var host: String
    public var rootDirectory: String
    public var startedAt: Date
    public var finishedAt: Date
    public var baselineName: String
    public var baselineOrigin: BaselineOrigin
    public var entries: Int
    public var findings: [Finding]
    public var errors: [WalkError]
    public var skipped: [SkippedMount]
    public var notices: [String]
    /// The baseline's rules, for reports that list every rule (JUnit).
    public var rules: [Rule]
    /// Whether the Landlock sandbox was on during the scan.
    public var sandboxed = false
    /// Whether the baseline has pins (reports list the `pin` rule then).
    public var hasPins = false
    /// Only findings this counts make the run fail (`--fail-on`); the rest are reported.
    public var failOn = FailOn.anyDrift
    /// Findings per rule beyond those listed in `findings` (at most `FindingCollector.listedPerRule` a
    /// rule are listed): counted, not listed.
    public var omitted: [String: Int] = [:]
    /// Errors beyond those listed in `errors`.
    public var errorsOmitted = 0

    /// Every finding of the run, listed or not.
    public var findingCount: Int { findings.count + omitted.values.reduce(0, +) }

    /// Every path the run could not read, listed or not.
    public var errorCount: Int { errors.count + errorsOmitted }

    public static let schemaVersion = 2
    public static let toolVersion = "0.1.0"

    /// A scan with errors cannot be trusted to show "no drift".
    public var isComplete: Bool { errors.isEmpty }

    /// Findings that `failOn` counts.
    public var failingFindings: Int { findings.filter(failOn.counts).count }

    /// 0 no drift (or none at or above `failOn`), 1 drift, 2 the result cannot be trusted (an incomplete
    /// scan, even with findings).
    public var exitCode: Int32 {
        if !isComplete { return 2 }
        return failingFindings == 0 ? 0 : 1
    }

    /// Findings of each rule, in report order, rules ordered by severity then id.
    var findingsByRule: [(rule: String, severity: Severity, findings: [Finding])] {
        var groups = [String: [Finding]]()
        for f in findings { groups[f.rule, default: []].append(f) }
        return groups.map { (rule: $0.key, severity: $0.value[0].severity, findings: $0.value) }
            .sorted { $0.severity != $1.severity ? $0.severity > $1.severity : $0.rule < $1.rule }
    }

    func description(ofRule id: String) -> String? { rules.first { $0.id == id }?.description }

    /// The report of a run that enforced nothing because its baseline was rejected (an unsigned, changed
    /// or unknown-signer baseline, or a replayed serial): one critical `baseline-rejected` finding, and
    /// incomplete, so nothing reads it as "no drift".
    public static func rejectedBaseline(source: String, bytes: [UInt8]?, reason: String, rootDirectory: String) -> ScanResult {
        let now = Date()
        let sha = bytes.map { BaselineLoader.sha256Hex($0) } ?? String(repeating: "0", count: 64)
        let path = HostPath(source.hasPrefix("/") ? source : "/" + source)
        return ScanResult(
            host: Scanner.hostName(), rootDirectory: rootDirectory, startedAt: now, finishedAt: now,
            baselineName: "(rejected)", baselineOrigin: BaselineOrigin(source: source, sha256: sha, isBuiltIn: false, signer: nil),
            entries: 0,
            findings: [
                Finding(
                    rule: "baseline", severity: .critical, kind: .baselineRejected, path: path,
                    expected: "a baseline signed by an allowed signer, with a serial no lower than the last accepted",
                    actual: reason)
            ],
            errors: [WalkError(path: path, message: "baseline rejected; nothing was scanned")],
            skipped: [], notices: [], rules: [])
    }

    /// The record of a run that ended without a result (its watchdog ended it at the deadline): nothing it
    /// read counts, so it is incomplete everywhere (an error at `/`), which keeps every firing finding
    /// and resolves nothing.
    public static func unfinished(
        reason: String, rootDirectory: String, startedAt: Date, baselineName: String,
        baselineSHA256: String
    ) -> ScanResult {
        ScanResult(
            host: Scanner.hostName(), rootDirectory: rootDirectory, startedAt: startedAt, finishedAt: Date(),
            baselineName: baselineName,
            baselineOrigin: BaselineOrigin(source: "(the scan did not finish)", sha256: baselineSHA256, isBuiltIn: false, signer: nil),
            entries: 0, findings: [], errors: [WalkError(path: HostPath("/"), message: reason)],
            skipped: [], notices: [], rules: [])
    }

    /// Loads what formatting reports loads lazily (time zone, calendar data), before a sandbox closes
    /// the files it would read.
    public static func prepareForSandbox() {
        _ = timestamp(Date())
        _ = Scanner.utcDay(Date())
        _ = Scanner.hostName()
    }

    static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}
