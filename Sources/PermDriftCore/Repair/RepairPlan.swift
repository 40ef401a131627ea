/// What `permdrift fix` would do about a scan's findings (README, "Repair"; docs/design.md, "Repair"):
/// per path, the exact changes that restore what the rules ask, each once however many findings lead to
/// it, with the inode facts the apply step checks first; and what it cannot repair, with the reason and
/// what an admin would do. Access findings are repaired through their cause (`Finding.cause`): the
/// change to the cause's entry when that entry's own finding is repairable. Building a plan reads nothing
/// and changes nothing.
public struct RepairPlan: Sendable {
    /// One path block per path, in path order.
    public var paths: [PathPlan]
    /// Whether the scan read every path: an incomplete scan's plan leaves out what it could not see.
    public var isComplete: Bool
    /// The scan's findings (listed and not), for the plan's summary.
    public var findingCount: Int
    /// Findings the scan counted but did not list (beyond the per-rule limit): not in the plan.
    public var omitted: Int

    public var isEmpty: Bool { paths.isEmpty && omitted == 0 }
    public var actions: [RepairAction] { paths.flatMap(\.actions) }
    public var unrepairable: [Unrepairable] { paths.flatMap(\.unrepairable) }

    /// The plan for a scan's findings.
    public init(_ result: ScanResult) {
        var builder = Builder()
        let findings = Finding.withCauses(result.findings)
        for f in findings where !f.isAccess { builder.add(f) }
        for f in findings where f.isAccess { builder.addAccess(f) }
        paths = builder.pathPlans()
        isComplete = result.isComplete
        findingCount = result.findingCount
        omitted = result.omitted.values.reduce(0, +)
    }
}

/// What the plan holds for one path.
public struct PathPlan: Sendable {
    public var path: HostPath
    /// The scan's facts of the inode (nil when nothing on the path is repairable).
    public var inode: InodeFacts?
    public var actions: [RepairAction]
    public var unrepairable: [Unrepairable]
}

/// One change to one inode, and the findings it repairs.
public struct RepairAction: Sendable {
    public enum Change: Sendable, Hashable {
        case mode(from: UInt32, to: UInt32)
        /// Named entries (and a mask no longer needed) removed; `leaves` is the ACL afterwards.
        case removeACLEntries([PosixACL.Entry], leaves: PosixACL)
        /// The whole access ACL replaced; nil: no extended ACL (the mode bits alone).
        case setACL(from: PosixACL, to: PosixACL?)
        case removeDefaultACLEntries([PosixACL.Entry], leaves: PosixACL)
        /// The whole default ACL replaced; nil: removed.
        case setDefaultACL(from: PosixACL?, to: PosixACL?)
        case owner(from: UInt32, to: UInt32)
        case group(from: UInt32, to: UInt32)
        case removeCapabilities
    }

    public var path: HostPath
    public var change: Change
    /// What the apply step checks before making the change: the inode must still be the one the scan saw.
    public var inode: InodeFacts
    /// Why the change is refused (it is shown, never made), or nil.
    public var refusal: String?
    /// The findings of the path itself that the change repairs.
    public var findings: [Finding]
    /// The access findings whose cause this change removes.
    public var access: [Finding]
}

/// Findings the plan cannot repair: why, and what an admin would do.
public struct Unrepairable: Sendable {
    public var path: HostPath
    public var findings: [Finding]
    public var reason: String
    public var advice: String
}

extension RepairPlan {
    /// The kinds of change a cause's entry is repaired by, best first: a named or default entry by an ACL
    /// change, a mode-bit entry by a mode change (else the ACL), the owner's entry by an owner change.
    static func changeOrder(forEntry entry: String) -> [String] {
        if entry.hasPrefix("default:") { return ["default-acl"] }
        if entry.hasPrefix("user::") { return ["owner", "mode", "acl"] }
        if entry.hasPrefix("group::") { return ["mode", "acl", "group"] }
        if entry.hasPrefix("other::") { return ["mode", "acl"] }
        return ["acl", "mode"]
    }

    struct Builder {
        var actions: [RepairAction] = []
        var unrepairable: [Unrepairable] = []

