/// Evaluates `access` rules: for each right a rule names, every user who has it on the path — reach
/// (search on every directory from `/`), the ACL check on the object, and for write also replacing the
/// entry through its directory — minus the principals the rule allows and root. Each such user is a
/// finding that names the entries granting the access at each step.
final class AccessEvaluator {
    let index: PrincipalIndex
    let check: AccessCheck
    private struct GrantKey: Hashable {
        let mode: UInt32, uid: UInt32, gid: UInt32, type: FileType, acl: PosixACL?
    }
    private var grantCache: [GrantKey: [UserSet]] = [:]
    private struct HoldersKey: Hashable {
        let context: Int
        let grant: GrantKey
    }
    /// Holders of read, write and execute per directory context and distinct object tuple: entries of one
    /// directory mostly share their tuple, so each is computed once.
    private var holdersCache: [HoldersKey: [UserSet]] = [:]
    private var lastHolders: (key: HoldersKey, value: [UserSet])?
    struct AllowedKey: Hashable {
        let rule: Int
        let right: AccessRight
        let captures: [UInt32]
    }
    private var allowedCache: [AllowedKey: UserSet] = [:]

    /// `index` is shared by the evaluators of a parallel walk's threads.
    init(accounts: AccountDatabase, index: PrincipalIndex? = nil) {
        let index = index ?? PrincipalIndex(accounts: accounts)
        self.index = index
        check = AccessCheck(index: index)
    }

    /// The context of a directory whose path is `pathLength` bytes long (a prefix of every path below it).
    func context(parent: AccessContext?, pathLength: Int, record: FileRecord) -> AccessContext {
        AccessContext(parent: parent, pathLength: pathLength, record: record, check: check)
    }

    /// Grants of read, write and execute on an object (for a directory, write needs search as well).
    private func grants(_ record: FileRecord) -> [UserSet] {
        let key = GrantKey(mode: record.mode, uid: record.uid, gid: record.gid, type: record.type, acl: record.acl)
        if let cached = grantCache[key] { return cached }
        // On a directory, write means creating and deleting entries: write and search in one check.
        let value = [
            check.granted(record, bits: 4), check.granted(record, bits: record.type == .directory ? 3 : 2),
            check.granted(record, bits: 1)
        ]
        grantCache[key] = value
        return value
    }

    /// Holders of all three rights (read, write, execute), cached per directory context and object tuple.
    func holders(record: FileRecord, parent: AccessContext?) -> [UserSet] {
        let grant = GrantKey(mode: record.mode, uid: record.uid, gid: record.gid, type: record.type, acl: record.acl)
        let key = HoldersKey(context: parent?.serial ?? 0, grant: grant)
        // Consecutive entries of a directory mostly have the same tuple: compared before anything is hashed.
        if let last = lastHolders, last.key == key { return last.value }
        if let cached = holdersCache[key] {
            lastHolders = (key, cached)
            return cached
        }
        // Most entries of a directory share its context and one of few tuples; a directory with many
        // subdirectories (each a context of its own) must not make the cache hold one per subdirectory.
        if holdersCache.count > 8192 { holdersCache.removeAll(keepingCapacity: true) }
        let value = AccessRight.allCases.map { holders($0, record: record, parent: parent) }
        holdersCache[key] = value
        lastHolders = (key, value)
        return value
    }

    /// `allowed`, remembered per rule, right and the uids its captures named.
    func allowedCached(_ key: AllowedKey, _ specs: [PrincipalSpec], capture: (String) -> ResolvedName?) -> (set: UserSet, missing: [String])
    {
        if let cached = allowedCache[key] { return (cached, []) }
        let result = allowed(specs, capture: { capture($0)?.text })
        if result.missing.isEmpty {
            if allowedCache.count > 100_000 { allowedCache.removeAll(keepingCapacity: true) }
            allowedCache[key] = result.set
        }
        return result
    }

    /// Users who have `right` on an entry of the directory `parent` (`nil` above `/`: everyone reaches `/`).
    func holders(_ right: AccessRight, record: FileRecord, parent: AccessContext?) -> UserSet {
        // A symlink's own bits mean nothing: it cannot be read, written or run as itself (what it points
        // at is another path), but whoever can replace entries in its directory can replace it.
        if record.type == .symlink { return right == .write ? replacers(of: record, in: parent) : .empty }
        let g = grants(record)
        let reach = parent?.searchers ?? .everyone
        switch right {
        case .read: return reach.intersection(g[0])
        case .execute: return reach.intersection(g[2])
        case .write:
            return reach.intersection(g[1]).union(replacers(of: record, in: parent))
        }
    }

    /// Users who have `right` through the object's own ACL (and reach), not by replacing it.
    func objectHolders(_ right: AccessRight, record: FileRecord, parent: AccessContext?) -> UserSet {
        if record.type == .symlink { return .empty }
        let g = grants(record)
        let k = right == .read ? 0 : (right == .write ? 1 : 2)
        return (parent?.searchers ?? .everyone).intersection(g[k])
    }

    /// Users who can unlink or rename the entry: write and search on its directory, unless the directory
    /// is sticky and they own neither the entry nor the directory.
    func replacers(of record: FileRecord, in parent: AccessContext?) -> UserSet {
        guard let parent else { return .empty }
        guard parent.isSticky else { return parent.modifiers }
        return parent.modifiers.intersection(index.user(record.uid).union(index.user(parent.record.uid)))
    }

