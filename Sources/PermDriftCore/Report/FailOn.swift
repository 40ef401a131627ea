/// Which findings make a run fail (`--fail-on`, `fail-on:`) or page (`alert-on:`): those at or above a
/// severity and, with `widening`, only widening ones. Written `low` (the default: any finding),
/// `high`, `widening` (any severity) or `high,widening`.
public struct FailOn: Sendable, Equatable, CustomStringConvertible {
    public var severity: Severity
    /// Only findings that widen access count (docs/baseline.md, "Widening or narrowing").
    public var wideningOnly: Bool

    public init(severity: Severity = .low, wideningOnly: Bool = false) {
        self.severity = severity
        self.wideningOnly = wideningOnly
    }

    /// Any finding: the default.
    public static let anyDrift = FailOn()

    /// What a value may be, for messages.
    public static let accepted = "critical, high, medium, low, widening, or a severity and widening (e.g. high,widening)"

    /// Parses `SEVERITY`, `widening` or `SEVERITY,widening` (in either order); nil for anything else.
    public init?(parsing text: String) {
        var severity: Severity?
        var widening = false
        let words = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(words.count) else { return nil }
        for word in words {
            if word == "widening", !widening {
                widening = true
            } else if let s = Severity(rawValue: word), severity == nil {
                severity = s
            } else {
                return nil
            }
        }
        self.init(severity: severity ?? .low, wideningOnly: widening)
    }

    public var description: String {
        if wideningOnly { return severity == .low ? "widening" : "\(severity.rawValue),widening" }
        return severity.rawValue
    }

    /// Whether every finding counts.
    public var isAnyDrift: Bool { self == .anyDrift }

    public func counts(_ f: Finding) -> Bool { f.severity >= severity && (!wideningOnly || f.widening) }

    /// For a finding the ledger kept (an older ledger has no `widening`: it counts as widening).
    public func counts(severity s: Severity, widening: Bool?) -> Bool { s >= severity && (!wideningOnly || widening != false) }
}