        mutating func add(_ f: Finding) {
            if f.kind == .baselineRejected { return }
            guard f.path.shortenedFrom == nil else {
                cannot(
                    f, "the path is longer than a report holds, so it is not known exactly",
                    "find it (find -inum) and repair it by hand")
                return
            }
            guard let basis = f.repair, let change = Self.change(basis) else {
                let (reason, advice) = Self.explain(f)
                cannot(f, reason, advice)
                return
            }
            if let i = actions.firstIndex(where: { $0.path == f.path && $0.change == change }) {
                actions[i].findings.append(f)
                return
            }
            actions.append(
                RepairAction(
                    path: f.path, change: change, inode: InodeFacts(basis.record),
                    refusal: Self.refusal(change, basis), findings: [f], access: []))
        }

        mutating func addAccess(_ f: Finding) {
            guard let cause = f.cause else {
                cannot(f, "permdrift does not know which entry grants this access", "run permdrift explain on the path")
                return
            }
            for kind in RepairPlan.changeOrder(forEntry: cause.entry) {
                if let i = actions.firstIndex(where: { $0.path == cause.path && $0.change.kind == kind }) {
                    actions[i].access.append(f)
                    return
                }
            }
            let reason =
                "its cause, \(TerminalText.escape(cause.entry)) on \(cause.path), is not a drift permdrift can repair (no rule's finding on that path changes it)"
            let entry = cause.entry.hasPrefix("default:") ? String(cause.entry.dropFirst(8)) : cause.entry
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            let advice: String
            if parts.count == 3, parts[0] == "group", !parts[1].isEmpty {
                advice =
                    "the access comes through membership in group \(TerminalText.escape(String(parts[1]))): remove the principal from that group (gpasswd -d), change that entry, or approve the access in the baseline"
            } else {
                advice =
                    "change that entry (chmod or setfacl on the entry itself, not through a path an agent can swap), or approve the access in the baseline"
            }
            if let i = unrepairable.firstIndex(where: { $0.path == cause.path && $0.reason == reason }) {
                unrepairable[i].findings.append(f)
            } else {
                unrepairable.append(Unrepairable(path: cause.path, findings: [f], reason: reason, advice: advice))
            }
        }

        mutating func cannot(_ f: Finding, _ reason: String, _ advice: String) {
            if let i = unrepairable.firstIndex(where: { $0.path == f.path && $0.reason == reason }) {
                unrepairable[i].findings.append(f)
            } else {
                unrepairable.append(Unrepairable(path: f.path, findings: [f], reason: reason, advice: advice))
            }
        }

        func pathPlans() -> [PathPlan] {
            var byPath = [HostPath: PathPlan]()
            for a in actions {
                byPath[a.path, default: PathPlan(path: a.path, inode: a.inode, actions: [], unrepairable: [])].actions.append(a)
            }
            for u in unrepairable {
                byPath[u.path, default: PathPlan(path: u.path, inode: nil, actions: [], unrepairable: [])].unrepairable.append(u)
            }
            return byPath.values.sorted { $0.path < $1.path }
        }

        /// The change that gives the entry what the rule asks; nil when there is none to make.
        static func change(_ basis: RepairBasis) -> RepairAction.Change? {
            let record = basis.record
            switch basis.target {
            case .owner(let uid): return record.uid == uid ? nil : .owner(from: record.uid, to: uid)
            case .group(let gid): return record.gid == gid ? nil : .group(from: record.gid, to: gid)
            case .mode(let spec):
                // Exactly the 12 bits an exact mode names; under a `<=` mode, the excess bits cleared.
                let to: UInt32
                switch spec {
                case .exact(let m): to = m & 0o7777
                case .atMost(let m): to = record.mode & m & 0o7777
                }
                return to == record.mode ? nil : .mode(from: record.mode, to: to)
            case .acl(let spec):
                let actual = record.effectiveACL
                guard let expected = spec.exactACL else {
                    guard let extended = record.acl else { return nil }
                    let minimal = extended.baseEntries
                    let named = extended.entries.filter { $0.tag == .user || $0.tag == .group }
                    return named.isEmpty ? .setACL(from: extended, to: nil) : .removeACLEntries(named, leaves: minimal)
                }
                if actual == expected { return nil }
                if let removed = removal(from: actual, to: expected) { return .removeACLEntries(removed, leaves: expected) }
                return .setACL(from: actual, to: expected)
            case .defaultACL(let spec):
                guard let expected = spec.exactACL else {
                    return record.defaultACL == nil ? nil : .setDefaultACL(from: record.defaultACL, to: nil)
                }
                guard let actual = record.defaultACL else { return .setDefaultACL(from: nil, to: expected) }
                if actual == expected { return nil }
                if let removed = removal(from: actual, to: expected) { return .removeDefaultACLEntries(removed, leaves: expected) }
                return .setDefaultACL(from: actual, to: expected)
            case .noCapabilities: return .removeCapabilities
            }
        }

