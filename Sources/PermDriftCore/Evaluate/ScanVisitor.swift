/// The walk's visitor for a scan: evaluates every entry against the rules and pins and collects what the
/// walk could not read.
struct ScanVisitor: WalkVisitor {
    /// The reach of a directory, when the baseline has access rules.
    typealias DirectoryContext = AccessContext?

    let rules: RuleEvaluator
    let excludes: [PathPattern]
    var findings: [Finding] = []
    var errors: [WalkError] = []
    var skipped: [SkippedMount] = []
    var pinsSeen = Set<Int>()
    var progress: ScanProgress?
    private var excludeCaptures: [Captures]
    /// The ancestors of the scan root being walked, as access contexts.
    private var ancestors: AccessContext?

    init(baseline: Baseline, accounts: AccountDatabase) {
        rules = RuleEvaluator(baseline: baseline, accounts: accounts)
        excludes = baseline.excludes
        excludeCaptures = baseline.excludes.map { Captures(count: $0.captureNames.count) }
    }

    func isExcluded(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !excludes.isEmpty else { return false }
        var captures = Captures(count: 0)
        return excludes.contains { $0.match(path, captures: &captures) }
    }

    mutating func beginRoot(_ root: HostPath) {
        ancestors = nil
        progress?.beginRoot(root)
    }

    mutating func visitAncestor(_ entry: WalkEntry) {
        guard let access = rules.access else { return }
        ancestors = access.context(parent: ancestors, path: HostPath(entry.path), record: entry.record)
    }

    mutating func rootContext() -> AccessContext? { ancestors }

    mutating func visit(_ entry: WalkEntry, in parent: AccessContext?) -> AccessContext?? {
        progress?.tick()
        var own: AccessContext?
        if entry.record.type == .directory, let access = rules.access, parent != nil || entry.path.count == 1 {
            own = access.context(parent: parent, path: HostPath(entry.path), record: entry.record)
        }
        rules.evaluate(entry, parent: parent, own: own, findings: &findings, errors: &errors)
        if let pin = rules.pinIndex(for: entry.path) {
            pinsSeen.insert(pin)
            if let finding = rules.checkPin(rules.baseline.pins[pin], record: entry.record) { findings.append(finding) }
        }
        return .some(own)
    }

    mutating func record(_ error: WalkError) { errors.append(error) }

    mutating func skip(_ mount: SkippedMount) { skipped.append(mount) }
}
