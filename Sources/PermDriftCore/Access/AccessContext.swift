import Synchronization

/// What a directory means for reaching the entries below it, carried down the walk: who can search every
/// directory from `/` through this one, and who can create, delete and rename entries in it.
final class AccessContext {
    /// A number no other context of this process has (cache keys must not outlive a freed context).
    let serial: Int
    private static let nextSerial = Atomic<Int>(0)
    let parent: AccessContext?
    /// The length of the directory's path: the path of every entry below it starts with that many bytes
    /// of it (a context holds no copy of its path, so a deep tree costs no more than its depth).
    let pathLength: Int
    let record: FileRecord
    /// Users with search on every directory from `/` through this one.
    let searchers: UserSet
    /// Users who reach this directory and may write in it (write plus search): they can replace entries.
    let modifiers: UserSet
    /// Users who own or are named in an ACL entry of this directory or one above it. They are reported
    /// where they appear even without an account the database lists (ids with no account at all, and
    /// directory users NSS does not enumerate).
    let named: UserSet
    /// How many directories are above this one.
    let depth: Int
    /// The first `topAncestors` directories from `/` down (of those above this one), so that a finding
    /// deep in a chain is explained from both ends without a walk through every level (shared, not
    /// copied, below that depth).
    let ancestorsFromTop: [AccessContext]
    static let topAncestors = 16

    init(parent: AccessContext?, pathLength: Int, record: FileRecord, check: AccessCheck) {
        serial = AccessContext.nextSerial.add(1, ordering: .relaxed).newValue
        self.parent = parent
        depth = parent.map { $0.depth + 1 } ?? 0
        if let parent {
            ancestorsFromTop = parent.depth < Self.topAncestors ? parent.ancestorsFromTop + [parent] : parent.ancestorsFromTop
        } else {
            ancestorsFromTop = []
        }
        self.pathLength = pathLength
        self.record = record
        let reach = parent?.searchers ?? .everyone
        // A set equal to the parent's is the parent's (one buffer shared down a chain, not one per level).
        func shared(_ set: UserSet, _ parentSet: UserSet?) -> UserSet {
            if let parentSet, parentSet == set { return parentSet }
            return set
        }
        searchers = shared(reach.intersection(check.granted(record, bits: 1)), parent?.searchers)
        // Creating, deleting and renaming entries ask for write and search in one check.
        modifiers = shared(reach.intersection(check.granted(record, bits: 3)), parent?.modifiers)
        named = shared((parent?.named ?? .empty).union(AccessContext.named(on: record, index: check.index)), parent?.named)
    }

    var isSticky: Bool { record.mode & 0o1000 != 0 }

    /// The directories from `/` down to this one.
    var chain: [AccessContext] {
        var out = [AccessContext]()
        var node: AccessContext? = self
        while let n = node { out.append(n); node = n.parent }
        return out.reversed()
    }

    static func named(on record: FileRecord, index: PrincipalIndex) -> UserSet {
        var set = index.user(record.uid)
        if let acl = record.acl {
            for e in acl.entries where e.tag == .user { set = set.union(index.user(e.id)) }
        }
        return set
    }
}
