/// The walk's visitor for a scan: evaluates every entry against the rules and pins and collects what the
/// walk could not read.
struct ScanVisitor: ParallelWalkVisitor {
    /// The reach of a directory, when the baseline has access rules.
    typealias DirectoryContext = AccessContext?

    let rules: RuleEvaluator
    let excludes: [PathPattern]
    var findings: [Finding] = []
    var errors: [WalkError] = []
    var skipped: [SkippedMount] = []
    var pinsSeen = Set<Int>()
    var progress: ScanProgress?
    /// Entries not yet added to `progress` (counted here, added in batches: one shared counter per entry
    /// would have the threads fight over it).
    private var uncounted = 0
    private var excludeCaptures: [Captures]
    /// The ancestors of the scan root being walked, as access contexts.
    private var ancestors: AccessContext?

    init(baseline: Baseline, accounts: AccountDatabase, index: PrincipalIndex? = nil, decidesPerDirectory: Bool = true) {
        rules = RuleEvaluator(baseline: baseline, accounts: accounts, index: index, decidesPerDirectory: decidesPerDirectory)
        excludes = baseline.excludes
        excludeCaptures = baseline.excludes.map { Captures(count: $0.captureNames.count) }
    }

    func makeWorker() -> ScanVisitor {
        var worker = ScanVisitor(baseline: rules.baseline, accounts: rules.accounts, index: rules.access?.index,
                                 decidesPerDirectory: rules.decidesPerDirectory)
        worker.progress = progress
        return worker
    }

    mutating func merge(_ other: ScanVisitor) {
        progress?.add(other.uncounted)
        findings.append(contentsOf: other.findings)
        errors.append(contentsOf: other.errors)
        skipped.append(contentsOf: other.skipped)
        pinsSeen.formUnion(other.pinsSeen)
    }

    /// Adds the entries not yet counted to the progress, saying which scan root `path` (the entry this
    /// thread is at) is in.
    mutating func flushProgress(at path: UnsafeBufferPointer<UInt8>? = nil) {
        var root: HostPath?
        if let path {
            root = rules.baseline.roots.filter { r in
                r.bytes.count == 1 || (path.starts(with: r.bytes) && (path.count == r.bytes.count || path[r.bytes.count] == UInt8(ascii: "/")))
            }.max { $0.bytes.count < $1.bytes.count }
        }
        progress?.add(uncounted, root: root)
        uncounted = 0
    }

    func isExcluded(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !excludes.isEmpty else { return false }
        var captures = Captures(count: 0)
        return excludes.contains { $0.match(path, captures: &captures) }
    }

    mutating func beginRoot(_ root: HostPath) {
        ancestors = nil
    }

    mutating func visitAncestor(_ entry: WalkEntry) {
        guard let access = rules.access else { return }
        ancestors = access.context(parent: ancestors, path: HostPath(entry.path), record: entry.record)
    }

    mutating func rootContext() -> AccessContext? { ancestors }

    mutating func visit(_ entry: WalkEntry, in parent: AccessContext?) -> AccessContext?? {
        if let progress {
            uncounted += 1
            if uncounted >= progress.timing.batch { flushProgress(at: entry.path) }
        }
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
