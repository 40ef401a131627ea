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
    /// For each rule and pattern, the index of each capture name.
    private let captureIndexes: [[[String: Int]]]
    /// The rules, each in a box of this evaluator's own with patterns that share no storage with another
    /// thread's: reading a rule through its box copies nothing and touches no other core's counters.
    private final class RuleBox {
        let rule: Rule
        init(_ rule: Rule) {
            var copy = rule
            copy.patterns = rule.patterns.map { $0.isolatedCopy() }
            self.rule = copy
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

    /// `index` is shared with the evaluators of a parallel walk's other threads.
    init(baseline: Baseline, accounts: AccountDatabase, index: PrincipalIndex? = nil) {
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
        captureIndexes = baseline.rules.map { rule in
            rule.patterns.map { pattern in
                Dictionary(uniqueKeysWithValues: pattern.captureNames.enumerated().map { ($0.element, $0.offset) })
            }
        }
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

    /// What a capture of rule `r`, pattern `p` bound in `path`, resolved.
    func captured(_ name: String, rule r: Int, pattern p: Int, in path: UnsafeBufferPointer<UInt8>) -> ResolvedName? {
        guard let i = captureIndexes[r][p][name], let bytes = captureBuffers[r][p].value(i, in: path) else { return nil }
        return names.resolve(bytes)
    }

    /// Every broken `expect` assertion and every disallowed access of every rule that matches the entry.
    /// Capability reads that fail are returned as errors.
    func evaluate(_ entry: WalkEntry, parent: AccessContext?, own: AccessContext?,
                           findings: inout [Finding], errors: inout [WalkError]) {
        let record = entry.record
        if let own, record.defaultACL != nil { inheritedAccess(entry, directory: own, findings: &findings) }
        segments.load(entry.path)
        let bit = Self.typeBit(record.type)
        for r in boxes.indices where typeMasks[r] & bit != 0 {
            let box = boxes[r]
            guard let p = matchingPattern(box.rule, index: r, path: entry.path, segments: segments) else { continue }
            lint?.matched(rule: r, path: entry.path)
            let capture: (String) -> ResolvedName? = { self.captured($0, rule: r, pattern: p, in: entry.path) }
            if !box.rule.expect.isEmpty { check(box.rule, entry, capture: capture, findings: &findings, errors: &errors) }
            if let accessRule = box.rule.access, access != nil {
                checkAccess(box.rule, index: r, accessRule, entry, parent: parent, capture: capture, findings: &findings)
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
            if rule.conditions.isEmpty { return p }
            let holds = rule.conditions.allSatisfy { condition in
                let uid = captured(condition.capture, rule: r, pattern: p, in: path)?.uid
                switch condition.kind {
                case .isUser: return uid != nil
                case .memberOf(let gids): return uid.map { u in gids.contains { names.isMember(uid: u, ofGroup: $0) } } ?? false
                case .notMemberOf(let gids): return uid.map { u in !gids.contains { names.isMember(uid: u, ofGroup: $0) } } ?? true
                }
            }
            if holds { return p }
        }
        return nil
    }

    private func check(_ rule: Rule, _ entry: WalkEntry, capture: (String) -> ResolvedName?,
                       findings: inout [Finding], errors: inout [WalkError]) {
        let record = entry.record
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
