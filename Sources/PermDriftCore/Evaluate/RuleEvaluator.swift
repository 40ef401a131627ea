/// Checks one entry against the baseline's rules and pins, producing findings. It holds per-rule capture
/// buffers so that matching an entry allocates nothing unless something drifts.
///
/// This file holds the evaluator's state, matching an entry against the rules, and the excludes and
/// exceptions; the decisions made once per directory are in `+DirectoryPlans`, the `expect` checks in
/// `+Expectations`, the `access` checks in `+Access`, the pins in `+Pins`.
final class RuleEvaluator {
    let baseline: Baseline
    let accounts: AccountDatabase
    private var captureBuffers: [[Captures]]
    let pinByPath: [[UInt8]: Int]
    let pinLengths: Set<Int>
    /// Effective-access evaluation, when some rule has `access`.
    let access: AccessEvaluator?
    /// What `baseline lint` collects, when linting.
    var lint: LintCollector?

    /// Segment boundaries of the entry being evaluated, shared by every pattern.
    var segments = PathSegments()
    let names: NameResolver
    /// For each rule and pattern, the capture names in index order (searched in place: a pattern has few,
    /// and comparing short strings is cheaper than hashing one).
    let captureNames: [[[String]]]
    /// The rules, each in a box of this evaluator's own with patterns that share no storage with another
    /// thread's: reading a rule through its box copies nothing and touches no other core's counters.
    final class RuleBox {
        let rule: Rule
        let hasExpectations: Bool
        let hasAccess: Bool
        /// Who the rule's `access` allows, per right in `AccessRight.ordered` order (nil: not constrained).
        let accessSpecs: [[PrincipalSpec]?]
        init(_ rule: Rule) {
            var copy = rule
            copy.patterns = rule.patterns.map { $0.isolatedCopy() }
            self.rule = copy
            hasExpectations = !rule.expect.isEmpty
            hasAccess = rule.access != nil
            accessSpecs = AccessRight.ordered.map { rule.access?.principals(for: $0) }
        }
    }
    let boxes: [RuleBox]
    /// For each rule, the types it applies to as bits (`typeBit`): most entries are skipped by a rule
    /// without touching it.
    private let typeMasks: [UInt8]
    /// Per rule and right, the capture uids last looked up and who they allow: entries of one directory
    /// mostly share their captures, so the set is found without hashing a key.
    var lastAllowed: [[(uids: [UInt32], set: UserSet)?]]
    /// Scratch space for the capture uids of an access check.
    var captureUIDScratch: [UInt32] = []

    /// Whether `segments` holds the entry being evaluated (loaded only when a rule needs them).
    var segmentsLoaded = false
    /// The directories (their decisions, held) whose segments are the first `count` of `segments`, from
    /// the top of the walk down: a directory's segments are its parent's and one name, so a chain of any
    /// depth is never read again from its beginning.
    var segmentOwners: [(match: DirectoryMatch, count: Int)] = []
    /// The decision of the entry being evaluated, when it is a directory (its segments may be held).
    private var currentOwn: DirectoryMatch?

    /// Scratch captures for deciding a directory (`directoryMatch`).
    var belowScratch = Captures(count: 0)
    var entriesScratch = Captures(count: 0)
    /// The baseline's excludes, as this evaluator's own copies.
    let excludePatterns: [PathPattern]

    static func typeBit(_ type: FileType) -> UInt8 {
        switch type {
        case .file: 1
        case .directory: 2
        case .symlink: 4
        case .fifo: 8
        case .socket: 16
        case .device: 32
        }
    }

    /// Whether rules are decided once per directory (`plans`); tests turn it off to hold the plans
    /// against matching every entry.
    let decidesPerDirectory: Bool

    /// The baseline's exceptions that are in force (not expired on `today`), as (index in the baseline,
    /// rule id, pattern), and for each rule the ones of it (indices into this list).
    let exceptions: [(index: Int, rule: String, pattern: PathPattern)]
    private let exceptionsOfRule: [[Int]]
    /// The exceptions of "pin" (pins' findings are silenced like any rule's).
    let pinExceptions: [Int]
    /// Whether the rule evaluated last silences the entry evaluated now (nil: not asked yet).
    private var silencedHere: (rule: Int, silenced: Bool)?

