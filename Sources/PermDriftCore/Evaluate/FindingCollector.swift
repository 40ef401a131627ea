/// The findings and errors of one scan, bounded however much a tree drifts (issue 18). Every finding is
/// counted, but at most `listedPerRule` of each rule are kept: the first in report order, whichever
/// thread met them first, so the report is the same on any number of threads. The rest are counted as
/// omitted. With paths of at most 4 KiB in a report (`HostPath.init(reporting:)`) and at most
/// `AccessStep.maxSteps` steps per access finding, a scan's findings, its reports and the state it keeps
/// stay bounded even when an agent makes a million drifting paths, or paths of megabytes.
///
/// The evaluator asks `wants` before it builds an access finding's explanation, so a finding beyond the
/// bound costs a comparison, not a walk up its directories.
struct FindingCollector {
    /// Findings listed per rule; the rest are counted.
    static let listedPerRule = 1000
    /// Errors listed; the rest are counted.
    static let listedErrors = 1000
    /// How many more than the bound a thread holds before it cuts back to the bound (sorting them): what
    /// a thread holds at most stays close to what is listed.
    static let slack = 250

    private struct RuleFindings {
        var kept: [Finding] = []
        var omitted = 0
        /// The last finding kept when `kept` was last cut down: anything after it in report order is not.
        var threshold: Finding?
    }

    private var byRule: [String: RuleFindings] = [:]
    private(set) var errors: [WalkError] = []
    private(set) var errorsOmitted = 0
    private var errorThreshold: WalkError?
    /// How many findings each of the baseline's exceptions silenced (by index).
    var silenced: [Int]

    init(exceptions: Int) {
        silenced = Array(repeating: 0, count: exceptions)
    }

    /// Whether a finding with these keys would be listed (it is not known to come after the bound).
    func wants(rule: String, path: HostPath, kind: FindingKind, principal: String? = nil, right: String? = nil) -> Bool {
        guard let t = byRule[rule]?.threshold else { return true }
        if path != t.path { return path < t.path }
        if kind != t.kind { return kind < t.kind }
        if principal != t.principal { return (principal ?? "") < (t.principal ?? "") }
        // Equal up to here: it may still come before the threshold (report order compares more).
        return (right ?? "") <= (t.right ?? "")
    }

    /// Counts a finding of `rule` that is not listed.
    mutating func omit(rule: String) {
        byRule[rule, default: RuleFindings()].omitted += 1
    }

    mutating func append(_ finding: Finding) {
        guard wants(rule: finding.rule, path: finding.path, kind: finding.kind, principal: finding.principal, right: finding.right) else {
            omit(rule: finding.rule)
            return
        }
        byRule[finding.rule, default: RuleFindings()].kept.append(finding)
        if byRule[finding.rule]!.kept.count >= Self.listedPerRule + Self.slack { cut(finding.rule) }
    }

    private mutating func cut(_ rule: String) {
        guard var r = byRule[rule], r.kept.count > Self.listedPerRule else { return }
        r.kept.sort(by: Finding.reportOrder)
        r.omitted += r.kept.count - Self.listedPerRule
        r.kept.removeLast(r.kept.count - Self.listedPerRule)
        r.threshold = r.kept.last
        byRule[rule] = r
    }

    mutating func record(_ error: WalkError) {
        if let t = errorThreshold, !Self.errorOrder(error, t) {
            errorsOmitted += 1
            return
        }
        errors.append(error)
        if errors.count >= Self.listedErrors + Self.slack { cutErrors() }
    }

    private mutating func cutErrors() {
        guard errors.count > Self.listedErrors else { return }
        errors.sort(by: Self.errorOrder)
        errorsOmitted += errors.count - Self.listedErrors
        errors.removeLast(errors.count - Self.listedErrors)
        errorThreshold = errors.last
    }

    static func errorOrder(_ a: WalkError, _ b: WalkError) -> Bool { (a.path, a.message) < (b.path, b.message) }

    /// Takes in what another thread's collector gathered.
    mutating func merge(_ other: FindingCollector) {
        for (rule, theirs) in other.byRule {
            var mine = byRule[rule, default: RuleFindings()]
            mine.omitted += theirs.omitted
            mine.kept += theirs.kept
            byRule[rule] = mine
            cut(rule)
        }
        errorsOmitted += other.errorsOmitted
        errors += other.errors
        cutErrors()
        for i in silenced.indices where i < other.silenced.count { silenced[i] += other.silenced[i] }
    }

    /// The findings kept, in report order, and how many more each rule had.
    func finished() -> (findings: [Finding], omitted: [String: Int], errors: [WalkError], errorsOmitted: Int) {
        var all = [Finding]()
        var omitted = [String: Int]()
        for (rule, r) in byRule {
            var kept = r.kept.sorted(by: Finding.reportOrder)
            var more = r.omitted
            if kept.count > Self.listedPerRule {
                more += kept.count - Self.listedPerRule
                kept.removeLast(kept.count - Self.listedPerRule)
            }
            all += kept
            if more > 0 { omitted[rule] = more }
        }
        all.sort(by: Finding.reportOrder)
        all = Finding.withCauses(all)
        var errors = self.errors.sorted(by: Self.errorOrder)
        var errorsOmitted = self.errorsOmitted
        if errors.count > Self.listedErrors {
            errorsOmitted += errors.count - Self.listedErrors
            errors.removeLast(errors.count - Self.listedErrors)
        }
        return (all, omitted, errors, errorsOmitted)
    }
}
