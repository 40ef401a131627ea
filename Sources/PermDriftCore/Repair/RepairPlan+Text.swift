/// The plan as `permdrift fix` prints it: per path, the inode facts, the changes with the findings they
/// repair, and what cannot be repaired. Every name and path is escaped (`TerminalText`).
extension RepairPlan {
    /// The plan; `applying`: it is about to be applied (`--apply`), so it does not end "Nothing was changed".
    public func text(accounts: AccountDatabase, applying: Bool = false) -> String {
        text(userName: { accounts.userName($0) }, groupName: { accounts.groupName($0) }, applying: applying)
    }

    public func text(userName: @escaping (UInt32) -> String?, groupName: @escaping (UInt32) -> String?, applying: Bool = false) -> String {
        let names = Names(user: userName, group: groupName)
        var out = [applying ? "permdrift fix --apply: the plan." : "permdrift fix: the plan; nothing is changed without --apply."]
        if !isComplete {
            out.append("The scan is incomplete: paths it could not read are not in this plan, which cannot be trusted to be whole.")
        }
        for p in paths {
            out.append("")
            out.append("\(p.path)")
            if let inode = p.inode { out.append("  the scan saw: \(inode) (a repair checks these first)") }
            for a in p.actions { out += lines(a, names) }
            for u in p.unrepairable {
                out.append("  cannot repair: \(u.reason)")
                out.append("    \(Self.findingsLine(u.findings))")
                out.append("    an admin would: \(u.advice)")
            }
        }
        out.append("")
        let changes = actions.filter { $0.refusal == nil }.count
        let refused = actions.count - changes
        let cannot = unrepairable.reduce(0) { $0 + $1.findings.count }
        var summary =
            "\(count(changes, "change")) on \(count(Set(actions.filter { $0.refusal == nil }.map(\.path)).count, "path")), \(refused) refused, \(count(cannot, "finding")) it cannot repair; \(count(findingCount, "finding")) in all."
        if omitted > 0 { summary += " \(count(omitted, "finding")) beyond the report's limit are not in the plan." }
        out.append(applying ? summary : summary + " Nothing was changed.")
        return out.joined(separator: "\n") + "\n"
    }

    struct Names {
        let user: (UInt32) -> String?
        let group: (UInt32) -> String?

        func acl(_ acl: PosixACL) -> String { TerminalText.escape(acl.text(userName: user, groupName: group)) }
        func entries(_ entries: [PosixACL.Entry]) -> String { acl(PosixACL(entries: entries)) }
        func userDisplay(_ uid: UInt32) -> String { TerminalText.escape(user(uid) ?? "uid:\(uid)") }
        func groupDisplay(_ gid: UInt32) -> String { TerminalText.escape(group(gid) ?? "gid:\(gid)") }
    }

    func lines(_ a: RepairAction, _ n: Names) -> [String] {
        var out = ["  " + (a.refusal == nil ? "" : "REFUSED: ") + Self.describe(a.change, n)]
        if let refusal = a.refusal { out.append("    why: \(refusal)") }
        if let detail = Self.detail(a.change, n) { out.append("    \(detail)") }
        if !a.findings.isEmpty { out.append("    \(Self.findingsLine(a.findings))") }
        if !a.access.isEmpty {
            var rights = [String: Set<String>]()
            for f in a.access { rights[f.principal ?? "?", default: []].insert(f.right ?? "?") }
            let who = rights.keys.sorted().map { "\(TerminalText.escape($0)) (\(rights[$0]!.sorted().joined(separator: ", ")))" }
            let paths = Set(a.access.map(\.path)).count
            out.append(
                "    removes the cause of \(count(a.access.count, "access finding")) on \(count(paths, "path")): \(who.joined(separator: "; "))"
            )
        }
        return out
    }

    /// `mode 0644 → 0600`, `remove ACL entry user:agent-bo:r-x`, `owner agent-bo → agent-ada`…
    static func describe(_ change: RepairAction.Change, _ n: Names) -> String {
        switch change {
        case .mode(let from, let to): return "mode \(ModeSpec.octal(from)) → \(ModeSpec.octal(to))"
        case .removeACLEntries(let e, _): return "remove ACL \(e.count == 1 ? "entry" : "entries") \(n.entries(e))"
        case .setACL(_, let to): return to.map { "set ACL to \(n.acl($0))" } ?? "remove the extended ACL"
        case .removeDefaultACLEntries(let e, _): return "remove default ACL \(e.count == 1 ? "entry" : "entries") \(n.entries(e))"
        case .setDefaultACL(_, let to): return to.map { "set default ACL to \(n.acl($0))" } ?? "remove the default ACL"
        case .owner(let from, let to): return "owner \(n.userDisplay(from)) → \(n.userDisplay(to))"
        case .group(let from, let to): return "group \(n.groupDisplay(from)) → \(n.groupDisplay(to))"
        case .removeCapabilities: return "remove security.capability"
        }
    }

    static func detail(_ change: RepairAction.Change, _ n: Names) -> String? {
        switch change {
        case .removeACLEntries(_, let leaves), .removeDefaultACLEntries(_, let leaves):
            return leaves.isMinimal ? "leaves no extended ACL (\(n.acl(leaves)))" : "leaves \(n.acl(leaves))"
        case .setACL(let from, _): return "was \(n.acl(from))"
        case .setDefaultACL(let from, _): return "was \(from.map(n.acl) ?? "none")"
        default: return nil
        }
    }

    /// `repairs: acl (rule agent-homes), mode (rule agent-homes)`.
    static func findingsLine(_ findings: [Finding]) -> String {
        var seen = Set<String>()
        var parts = [String]()
        for f in findings {
            let part: String
            if f.isAccess {
                part = "\(f.kind.rawValue): \(TerminalText.escape(f.principal ?? "?")) can \(f.right ?? "?") \(f.path)"
            } else {
                part = "\(f.kind.rawValue) (rule \(TerminalText.escape(f.rule)))"
            }
            if seen.insert(part).inserted { parts.append(part) }
        }
        return "findings: " + parts.joined(separator: "; ")
    }

    func count(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
}

extension RepairPlan.Names {
    /// Numbers for users and groups (the journal's form, which must not depend on a name service).
    static var numeric: RepairPlan.Names { RepairPlan.Names(user: { _ in nil }, group: { _ in nil }) }
}
