/// The walk's visitor for a scan: evaluates every entry against the rules and pins and collects what the
/// walk could not read.
struct ScanVisitor: WalkVisitor {
    typealias DirectoryContext = Void

    var rules: RuleEvaluator
    let excludes: [PathPattern]
    var findings: [Finding] = []
    var errors: [WalkError] = []
    var skipped: [SkippedMount] = []
    var pinsSeen = Set<Int>()
    private var excludeCaptures: [Captures]

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

    mutating func visitAncestor(_ entry: WalkEntry) {}

    mutating func rootContext() {}

    mutating func visit(_ entry: WalkEntry, in parent: Void) -> Void? {
        rules.evaluate(entry, findings: &findings, errors: &errors)
        if let pin = rules.pinIndex(for: entry.path) {
            pinsSeen.insert(pin)
            if let finding = rules.checkPin(rules.baseline.pins[pin], record: entry.record) { findings.append(finding) }
        }
        return ()
    }

    mutating func record(_ error: WalkError) { errors.append(error) }

    mutating func skip(_ mount: SkippedMount) { skipped.append(mount) }
}
