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

    /// What each rule does for every entry of one directory, decided once from the first entry's path
    /// (`PathPattern.matchSiblings`): most rules match all of a directory's entries or none of them.
    private struct DirectoryPlan {
        /// The directory's path: the plan holds for entries whose path starts with it and one more name.
        var directory: [UInt8] = []
        var valid = false
        /// Per rule: `nil` when it depends on the entry's name, else the pattern every entry matches
        /// (with `captures[r]` and its `where` holding), or -1 when no entry matches.
        var patterns: [Int?] = []
        var captures: [Captures] = []
        /// Per rule and right, who the rule allows given the plan's captures, once an entry asked.
        var allowed: [[UserSet?]] = []
    }
    /// Plans by the directory's depth (segment count): a depth-first walk returns to a directory's
    /// remaining entries after its subdirectories, and finds the plan still there.
    private var plans: [DirectoryPlan] = []
    /// The plan used last: the next entry is most often in the same directory.
    private var lastPlan = -1
    /// Whether `segments` holds the entry being evaluated (loaded only when a rule needs them).
    private var segmentsLoaded = false

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

    /// `index` is shared with the evaluators of a parallel walk's other threads.
    init(baseline: Baseline, accounts: AccountDatabase, index: PrincipalIndex? = nil, decidesPerDirectory: Bool = true) {
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
    }

    func captureBuffers(rule r: Int, pattern p: Int) -> Captures { captureBuffers[r][p] }

    /// The index of the pin for this path, if any.
    func pinIndex(for path: UnsafeBufferPointer<UInt8>) -> Int? {
        guard pinLengths.contains(path.count) else { return nil }
        return pinByPath[Array(path)]
    }

    /// What a capture of rule `r`, pattern `p` bound in `path`, resolved: from the directory plan at
    /// depth `plan` when the plan decided the rule, else from the entry's own match.
    func captured(_ name: String, rule r: Int, pattern p: Int, plan: Int? = nil, in path: UnsafeBufferPointer<UInt8>) -> ResolvedName? {
        guard let i = captureNames[r][p].firstIndex(of: name) else { return nil }
        let bytes: UnsafeBufferPointer<UInt8>?
        if let plan {
            bytes = plans[plan].captures[r].value(i, in: path)
        } else {
            bytes = captureBuffers[r][p].value(i, in: path)
        }
        return bytes.flatMap(names.resolve)
    }

    /// The plan for the directory of the entry at `path`: its depth in `plans`, or nil for `/`, which has
    /// no directory. Loads `segments` when it has to decide a plan.
    private func plan(for path: UnsafeBufferPointer<UInt8>) -> Int? {
        segmentsLoaded = false
        // Paths from the walk are normalized; anything else (a trailing slash) is matched entry by entry.
        guard decidesPerDirectory, path.count > 1, path[path.count - 1] != UInt8(ascii: "/") else { return nil }
        // The directory is the path up to its last slash (`/` for a name right below it).
        var slash = path.count - 1
        while slash > 0 && path[slash] != UInt8(ascii: "/") { slash -= 1 }
        let directory = UnsafeBufferPointer(rebasing: path[0..<max(slash, 1)])
        func holds(_ depth: Int) -> Bool {
            plans[depth].valid && plans[depth].directory.withUnsafeBufferPointer { d in
                d.count == directory.count && memcmp(d.baseAddress!, directory.baseAddress!, d.count) == 0
            }
        }
        if lastPlan >= 0, holds(lastPlan) { return lastPlan }
        loadSegments(path)
        guard segments.count > 0 else { return nil }
        let depth = segments.count - 1
        while plans.count <= depth { plans.append(DirectoryPlan()) }
        lastPlan = depth
        if holds(depth) { return depth }
        plans[depth].valid = false
        plans[depth].directory.removeAll(keepingCapacity: true)
        plans[depth].directory.append(contentsOf: directory)
        if plans[depth].patterns.count != boxes.count {
            plans[depth].patterns = Array(repeating: nil, count: boxes.count)
            plans[depth].captures = boxes.map { _ in Captures(count: 0) }
            plans[depth].allowed = boxes.map { _ in Array(repeating: nil, count: AccessRight.allCases.count) }
        }
        for r in boxes.indices {
            plans[depth].patterns[r] = siblingPattern(rule: r, path: path, depth: depth)
            for k in plans[depth].allowed[r].indices { plans[depth].allowed[r][k] = nil }
        }
        plans[depth].valid = true
        return depth
    }

    private func loadSegments(_ path: UnsafeBufferPointer<UInt8>) {
        guard !segmentsLoaded else { return }
        segments.load(path)
        segmentsLoaded = true
    }

    /// The pattern of rule `r` that every entry of the directory matches with its `where` holding (-1:
    /// none does), or nil when that depends on the entry's name.
    private func siblingPattern(rule r: Int, path: UnsafeBufferPointer<UInt8>, depth: Int) -> Int? {
        let rule = boxes[r].rule
        for p in rule.patterns.indices {
            switch rule.patterns[p].matchSiblings(path, segments: segments, captures: &plans[depth].captures[r]) {
            case .byName: return nil
            case .none: continue
            case .all: if conditionsHold(rule, rule: r, pattern: p, plan: depth, path: path) { return p }
            }
        }
        return -1
    }

    /// Every broken `expect` assertion and every disallowed access of every rule that matches the entry.
    /// Capability reads that fail are returned as errors.
    func evaluate(_ entry: WalkEntry, parent: AccessContext?, own: AccessContext?,
                           findings: inout [Finding], errors: inout [WalkError]) {
        let record = entry.record
        if let own, record.defaultACL != nil { inheritedAccess(entry, directory: own, findings: &findings) }
        let path = entry.path
        let depth = plan(for: path)
        // Read once: every stored property read in the loop is an exclusivity check at run time.
        let decided = depth.map { plans[$0].patterns }
        let lint = self.lint
        let bit = Self.typeBit(record.type)
        for r in boxes.indices where typeMasks[r] & bit != 0 {
            let box = boxes[r]
            let p: Int
            var plan: Int?
            if let decided, let d = decided[r] {
                guard d >= 0 else { continue }
                p = d
                plan = depth
            } else {
                loadSegments(path)
                guard let matched = matchingPattern(box.rule, index: r, path: path, segments: segments) else { continue }
                p = matched
            }
            lint?.matched(rule: r, path: path)
            // Closures passed straight to the calls (not kept in a variable) need no allocation.
            if box.hasExpectations {
                check(box, entry, capture: { self.captured($0, rule: r, pattern: p, plan: plan, in: path) },
                      findings: &findings, errors: &errors)
            }
            if box.hasAccess, access != nil {
                checkAccess(box, index: r, plan: plan, entry, parent: parent,
                            capture: { self.captured($0, rule: r, pattern: p, plan: plan, in: path) }, findings: &findings)
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
            if conditionsHold(rule, rule: r, pattern: p, plan: nil, path: path) { return p }
        }
        return nil
    }

    /// Whether what pattern `p` of rule `r` captured in `path` meets the rule's `where`.
    private func conditionsHold(_ rule: Rule, rule r: Int, pattern p: Int, plan: Int?, path: UnsafeBufferPointer<UInt8>) -> Bool {
        rule.conditions.allSatisfy { condition in
            let uid = captured(condition.capture, rule: r, pattern: p, plan: plan, in: path)?.uid
            switch condition.kind {
            case .isUser: return uid != nil
            case .memberOf(let gids): return uid.map { u in gids.contains { names.isMember(uid: u, ofGroup: $0) } } ?? false
            case .notMemberOf(let gids): return uid.map { u in !gids.contains { names.isMember(uid: u, ofGroup: $0) } } ?? true
            }
        }
    }

    private func check(_ box: RuleBox, _ entry: WalkEntry, capture: (String) -> ResolvedName?,
                       findings: inout [Finding], errors: inout [WalkError]) {
        let record = entry.record
        let rule = box.rule
        let e = rule.expect
        var path: HostPath?
        func report(_ kind: FindingKind, expected: String, actual: String) {
            if path == nil { path = HostPath(entry.path) }
            findings.append(Finding(rule: rule.id, severity: rule.severity, kind: kind, path: path!,
                                    expected: expected, actual: actual))
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
                errors.append(WalkError(path: HostPath(entry.path), syscall: call, errno: errno))
            case .failure(.decoding(let d)):
                errors.append(WalkError(path: HostPath(entry.path), message: d.description))
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
    /// Who rule `r` allows `right` (by index) for the entries of the directory whose plan is at depth
    /// `plan`, once an earlier entry of the directory worked it out.
    func plannedAllowed(plan: Int?, rule r: Int, right k: Int) -> UserSet? {
        guard let plan else { return nil }
        return plans[plan].allowed[r][k]
    }

    /// Remembers who rule `r` allows `right` for the rest of the directory whose plan is at depth `plan`.
    func rememberPlannedAllowed(_ set: UserSet, plan: Int?, rule r: Int, right k: Int) {
        guard let plan else { return }
        plans[plan].allowed[r][k] = set
    }
}