        /// The named entries to remove when `actual` is `expected` plus named entries (and a mask the
        /// expected ACL may not have); nil when it is not.
        static func removal(from actual: PosixACL, to expected: PosixACL) -> [PosixACL.Entry]? {
            let want = Set(expected.entries)
            guard want.isSubset(of: Set(actual.entries)) else { return nil }
            let extra = actual.entries.filter { !want.contains($0) }
            guard extra.allSatisfy({ $0.tag == .user || $0.tag == .group || ($0.tag == .mask && expected.mask == nil) }) else {
                return nil
            }
            let named = extra.filter { $0.tag != .mask }
            return named.isEmpty ? nil : named
        }

        /// Why an owner or group change is refused: it would hand over what another name reaches, or the
        /// inode is of a type the rule does not name (a rule without `type:` names files and directories).
        static func refusal(_ change: RepairAction.Change, _ basis: RepairBasis) -> String? {
            let record = basis.record
            if record.type != .directory, record.links > 1 {
                return
                    "the inode has \(record.links) links: another name reaches the same file, perhaps one outside the scan roots (a root file hard-linked here), and changing its \(change.kind) would change it there too; an admin would find every name of the inode (find -samefile) and remove the one that should not be there first"
            }
            let before = InodeState(record)
            if let refused = before.privilegeRefusal(to: before.with(change, type: record.type), type: record.type) { return refused }
            switch change {
            case .owner, .group: break
            default: return nil
            }
            let named = basis.ruleTypes ?? [.file, .directory]
            if !named.contains(record.type) {
                let list = named.map(\.rawValue).sorted().joined(separator: ", ")
                return
                    "the entry is a \(record.type.rawValue), which the rule does not name (\(list)); an admin would find out what it is before changing it"
            }
            return nil
        }

        /// The reason a finding cannot be repaired, and what an admin would do.
        static func explain(_ f: Finding) -> (String, String) {
            let e = TerminalText.escape
            switch f.kind {
            case .links:
                return (
                    "\(e(f.actual)) links where the rule expects \(e(f.expected)): another name reaches this inode, and no change to the inode removes that name",
                    "find the other names (find / -xdev -samefile on the path) and remove the one that should not exist"
                )
            case .pinMissing:
                return (
                    "the pinned path is missing (\(e(f.actual)))",
                    "restore it from a backup or its package (dpkg -S, apt reinstall), or remove the pin if it was retired"
                )
            case .pin:
                if f.actual.hasPrefix("type ") || f.actual.contains(", type ") {
                    return (
                        "the pinned path is of another type (\(e(f.actual)); the pin: \(e(f.expected)))",
                        "replace it from a trusted source; permdrift never replaces an entry"
                    )
                }
                return (
                    "pinned state differs (\(e(f.actual)); the pin: \(e(f.expected))); this version plans no pin repairs",
                    "restore what the pin says on the entry itself, or update the pin if the change was approved"
                )
            case .type:
                return (
                    "the entry is of another type (\(e(f.actual)))", "replace it from a trusted source; permdrift never replaces an entry"
                )
            case .owner, .group:
                return (
                    "the rule's expected \(f.kind.rawValue) is not one known account (\(e(f.expected)))",
                    "create the account or correct the baseline"
                )
            default:
                return ("permdrift has no repair for a \(f.kind.rawValue) finding", "restore it by hand")
            }
        }
    }
}

extension RepairAction.Change {
    /// The finding kind this change repairs (`owner`, `mode`, `acl`…).
    public var kind: String {
        switch self {
        case .mode: "mode"
        case .removeACLEntries, .setACL: "acl"
        case .removeDefaultACLEntries, .setDefaultACL: "default-acl"
        case .owner: "owner"
        case .group: "group"
        case .removeCapabilities: "capabilities"
        }
    }
}
