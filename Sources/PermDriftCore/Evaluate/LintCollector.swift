/// What `permdrift baseline lint` learns from walking a tree with a baseline: which rules and exceptions
/// match anything, and which paths two rules give different exact modes.
public final class LintCollector {
    let baseline: Baseline
    private(set) var matchedRules = Set<Int>()
    private(set) var matchedExceptions = Set<Int>()
    /// The first path seen where two rules require different exact modes, per rule pair.
    private(set) var modeConflicts: [String: (first: Int, second: Int, path: HostPath)] = [:]
    private var currentEntryModes: [(rule: Int, mode: UInt32)] = []
    private var currentPath: [UInt8] = []

    public init(baseline: Baseline) { self.baseline = baseline }

    func matched(rule r: Int, path: UnsafeBufferPointer<UInt8>) {
        matchedRules.insert(r)
        if !currentPath.elementsEqual(path) {
            currentPath = Array(path)
            currentEntryModes.removeAll(keepingCapacity: true)
            for (i, e) in baseline.exceptions.enumerated() where !matchedExceptions.contains(i) && e.pattern.matches(HostPath(path)) {
                matchedExceptions.insert(i)
            }
        }
        guard case .exact(let mode)? = baseline.rules[r].expect.mode else { return }
        for (other, otherMode) in currentEntryModes where otherMode != mode {
            // The smallest such path, so the warning does not depend on the order the walk met them.
            let key = "\(other)-\(r)", here = HostPath(path)
            if let known = modeConflicts[key], known.path < here { continue }
            modeConflicts[key] = (other, r, here)
        }
        currentEntryModes.append((r, mode))
    }

    /// The warnings, like a compiler's: `FILE:LINE:COLUMN: warning: …`.
    public func warnings(file: String) -> [String] {
        var out = [(line: Int, column: Int, message: String)]()
        for (r, rule) in baseline.rules.enumerated() where !matchedRules.contains(r) {
            out.append((rule.line, rule.column, "rule '\(rule.id)' matches nothing on this tree"))
        }
        for (i, e) in baseline.exceptions.enumerated() {
            if !matchedExceptions.contains(i) {
                out.append((e.line, e.column, "exception for rule '\(e.rule)' on \(e.pattern.source) matches nothing on this tree"))
            }
            if e.expires == nil {
                out.append(
                    (e.line, e.column, "exception for rule '\(e.rule)' on \(e.pattern.source) has no expires: approved drift should end"))
            }
        }
        for conflict in modeConflicts.values.sorted(by: { ($0.first, $0.second) < ($1.first, $1.second) }) {
            let a = baseline.rules[conflict.first], b = baseline.rules[conflict.second]
            out.append(
                (
                    b.line, b.column,
                    "rules '\(a.id)' and '\(b.id)' require different exact modes (\(a.expect.mode!) and \(b.expect.mode!)) for \(conflict.path): they can never both hold"
                ))
        }
        return out.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
            .map { TerminalText.escape("\(file):\($0.line):\($0.column): warning: \($0.message)") }
    }
}
