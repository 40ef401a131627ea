import Glibc

/// Checks one entry against the baseline's rules and pins, producing findings. It holds per-rule capture
/// buffers so that matching an entry allocates nothing unless something drifts.
final class RuleEvaluator {
    let baseline: Baseline
    let accounts: AccountDatabase
    private var captureBuffers: [[Captures]]
    private let pinByPath: [[UInt8]: Int]
    private let pinLengths: Set<Int>
    /// Effective-access evaluation, when some rule has `access`.
    let access: AccessEvaluator?
    /// What `baseline lint` collects, when linting.
    var lint: LintCollector?

    /// Segment boundaries of the entry being evaluated, shared by every pattern.
    private var segments = PathSegments()
    let names: NameResolver
    /// For each rule and pattern, the capture names in index order (searched in place: a pattern has few,
    /// and comparing short strings is cheaper than hashing one).
    private let captureNames: [[[String]]]
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
    private let boxes: [RuleBox]
    /// For each rule, the types it applies to as bits (`typeBit`): most entries are skipped by a rule
    /// without touching it.
    private let typeMasks: [UInt8]
    /// Per rule and right, the capture uids last looked up and who they allow: entries of one directory
    /// mostly share their captures, so the set is found without hashing a key.
    var lastAllowed: [[(uids: [UInt32], set: UserSet)?]]
    /// Scratch space for the capture uids of an access check.
    var captureUIDScratch: [UInt32] = []

    /// Whether `segments` holds the entry being evaluated (loaded only when a rule needs them).
    private var segmentsLoaded = false
    /// The directories (their decisions, held) whose segments are the first `count` of `segments`, from
    /// the top of the walk down: a directory's segments are its parent's and one name, so a chain of any
    /// depth is never read again from its beginning.
    private var segmentOwners: [(match: DirectoryMatch, count: Int)] = []
    /// The decision of the entry being evaluated, when it is a directory (its segments may be held).
    private var currentOwn: DirectoryMatch?

    /// Scratch captures for deciding a directory (`directoryMatch`).
    private var belowScratch = Captures(count: 0)
    private var entriesScratch = Captures(count: 0)
    /// The baseline's excludes, as this evaluator's own copies.
    private let excludePatterns: [PathPattern]

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
    private let exceptions: [(index: Int, rule: String, pattern: PathPattern)]
    private let exceptionsOfRule: [[Int]]
    /// The exceptions of "pin" (pins' findings are silenced like any rule's).
    private let pinExceptions: [Int]
    /// Whether the rule evaluated last silences the entry evaluated now (nil: not asked yet).
    private var silencedHere: (rule: Int, silenced: Bool)?

    /// `index` is shared with the evaluators of a parallel walk's other threads. Exceptions in force on
    /// `today` (a UTC day, `YYYY-MM-DD`) silence findings as they are made; without a day none do.
    init(baseline: Baseline, accounts: AccountDatabase, index: PrincipalIndex? = nil, decidesPerDirectory: Bool = true,
         today: String? = nil) {
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
        let active = today.map { day in
            baseline.exceptions.enumerated().filter { !$0.element.isExpired(today: day) }
                .map { (index: $0.offset, rule: $0.element.rule, pattern: $0.element.pattern.isolatedCopy()) }
        } ?? []
        exceptions = active
        exceptionsOfRule = baseline.rules.map { rule in active.indices.filter { active[$0].rule == rule.id } }
        pinExceptions = active.indices.filter { active[$0].rule == "pin" }
    }

    func captureBuffers(rule r: Int, pattern p: Int) -> Captures { captureBuffers[r][p] }

    /// The index of the pin for this path, if any.
    func pinIndex(for path: UnsafeBufferPointer<UInt8>) -> Int? {
        guard pinLengths.contains(path.count) else { return nil }
        return pinByPath[Array(path)]
    }

    /// What a capture of rule `r`, pattern `p` bound in `path`, resolved: from the directory's decision
    /// when it decided the rule for the entry, else from the entry's own match.
    func captured(_ name: String, rule r: Int, pattern p: Int, decided: DirectoryMatch? = nil, in path: UnsafeBufferPointer<UInt8>) -> ResolvedName? {
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
                  let k = segmentOwners.lastIndex(where: { $0.match === directory }) {
            segmentOwners.removeSubrange((k + 1)...)
            segments.truncate(segmentOwners[k].count)
            segments.pushLastName(of: path)
        } else {
            segments.load(path)
            segmentOwners.removeAll()
        }
    }