    /// `index` is shared with the evaluators of a parallel walk's other threads. Exceptions in force on
    /// `today` (a UTC day, `YYYY-MM-DD`) silence findings as they are made; without a day none do.
    init(
        baseline: Baseline, accounts: AccountDatabase, index: PrincipalIndex? = nil, decidesPerDirectory: Bool = true,
        today: String? = nil
    ) {
        self.decidesPerDirectory = decidesPerDirectory
        self.baseline = baseline
        self.accounts = accounts
        access = baseline.usesAccessRules ? AccessEvaluator(accounts: accounts, index: index) : nil
        names = NameResolver(accounts: accounts)
        captureBuffers = baseline.rules.map { rule in rule.patterns.map { Captures(count: $0.captureNames.count) } }
        boxes = baseline.rules.map(RuleBox.init)
        typeMasks = baseline.rules.map { rule in
            rule.types.map { $0.reduce(0) { $0 | Self.typeBit($1) } } ?? 0xFF
        }
        lastAllowed = baseline.rules.map { _ in Array(repeating: nil, count: AccessRight.allCases.count) }
        captureNames = baseline.rules.map { rule in rule.patterns.map(\.captureNames) }
        var pins = [[UInt8]: Int]()
        for (i, pin) in baseline.pins.enumerated() { pins[pin.path.bytes] = i }
        pinByPath = pins
        pinLengths = Set(baseline.pins.map(\.path.bytes.count))
        excludePatterns = baseline.excludes.map { $0.isolatedCopy() }
        let active =
            today.map { day in
                baseline.exceptions.enumerated().filter { !$0.element.isExpired(today: day) }
                    .map { (index: $0.offset, rule: $0.element.rule, pattern: $0.element.pattern.isolatedCopy()) }
            } ?? []
        exceptions = active
        exceptionsOfRule = baseline.rules.map { rule in active.indices.filter { active[$0].rule == rule.id } }
        pinExceptions = active.indices.filter { active[$0].rule == "pin" }
    }

    func captureBuffers(rule r: Int, pattern p: Int) -> Captures { captureBuffers[r][p] }

    /// What a capture of rule `r`, pattern `p` bound in `path`, resolved: from the directory's decision
    /// when it decided the rule for the entry, else from the entry's own match.
    func captured(_ name: String, rule r: Int, pattern p: Int, decided: DirectoryMatch? = nil, in path: UnsafeBufferPointer<UInt8>)
        -> ResolvedName?
    {
        guard let i = captureNames[r][p].firstIndex(of: name) else { return nil }
        let bytes: UnsafeBufferPointer<UInt8>?
        if let decided {
            bytes = decided.rules[r].captures.value(i, in: path)
        } else {
            bytes = captureBuffers[r][p].value(i, in: path)
        }
        return bytes.flatMap(names.resolve)
    }

    /// Loads the segments of the entry at `path` (of the directory `directory` decided; `own`, when it is
    /// a directory itself, its own decision): from the segments of its directory when they are held (a
    /// name's worth of work), else from the whole path.
    private func loadSegments(_ path: UnsafeBufferPointer<UInt8>, directory: DirectoryMatch? = nil, own: DirectoryMatch? = nil) {
        guard !segmentsLoaded else { return }
        segmentsLoaded = true
        // A decision that decides everything below is shared by every directory below its own: it names
        // no one directory's segments (and nothing below it needs them).
        if let own, !own.decidesEverythingBelow, let top = segmentOwners.last, top.match === own {
            segments.truncate(top.count)
        } else if let directory, !directory.decidesEverythingBelow,
            let k = segmentOwners.lastIndex(where: { $0.match === directory })
        {
            segmentOwners.removeSubrange((k + 1)...)
            segments.truncate(segmentOwners[k].count)
            segments.pushLastName(of: path)
        } else {
            segments.load(path)
            segmentOwners.removeAll()
        }
    }

    /// Whether an exception in force silences rule `r` on the entry at `path` (of the directory
    /// `directory` decided); each exception that does is counted in `findings` once per finding, by the
    /// caller. Worked out once per entry and rule.
    func silences(rule r: Int, path: UnsafeBufferPointer<UInt8>, directory: DirectoryMatch?) -> [Int] {
        var out = [Int]()
        for a in exceptionsOfRule[r] {
            if decidesPerDirectory, path.count > 1, let directory {
                switch directory.exceptions[a].entries {
                case .all: out.append(exceptions[a].index); continue
                case .none: continue
                case .byName: break
                }
            }
            loadSegments(path, directory: directory, own: currentOwn)
            var captures = Captures(count: 0)
            if exceptions[a].pattern.match(path, segments: segments, captures: &captures) { out.append(exceptions[a].index) }
        }
        return out
    }

    /// Adds a finding of rule `r` unless an exception silences it (counted in the collector).
    func emit(
        _ finding: Finding, rule r: Int, path: UnsafeBufferPointer<UInt8>, directory: DirectoryMatch?,
        into findings: inout FindingCollector
    ) {
        if !exceptionsOfRule[r].isEmpty {
            let by = silences(rule: r, path: path, directory: directory)
            if !by.isEmpty {
                for i in by { findings.silenced[i] += 1 }
                return
            }
        }
        findings.append(finding)
    }