    /// Who a rule allows: its principals (a capture naming no user allows nobody) and root.
    func allowed(_ specs: [PrincipalSpec], capture: (String) -> String?) -> (set: UserSet, missing: [String]) {
        var set = index.root
        var missing = [String]()
        for spec in specs {
            switch spec {
            case .user(let uid): set = set.union(index.user(uid))
            case .group(let gid): set = set.union(index.members(of: gid))
            case .capture(let name):
                if let value = capture(name), let uid = index.accounts.uid(named: value) {
                    set = set.union(index.user(uid))
                } else {
                    missing.append("{\(name)}=\(TerminalText.escape(capture(name) ?? "?"))")
                }
            }
        }
        return (set, missing)
    }

    /// Users to report for a path: those the account database lists, and any user who owns or is named on
    /// the path or a directory above it.
    func reportable(parent: AccessContext?, record: FileRecord) -> UserSet {
        index.accountUsers.union(parent?.named ?? .empty).union(AccessContext.named(on: record, index: index))
    }

    // MARK: - Explanations

    /// Search steps shown at most for one finding: a chain of directories thousands deep is explained in
    /// a bounded number of steps (runs of directories searched through the same entry are collapsed;
    /// beyond that the middle steps are counted).
    static let maxSearchSteps = 16

    /// The entry that lets `uid` search each directory from `/` through `directory`; `path` is the path
    /// of `directory` or of an entry below it (each directory's path is a prefix of it). More than three
    /// directories in a row searched through the same entry are one step for the first and one for the
    /// last; more than `maxSearchSteps` steps keep the first and the last ones and count the rest.
    func searchSteps(uid: UInt32, through directory: AccessContext?, path: UnsafeBufferPointer<UInt8>) -> [AccessStep] {
        guard let directory else { return [] }
        func pathOf(_ context: AccessContext) -> HostPath {
            HostPath(reporting: UnsafeBufferPointer(rebasing: path[0..<min(context.pathLength, path.count)]), limit: HostPath.stepLimit)
        }
        // The directories from `/` down, whole when there are few; else the first ones (kept by every
        // context) and the last ones, and the number between: a finding deep in a chain costs a bounded
        // number of steps to explain, however deep.
        let bottomCount = 2 * AccessContext.topAncestors
        var top = [AccessContext]()
        var bottom = [AccessContext]()
        var node: AccessContext? = directory
        while let n = node, bottom.count < bottomCount + AccessContext.topAncestors { bottom.append(n); node = n.parent }
        var between = 0
        if node != nil {
            bottom.removeLast(bottom.count - bottomCount)
            top = directory.ancestorsFromTop
            between = directory.depth + 1 - top.count - bottom.count
        }
        bottom.reverse()
        // Runs of directories with the same deciding entry: more than three in a row are shown by their
        // first and their last.
        func collapsed(_ contexts: [AccessContext]) -> [AccessStep] {
            var out = [AccessStep]()
            var i = 0
            while i < contexts.count {
                let entry = check.decidingEntry(contexts[i].record, uid: uid, bits: 1).entry
                var j = i + 1
                while j < contexts.count, check.decidingEntry(contexts[j].record, uid: uid, bits: 1).entry == entry { j += 1 }
                if j - i <= 3 {
                    for c in contexts[i..<j] { out.append(AccessStep(entry: entry, path: pathOf(c))) }
                } else {
                    out.append(
                        AccessStep(
                            entry: entry, path: pathOf(contexts[i]),
                            note: " (and the \(j - i - 2) directories below it, through the same entry)"))
                    out.append(AccessStep(entry: entry, path: pathOf(contexts[j - 1])))
                }
                i = j
            }
            return out
        }
        var steps = collapsed(top)
        if between > 0, let lastSkipped = bottom.first?.parent {
            steps.append(AccessStep(entry: "(\(between) more directories, the last)", path: pathOf(lastSkipped)))
        }
        steps += collapsed(bottom)
        guard steps.count > Self.maxSearchSteps else { return steps }
        let head = (Self.maxSearchSteps - 1) / 2
        let tail = Self.maxSearchSteps - 1 - head
        let skipped = steps.count - head - tail
        return Array(steps.prefix(head))
            + [AccessStep(entry: "(\(skipped) more steps)", path: steps[head].path, note: " … to the directory above the next step")]
            + Array(steps.suffix(tail))
    }

    /// The entries that give `uid` the right, step by step: search on each directory from `/` to the
    /// parent, then the entry deciding the right on the object (or, for write, the directory that lets
    /// the user replace it).
    func via(uid: UInt32, right: AccessRight, path: UnsafeBufferPointer<UInt8>, record: FileRecord, parent: AccessContext?) -> [AccessStep]
    {
        var steps = searchSteps(uid: uid, through: parent, path: path)
        let own = check.decidingEntry(record, uid: uid, bits: right == .write && record.type == .directory ? 3 : right.bit)
        let objectGrants = record.type != .symlink && own.grants
        if objectGrants || right != .write {
            steps.append(AccessStep(entry: own.entry, path: HostPath(reporting: path, limit: HostPath.stepLimit)))
        } else if let parent {
            let dir = check.decidingEntry(parent.record, uid: uid, bits: 3).entry
            let why = parent.isSticky ? "sticky, and \(index.accounts.userDisplay(uid)) owns the entry or the directory" : "not sticky"
            steps.append(
                AccessStep(
                    entry: "replace via \(dir)",
                    path: HostPath(
                        reporting: UnsafeBufferPointer(rebasing: path[0..<min(parent.pathLength, path.count)]),
                        limit: HostPath.stepLimit),
                    note: " (\(why))"))
        }
        return steps
    }
}
