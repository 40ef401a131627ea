import Glibc
import PermDriftCore
import PermDriftTestSupport
import Testing

/// "ACL parity with `getfacl -n` on a randomly generated tree (every entry's access and default ACL equal
/// to getfacl's)": a seeded random tree with hostile names, random modes and owners, access ACLs set every
/// way setfacl can set them, default ACLs (and what children inherit from them), FIFOs, devices, hard
/// links, symlinks and a chain deeper than the walker's descriptor budget. The walker's view of it must be
/// exactly getfacl's and find's.
@Suite("ACL parity with getfacl -n")
struct ACLParityTests {
    @Test(
        "every entry's access and default ACL equal getfacl's, and the walk sees exactly what find lists",
        .enabled(if: geteuid() == 0, "needs root to set ACLs with arbitrary ids, chown and mknod"))
    func parityWithGetfacl() throws {
        let seed = Self.seed()
        print("ACLParityTests: seed \(seed) (run again with PERMDRIFT_TEST_SEED=\(seed) to rebuild this tree)")
        let tmp = try makeTemporaryDirectory(prefix: "permdrift-acl-parity")
        defer { removeTree(tmp) }

        var tree = RandomTree(root: Array(tmp.utf8), seed: seed)
        try tree.build()
        let context = Comment(rawValue: "seed \(seed)")

        // The tree must actually exercise what this test is about, or its passing means nothing.
        #expect(tree.accessACLsSet >= 60, context)
        #expect(tree.defaultACLsSet >= 10, context)
        #expect(tree.count(.fifo) >= 3, context)
        #expect(tree.count(.symlink) >= 10, context)
        #expect(tree.count(.hardLink) >= 3, context)
        #expect(tree.maxDepth > Walker.Options().maxOpenDirectories, context)

        let listed = try findListing(treeAt: tmp)
        let getfacl = try getfaclListing(treeAt: tmp)
        #expect(listed.count >= 280, context)
        #expect(listed.values.contains { $0.type == UInt8(ascii: "c") } || tree.count(.device) == 0, context)

        // Every ctime must be at least two seconds old for the listed way of reading (one listing of
        // attribute names, one statx) to be taken; younger entries are read the careful way.
        sleep(3)
        // Six walks: parallel with the default descriptor budget; one thread with the smallest budget
        // (which reopens every ancestor through `..` on the way back up); two threads with the smallest
        // budget; reading ACLs through /proc/self/fd as kernels without getxattrat do; every entry read the
        // careful way (statx, attributes, statx again); and one thread with defaults. All must see the
        // same tree.
        var walks = [[HostPath: FileRecord]]()
        let variants: [(String, Walker.Options)] = [
            ("default (\(Walker.Options.defaultThreads) threads)", Walker.Options(threads: max(2, Walker.Options.defaultThreads))),
            ("1 thread, 2 descriptors", Walker.Options(maxOpenDirectories: 2, threads: 1)),
            ("2 threads, 2 descriptors", Walker.Options(maxOpenDirectories: 2, threads: 2)),
            ("proc fallback", Walker.Options(forceProcFallback: true)),
            ("careful reads", Walker.Options(forceCarefulReads: true)),
            ("1 thread", Walker.Options(threads: 1))
        ]
        for (name, options) in variants {
            var walker = Walker(rootDirectory: tmp, options: options)
            var visitor = ParityVisitor()
            try walker.walk(roots: [HostPath("/tree")], visitor: &visitor)
            let budget = "\(name), seed \(seed)"
            #expect(visitor.errors.isEmpty, "\(budget): \(visitor.errors)")
            #expect(visitor.skipped.isEmpty, "\(budget)")
            #expect(visitor.duplicates.isEmpty, "visited twice (\(budget)): \(visitor.duplicates)")
            #expect(visitor.ancestors == [HostPath("/")], "\(budget)")
            #expect(walker.entriesVisited == listed.count, "\(budget)")
            if options.forceCarefulReads {
                #expect(walker.listedReads == 0, "\(budget)")
            } else {
                // Nearly every entry is old enough to be read the listed way (tmpfs and ext4 qualify).
                #expect(
                    walker.listedReads * 10 >= walker.entriesVisited * 9,
                    "\(budget): \(walker.listedReads) of \(walker.entriesVisited) listed")
            }
            walks.append(visitor.records)
        }
        for (i, walk) in walks.enumerated().dropFirst() {
            #expect(walks[0] == walk, "\(variants[i].0) differs from \(variants[0].0), \(context.rawValue)")
        }
        let records = walks[0]

        // The walk neither misses nor invents entries.
        let walked = Set(records.keys)
        let found = Set(listed.keys)
        #expect(walked.subtracting(found).sorted() == [], "walked but not listed by find (\(context.rawValue))")
        #expect(found.subtracting(walked).sorted() == [], "listed by find but not walked (\(context.rawValue))")

        // What find says of every entry: type, permission bits, owner, group, links.
        for (path, entry) in listed.sorted(by: { $0.key < $1.key }) {
            guard let record = records[path] else { continue }
            let at = "\(path) (seed \(seed))"
            #expect(Self.findType(record.type) == entry.type, "type of \(at)")
            #expect(record.mode == entry.mode, "mode of \(at)")
            #expect(record.uid == entry.uid && record.gid == entry.gid, "owner of \(at)")
            #expect(record.links == entry.links, "links of \(at)")
        }

