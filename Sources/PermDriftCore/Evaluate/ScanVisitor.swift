/// The walk's visitor for a scan: evaluates every entry against the rules and pins and collects what the
/// walk could not read.
struct ScanVisitor: ParallelWalkVisitor {
    /// What a directory hands to its entries: its reach, when the baseline has access rules, and what
    /// the rules decide below it.
    struct DirectoryContext {
        let access: AccessContext?
        let match: DirectoryMatch?
    }

    let rules: RuleEvaluator
    /// Findings and errors, bounded per rule (`FindingCollector`).
    var findings: FindingCollector
    var skipped: [SkippedMount] = []
    var pinsSeen = Set<Int>()
    var progress: ScanProgress?
    /// Entries not yet added to `progress` (counted here, added in batches: one shared counter per entry
    /// would have the threads fight over it).
    private var uncounted = 0
    /// The ancestors of the scan root being walked: the last one's access context and decision.
    private var ancestors: AccessContext?
    private var ancestorsMatch: DirectoryMatch?
    private let today: String?

    /// `today` (a UTC day) decides which exceptions are in force; without it none silence anything.
    init(
        baseline: Baseline, accounts: AccountDatabase, index: PrincipalIndex? = nil, decidesPerDirectory: Bool = true,
        today: String? = nil
    ) {
        rules = RuleEvaluator(
            baseline: baseline, accounts: accounts, index: index, decidesPerDirectory: decidesPerDirectory,
            today: today)
        self.today = today
        findings = FindingCollector(exceptions: baseline.exceptions.count)
    }

    func makeWorker() -> ScanVisitor {
        var worker = ScanVisitor(
            baseline: rules.baseline, accounts: rules.accounts, index: rules.access?.index,
            decidesPerDirectory: rules.decidesPerDirectory, today: today)
        worker.progress = progress
        return worker
    }

    mutating func merge(_ other: ScanVisitor) {
        progress?.add(other.uncounted)
        findings.merge(other.findings)
        skipped.append(contentsOf: other.skipped)
        pinsSeen.formUnion(other.pinsSeen)
    }

    /// Adds the entries not yet counted to the progress, saying which scan root `path` (the entry this
    /// thread is at) is in.
    mutating func flushProgress(at path: UnsafeBufferPointer<UInt8>? = nil) {
        var root: HostPath?
        if let path {
            root = rules.baseline.roots.filter { r in
                r.bytes.count == 1
                    || (path.starts(with: r.bytes) && (path.count == r.bytes.count || path[r.bytes.count] == UInt8(ascii: "/")))
            }.max { $0.bytes.count < $1.bytes.count }
        }
        progress?.add(uncounted, root: root)
        uncounted = 0
    }

    func isExcluded(_ path: UnsafeBufferPointer<UInt8>, in directory: DirectoryContext?) -> Bool {
        rules.isExcluded(path, in: directory?.match)
    }

    mutating func beginRoot(_ root: HostPath) {
        ancestors = nil
        ancestorsMatch = nil
    }

    mutating func visitAncestor(_ entry: WalkEntry) {
        if entry.record.type == .directory {
            ancestorsMatch = rules.directoryMatch(for: entry.path, parent: ancestorsMatch)
        }
        guard let access = rules.access else { return }
        ancestors = access.context(parent: ancestors, pathLength: entry.path.count, record: entry.record)
    }

    mutating func rootContext() -> DirectoryContext { DirectoryContext(access: ancestors, match: ancestorsMatch) }

    mutating func visit(_ entry: WalkEntry, in parent: DirectoryContext) -> DirectoryContext? {
        if let progress {
            uncounted += 1
            if uncounted >= progress.timing.batch { flushProgress(at: entry.path) }
        }
        let isDirectory = entry.record.type == .directory
        var own: AccessContext?
        if isDirectory, let access = rules.access, parent.access != nil || entry.path.count == 1 {
            own = access.context(parent: parent.access, pathLength: entry.path.count, record: entry.record)
        }
        // A directory's own decision first: it holds its segments, which its evaluation then reads.
        let ownMatch = isDirectory ? rules.directoryMatch(for: entry.path, parent: parent.match) : nil
        rules.evaluate(entry, parent: parent.access, own: own, directory: parent.match, ownMatch: ownMatch, findings: &findings)
        if let pin = rules.pinIndex(for: entry.path) {
            pinsSeen.insert(pin)
            if let finding = rules.checkPin(rules.baseline.pins[pin], record: entry.record) { rules.emitPin(finding, into: &findings) }
        }
        guard isDirectory else { return DirectoryContext(access: nil, match: nil) }
        return DirectoryContext(access: own, match: ownMatch)
    }

    mutating func record(_ error: WalkError) { findings.record(error) }

    mutating func skip(_ mount: SkippedMount) { skipped.append(mount) }
}