    // MARK: - Decisions per directory

    /// What the rules and the excludes decide below the directory at `path`, which the walk has just
    /// visited; `parent` is its own directory's decision. A directory below which everything is decided
    /// shares that decision with every directory under it: no matching, no copy, however deep the tree.
    func directoryMatch(for path: UnsafeBufferPointer<UInt8>, parent: DirectoryMatch?) -> DirectoryMatch {
        if let parent, parent.decidesEverythingBelow { return parent }
        // The directory's segments: its parent's (held when the walk came down from it) and its name.
        if let parent, let k = segmentOwners.lastIndex(where: { $0.match === parent }) {
            segmentOwners.removeSubrange((k + 1)...)
            segments.truncate(segmentOwners[k].count)
            segments.pushLastName(of: path)
        } else {
            segments.load(path)
            segmentOwners.removeAll()
        }
        segmentsLoaded = false  // `segments` now holds a directory, not an entry
        var rules = [DirectoryMatch.RuleDecision]()
        rules.reserveCapacity(boxes.count)
        for r in boxes.indices {
            if let inherited = parent?.rules[r], inherited.below != nil {
                rules.append(inherited)
            } else {
                rules.append(decide(rule: r, directory: path))
            }
        }
        var excludes = [DirectoryMatch.ExcludeDecision]()
        for e in excludePatterns.indices {
            if let inherited = parent?.excludes[e], inherited.below != .byName {
                excludes.append(inherited)
            } else {
                let d = excludePatterns[e].matchBelow(directory: path, segments: segments, below: &belowScratch, entries: &entriesScratch)
                excludes.append(DirectoryMatch.ExcludeDecision(below: d.below, entries: d.entries))
            }
        }
        var silencing = [DirectoryMatch.ExcludeDecision]()
        for e in exceptions.indices {
            if let inherited = parent?.exceptions[e], inherited.below != .byName {
                silencing.append(inherited)
            } else {
                let d = exceptions[e].pattern.matchBelow(directory: path, segments: segments, below: &belowScratch, entries: &entriesScratch)
                silencing.append(DirectoryMatch.ExcludeDecision(below: d.below, entries: d.entries))
            }
        }
        let decision = DirectoryMatch(rules: rules, excludes: excludes, exceptions: silencing)
        segmentOwners.append((decision, segments.count))
        return decision
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
    func emit(_ finding: Finding, rule r: Int, path: UnsafeBufferPointer<UInt8>, directory: DirectoryMatch?,
              into findings: inout FindingCollector) {
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
    func isSilenced(rule r: Int, path: UnsafeBufferPointer<UInt8>, directory: DirectoryMatch?,
                    findings: inout FindingCollector) -> Bool {
        guard !exceptionsOfRule[r].isEmpty else { return false }
        if let known = silencedHere, known.rule == r { return known.silenced }
        let by = silences(rule: r, path: path, directory: directory)
        for i in by { findings.silenced[i] += 1 }
        silencedHere = (r, !by.isEmpty)
        return !by.isEmpty
    }

    /// Adds a pin's finding unless an exception for "pin" silences it.
    func emitPin(_ finding: Finding, into findings: inout FindingCollector) {
        var silenced = false
        for a in pinExceptions where exceptions[a].pattern.matches(finding.path) {
            findings.silenced[exceptions[a].index] += 1
            silenced = true
        }
        if !silenced { findings.append(finding) }
    }

    /// Rule `r` below the directory at `path` (whose segments are loaded): the first of its patterns that
    /// matches with its `where` holding, for every path below and for the directory's own entries.
    private func decide(rule r: Int, directory path: UnsafeBufferPointer<UInt8>) -> DirectoryMatch.RuleDecision {
        let rule = boxes[r].rule
        var below: Int? = -1
        var entries: Int? = -1
        var captures = Captures(count: 0)
        var belowOpen = true, entriesOpen = true
        for p in rule.patterns.indices where belowOpen || entriesOpen {
            let d = rule.patterns[p].matchBelow(directory: path, segments: segments, below: &belowScratch, entries: &entriesScratch)
            if belowOpen {
                switch d.below {
                case .byName: below = nil; belowOpen = false
                case .none: break
                case .all:
                    if conditionsHold(rule, rule: r, pattern: p, captures: belowScratch, path: path) {
                        below = p; belowOpen = false
                        if entriesOpen { entries = p; entriesOpen = false; captures = belowScratch }
                    }
                }
            }
            if entriesOpen {
                switch d.entries {
                case .byName: entries = nil; entriesOpen = false
                case .none: break
                case .all:
                    if conditionsHold(rule, rule: r, pattern: p, captures: entriesScratch, path: path) {
                        entries = p; entriesOpen = false; captures = entriesScratch
                    }
                }
            }
        }
        var allowed = [UserSet?](repeating: nil, count: AccessRight.ordered.count)
        if let p = entries, p >= 0, let access, boxes[r].hasAccess {
            let names = captureNames[r][p]
            let capture: (String) -> ResolvedName? = { name in
                names.firstIndex(of: name).flatMap { captures.value($0, in: path) }.flatMap(self.names.resolve)
            }
            for (k, specs) in boxes[r].accessSpecs.enumerated() {
                guard let specs else { continue }
                var uids = [UInt32]()
                for case .capture(let name) in specs { uids.append(capture(name)?.uid ?? UInt32.max) }
                let key = AccessEvaluator.AllowedKey(rule: r, right: AccessRight.ordered[k], captures: uids)
                let (set, missing) = access.allowedCached(key, specs, capture: capture)
                if missing.isEmpty { allowed[k] = set }
            }
        }
        return DirectoryMatch.RuleDecision(below: below, entries: entries, captures: captures, allowed: allowed)
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
    func evaluate(_ entry: WalkEntry, parent: AccessContext?, own: AccessContext?, directory: DirectoryMatch?,
                  ownMatch: DirectoryMatch? = nil, findings: inout FindingCollector) {
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
                check(box, index: r, entry, directory: directory,
                      capture: { self.captured($0, rule: r, pattern: p, decided: decided, in: path) }, findings: &findings)
            }
            if box.hasAccess, access != nil {
                checkAccess(box, index: r, decided: decided, entry, parent: parent, directory: directory,
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
    private func conditionsHold(_ rule: Rule, rule r: Int, pattern p: Int, captures: Captures, path: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !rule.conditions.isEmpty else { return true }
        return rule.conditions.allSatisfy { condition in
            let uid = (captureNames[r][p].firstIndex(of: condition.capture).flatMap { captures.value($0, in: path) }).flatMap(names.resolve)?.uid
            switch condition.kind {
            case .isUser: return uid != nil
            case .memberOf(let gids): return uid.map { u in gids.contains { names.isMember(uid: u, ofGroup: $0) } } ?? false
            case .notMemberOf(let gids): return uid.map { u in !gids.contains { names.isMember(uid: u, ofGroup: $0) } } ?? true
            }
        }
    }

    private func check(_ box: RuleBox, index r: Int, _ entry: WalkEntry, directory: DirectoryMatch?, capture: (String) -> ResolvedName?,
                       findings: inout FindingCollector) {
        let record = entry.record
        let rule = box.rule
        let e = rule.expect
        var path: HostPath?
        func report(_ kind: FindingKind, expected: String, actual: String) {
            if path == nil { path = HostPath(reporting: entry.path) }
            emit(Finding(rule: rule.id, severity: rule.severity, kind: kind, path: path!, expected: expected, actual: actual),
                 rule: r, path: entry.path, directory: directory, into: &findings)
        }
        if let owner = e.owner {
            switch owner {
            case .id(let uid):
                if record.uid != uid { report(.owner, expected: accounts.userDisplay(uid), actual: accounts.userDisplay(record.uid)) }
            case .capture(let name):
                let value = capture(name)
                if let value, let uid = value.uid {
                    if record.uid != uid { report(.owner, expected: value.text, actual: accounts.userDisplay(record.uid)) }
                } else {
                    report(.owner, expected: "the user named by {\(name)} ('\(TerminalText.escape(value?.text ?? "?"))'), which does not exist",
                           actual: accounts.userDisplay(record.uid))
                }
            }
        }
        if let group = e.group {
            switch group {
            case .id(let gid):
                if record.gid != gid { report(.group, expected: accounts.groupDisplay(gid), actual: accounts.groupDisplay(record.gid)) }
            case .capture(let name):
                let value = capture(name)
                if let value, let gid = value.gid {
                    if record.gid != gid { report(.group, expected: value.text, actual: accounts.groupDisplay(record.gid)) }
                } else {
                    report(.group, expected: "the group named by {\(name)} ('\(TerminalText.escape(value?.text ?? "?"))'), which does not exist",
                           actual: accounts.groupDisplay(record.gid))
                }
            }
        }
        guard record.type != .symlink else { return }
        if let mode = e.mode, !mode.allows(record.mode) {
            report(.mode, expected: mode.description, actual: ModeSpec.octal(record.mode))
        }
        if let acl = e.acl, !Self.accessACL(record, satisfies: acl) {
            report(.acl, expected: aclText(acl), actual: record.acl.map(aclText) ?? "none (\(aclText(record.effectiveACL)))")
        }
        if record.type == .directory, let defaultACL = e.defaultACL, !Self.defaultACL(record, satisfies: defaultACL) {
            report(.defaultACL, expected: aclText(defaultACL), actual: record.defaultACL.map(aclText) ?? "none")
        }
        if record.type != .directory, let links = e.links, record.links != links {
            report(.links, expected: String(links), actual: String(record.links))
        }
        if e.noCapabilities {
            switch entry.hasCapabilities() {
            case .success(true): report(.capabilities, expected: "none", actual: "file capabilities set (security.capability)")
            case .success(false): break
            case .failure(.system(_, let errno)) where errno == .noEntry: break
            case .failure(.system(let call, let errno)):
                findings.record(WalkError(path: HostPath(reporting: entry.path), syscall: call, errno: errno))
            case .failure(.decoding(let d)):
                findings.record(WalkError(path: HostPath(reporting: entry.path), message: d.description))
            }
        }
    }

    static func accessACL(_ record: FileRecord, satisfies spec: ACLSpec) -> Bool {
        switch spec {
        case .none: record.acl == nil
        case .exact(let acl): record.effectiveACL == acl
        }
    }

    static func defaultACL(_ record: FileRecord, satisfies spec: ACLSpec) -> Bool {
        switch spec {
        case .none: record.defaultACL == nil
        case .exact(let acl): record.defaultACL == acl
        }
    }

    func aclText(_ spec: ACLSpec) -> String {
        switch spec {
        case .none: "none"
        case .exact(let acl): aclText(acl)
        }
    }

    func aclText(_ acl: PosixACL) -> String {
        acl.text(userName: { accounts.userName($0) }, groupName: { accounts.groupName($0) })
    }

    // MARK: - Pins

    /// The pin finding for a pinned path, or nil when it holds.
    func checkPin(_ pin: Pin, record: FileRecord) -> Finding? {
        var expected = [String](), actual = [String]()
        func differ(_ name: String, _ e: String, _ a: String) { expected.append("\(name) \(e)"); actual.append("\(name) \(a)") }
        if let type = pin.type, type != record.type { differ("type", type.rawValue, record.type.rawValue) }
        if let owner = pin.owner, owner != record.uid { differ("owner", accounts.userDisplay(owner), accounts.userDisplay(record.uid)) }
        if let group = pin.group, group != record.gid { differ("group", accounts.groupDisplay(group), accounts.groupDisplay(record.gid)) }
        if record.type != .symlink {
            if let mode = pin.mode, mode != record.mode { differ("mode", ModeSpec.octal(mode), ModeSpec.octal(record.mode)) }
            if let acl = pin.acl, !Self.accessACL(record, satisfies: acl) {
                differ("acl", aclText(acl), record.acl.map(aclText) ?? "none")
            }
            if let d = pin.defaultACL, !Self.defaultACL(record, satisfies: d) {
                differ("default-acl", aclText(d), record.defaultACL.map(aclText) ?? "none")
            }
        }
        guard !expected.isEmpty else { return nil }
        return Finding(rule: "pin", severity: .high, kind: .pin, path: pin.path,
                       expected: expected.joined(separator: "; "), actual: actual.joined(separator: "; "))
    }

    func missingPin(_ pin: Pin, why: String) -> Finding {
        Finding(rule: "pin", severity: .high, kind: .pinMissing, path: pin.path,
                expected: "exists" + (pin.type.map { " (\($0.rawValue))" } ?? ""), actual: why)
    }
}

extension RuleEvaluator {
    /// Who rule `r` allows `right` (by index) for the entries of a directory, when its decision worked it out.
    func decidedAllowed(_ decided: DirectoryMatch?, rule r: Int, right k: Int) -> UserSet? {
        decided?.rules[r].allowed[k]
    }
}
