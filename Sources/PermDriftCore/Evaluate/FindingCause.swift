/// The cause of an access finding: the entry where the access first opens. Walking the finding's chain
/// from `/`, that is the first directory the principal searches through although the baseline does not
/// allow it to (the scan has an `access` finding for that principal executing that directory); when no
/// step before the last is such a directory, it is the entry that grants the right on the path itself.
/// A `replace via ENTRY` step's cause is ENTRY (the write on the directory). Reports group by the cause
/// (README, "Reports").
extension Finding {
    /// `findings` with `cause` set on every access finding.
    public static func withCauses(_ findings: [Finding]) -> [Finding] {
        var searches = Set<SearchKey>()
        for f in findings where f.kind == .access && f.right == AccessRight.execute.rawValue {
            if let p = f.principal { searches.insert(SearchKey(path: f.path, principal: p)) }
        }
        return findings.map { f in
            guard f.isAccess, let via = f.via, let last = via.last else { return f }
            var found = last
            if let p = f.principal {
                for step in via.dropLast() where step.path != f.path && searches.contains(SearchKey(path: step.path, principal: p)) {
                    found = step
                    break
                }
            }
            var caused = f
            caused.cause = causeStep(found)
            return caused
        }
    }

    /// The entry of a step as a cause: without `replace via` and without the step's note.
    static func causeStep(_ step: AccessStep) -> AccessStep {
        let prefix = "replace via "
        let entry = step.entry.hasPrefix(prefix) ? String(step.entry.dropFirst(prefix.count)) : step.entry
        return AccessStep(entry: entry, path: step.path)
    }

    private struct SearchKey: Hashable {
        let path: HostPath
        let principal: String
    }
}