    /// Whether findings of rule `r` on this entry are silenced (then nothing about them is worked out).
    func isSilenced(
        rule r: Int, path: UnsafeBufferPointer<UInt8>, directory: DirectoryMatch?,
        findings: inout FindingCollector
    ) -> Bool {
        guard !exceptionsOfRule[r].isEmpty else { return false }
        if let known = silencedHere, known.rule == r { return known.silenced }
        let by = silences(rule: r, path: path, directory: directory)
        for i in by { findings.silenced[i] += 1 }
        silencedHere = (r, !by.isEmpty)
        return !by.isEmpty
    }

    /// Whether an exclude leaves out the entry at `path`, an entry of the directory `directory` decided.
    func isExcluded(_ path: UnsafeBufferPointer<UInt8>, in directory: DirectoryMatch?) -> Bool {
        guard !excludePatterns.isEmpty else { return false }
        segmentsLoaded = false  // asked before the entry is visited
        for e in excludePatterns.indices {
            if decidesPerDirectory, path.count > 1, let directory {
                switch directory.excludes[e].entries {
                case .all: return true
                case .none: continue
                case .byName: break
                }
            }
            loadSegments(path, directory: directory)
            var captures = Captures(count: 0)
            if excludePatterns[e].match(path, segments: segments, captures: &captures) { return true }
        }
        return false
    }

    /// Every broken `expect` assertion and every disallowed access of every rule that matches the entry.
    /// `directory` is what was decided for the entries of its directory, when the walk knows it.
    /// Capability reads that fail are returned as errors.
    func evaluate(
        _ entry: WalkEntry, parent: AccessContext?, own: AccessContext?, directory: DirectoryMatch?,
        ownMatch: DirectoryMatch? = nil, findings: inout FindingCollector
    ) {
        let record = entry.record
        let path = entry.path
        segmentsLoaded = false
        silencedHere = nil
        currentOwn = ownMatch
        if let own, record.defaultACL != nil { inheritedAccess(entry, directory: own, in: directory, findings: &findings) }
        // Paths from the walk are normalized; `/` itself is no directory's entry.
        let decision = decidesPerDirectory && path.count > 1 ? directory : nil
        let lint = self.lint
        let bit = Self.typeBit(record.type)
        for r in boxes.indices where typeMasks[r] & bit != 0 {
            let box = boxes[r]
            let p: Int
            var decided: DirectoryMatch?
            if let decision, let d = decision.rules[r].entries {
                guard d >= 0 else { continue }
                p = d
                decided = decision
            } else {
                loadSegments(path, directory: decision, own: ownMatch)
                guard let matched = matchingPattern(box.rule, index: r, path: path, segments: segments) else { continue }
                p = matched
            }
            lint?.matched(rule: r, path: path)
            // Closures passed straight to the calls (not kept in a variable) need no allocation.
            if box.hasExpectations {
                check(
                    box, index: r, entry, directory: directory,
                    capture: { self.captured($0, rule: r, pattern: p, decided: decided, in: path) }, findings: &findings)
            }
            if box.hasAccess, access != nil {
                checkAccess(
                    box, index: r, decided: decided, entry, parent: parent, directory: directory,
                    capture: { self.captured($0, rule: r, pattern: p, decided: decided, in: path) }, findings: &findings)
            }
        }
    }

    /// The first pattern of rule `r` that matches `path` with captures that meet the rule's `where`.
    func matchingPattern(rule r: Int, path: UnsafeBufferPointer<UInt8>, segments: PathSegments) -> Int? {
        matchingPattern(boxes[r].rule, index: r, path: path, segments: segments)
    }

    private func matchingPattern(_ rule: Rule, index r: Int, path: UnsafeBufferPointer<UInt8>, segments: PathSegments) -> Int? {
        for p in rule.patterns.indices {
            guard rule.patterns[p].match(path, segments: segments, captures: &captureBuffers[r][p]) else { continue }
            if conditionsHold(rule, rule: r, pattern: p, captures: captureBuffers[r][p], path: path) { return p }
        }
        return nil
    }

    /// Whether what a pattern of rule `r` captured (`captures`, over `path`) meets the rule's `where`.
    func conditionsHold(_ rule: Rule, rule r: Int, pattern p: Int, captures: Captures, path: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !rule.conditions.isEmpty else { return true }
        return rule.conditions.allSatisfy { condition in
            let uid = (captureNames[r][p].firstIndex(of: condition.capture).flatMap { captures.value($0, in: path) }).flatMap(
                names.resolve)?.uid
            switch condition.kind {
            case .isUser: return uid != nil
            case .memberOf(let gids): return uid.map { u in gids.contains { names.isMember(uid: u, ofGroup: $0) } } ?? false
            case .notMemberOf(let gids): return uid.map { u in !gids.contains { names.isMember(uid: u, ofGroup: $0) } } ?? true
            }
        }
    }
}