        // Symlinks: getfacl -P never reports them, and permdrift reports no ACL for them.
        let symlinks = Set(records.filter { $0.value.type == .symlink }.keys)
        #expect(symlinks.count == tree.count(.symlink), context)
        for path in symlinks.sorted() {
            #expect(records[path]?.acl == nil, "ACL reported for symlink \(path) (seed \(seed))")
            #expect(records[path]?.defaultACL == nil, "default ACL reported for symlink \(path) (seed \(seed))")
        }
        #expect(Set(getfacl.keys) == found.subtracting(symlinks), context)

        // Every other entry: the access ACL, the default ACL, owner, group and flags as getfacl prints them.
        var compared = 0
        for (path, block) in getfacl.sorted(by: { $0.key < $1.key }) {
            guard let record = records[path] else { continue }
            compared += 1
            let at = "\(path) (seed \(seed))"
            let access = try #require(PosixACL(getfaclLines: block.access), "getfacl access lines of \(at): \(block.access)")
            #expect(record.effectiveACL == access, "access ACL of \(at)")
            #expect(record.effectiveACL.text() == block.access.joined(separator: ","), "access ACL text of \(at)")
            #expect((record.acl == nil) == access.isMinimal, "extended ACL present/absent for \(at)")
            if let acl = record.acl {
                // With an extended ACL the mode's group bits are the mask.
                #expect(UInt8((record.mode >> 3) & 7) == acl.mask, "mask vs mode of \(at)")
            }
            if block.defaults.isEmpty {
                #expect(record.defaultACL == nil, "default ACL of \(at) where getfacl shows none")
            } else {
                let unprefixed = block.defaults.map { String($0.dropFirst("default:".count)) }
                let expected = try #require(PosixACL(getfaclLines: unprefixed), "getfacl default lines of \(at)")
                #expect(record.defaultACL == expected, "default ACL of \(at)")
                #expect(record.defaultACL?.text() == unprefixed.joined(separator: ","), "default ACL text of \(at)")
                #expect(record.type == .directory, "default ACL on a non-directory at \(at)")
            }
            #expect(block.owner == record.uid, "owner of \(at)")
            #expect(block.group == record.gid, "group of \(at)")
            #expect(block.flags == Self.getfaclFlags(record.mode), "flags of \(at)")
        }
        #expect(compared == found.count - symlinks.count, context)
        #expect(records.values.filter { $0.acl != nil }.count >= 60, context)
        #expect(records.values.filter { $0.defaultACL != nil }.count >= 10, context)
    }

    static func seed() -> UInt64 {
        if let text = getenv("PERMDRIFT_TEST_SEED").map({ String(cString: $0) }), let seed = UInt64(text) {
            return seed
        }
        return UInt64.random(in: 1...UInt64(UInt32.max))
    }

    /// find's `%y` letter for a record type.
    static func findType(_ type: FileType) -> UInt8 {
        switch type {
        case .file: UInt8(ascii: "f")
        case .directory: UInt8(ascii: "d")
        case .symlink: UInt8(ascii: "l")
        case .fifo: UInt8(ascii: "p")
        case .socket: UInt8(ascii: "s")
        case .device: UInt8(ascii: "c")
        }
    }

    /// getfacl's `# flags:` value (setuid, setgid, sticky as `s`, `s`, `t`), absent when none is set.
    static func getfaclFlags(_ mode: UInt32) -> String? {
        guard mode & 0o7000 != 0 else { return nil }
        return (mode & 0o4000 != 0 ? "s" : "-") + (mode & 0o2000 != 0 ? "s" : "-") + (mode & 0o1000 != 0 ? "t" : "-")
    }
}

// MARK: - The walk, recorded

/// Records every entry the walk reports, by path.
struct ParityVisitor: ParallelWalkVisitor {
    var records: [HostPath: FileRecord] = [:]
    var duplicates: [HostPath] = []
    var ancestors: [HostPath] = []
    var errors: [WalkError] = []
    var skipped: [SkippedMount] = []

    func makeWorker() -> ParityVisitor { ParityVisitor() }

    mutating func merge(_ other: ParityVisitor) {
        for (path, record) in other.records where records.updateValue(record, forKey: path) != nil { duplicates.append(path) }
        duplicates += other.duplicates
        ancestors += other.ancestors
        errors += other.errors
        skipped += other.skipped
    }

    func isExcluded(_ path: UnsafeBufferPointer<UInt8>, in directory: DirectoryContext?) -> Bool { false }

    mutating func visitAncestor(_ entry: WalkEntry) { ancestors.append(HostPath(entry.path)) }

    mutating func rootContext() {}

    mutating func visit(_ entry: WalkEntry, in parent: Void) -> Void? {
        let path = HostPath(entry.path)
        if records.updateValue(entry.record, forKey: path) != nil { duplicates.append(path) }
        return ()
    }

    mutating func record(_ error: WalkError) { errors.append(error) }

    mutating func skip(_ mount: SkippedMount) { skipped.append(mount) }
}
