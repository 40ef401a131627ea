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
    @Test("every entry's access and default ACL equal getfacl's, and the walk sees exactly what find lists",
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
            ("1 thread", Walker.Options(threads: 1)),
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
                #expect(walker.listedReads * 10 >= walker.entriesVisited * 9, "\(budget): \(walker.listedReads) of \(walker.entriesVisited) listed")
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
private struct ParityVisitor: ParallelWalkVisitor {
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

// MARK: - What find and getfacl say

private struct FindEntry {
    var type: UInt8
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var links: UInt64
}

/// `find TMP/tree` with type, mode, owner, group and link count, keyed by path relative to TMP.
private func findListing(treeAt tmp: String) throws -> [HostPath: FindEntry] {
    let run = try Harness.run(["/usr/bin/find", tmp + "/tree", "-printf", "%y %m %U %G %n %p\\0"], environment: .cLocale)
    try #require(run.status == 0, "find: \(run.stderr)")
    var out = [HostPath: FindEntry]()
    let prefix = Array(tmp.utf8)
    for record in Array(run.stdoutBytes).split(separator: 0, omittingEmptySubsequences: true) {
        let fields = record.split(separator: UInt8(ascii: " "), maxSplits: 5, omittingEmptySubsequences: false)
        try #require(fields.count == 6, "find record \(Array(record))")
        func number<T: FixedWidthInteger>(_ field: ArraySlice<UInt8>, radix: Int = 10) throws -> T {
            try #require(T(String(decoding: field, as: UTF8.self), radix: radix))
        }
        let path = Array(fields[5])
        try #require(path.starts(with: prefix))
        let key = HostPath(bytes: Array(path.dropFirst(prefix.count)))
        #expect(out[key] == nil, "find listed \(key) twice")
        out[key] = FindEntry(type: fields[0].first ?? 0, mode: try number(fields[1], radix: 8),
                             uid: try number(fields[2]), gid: try number(fields[3]), links: try number(fields[4]))
    }
    return out
}

private struct GetfaclBlock {
    var owner: UInt32?
    var group: UInt32?
    var flags: String?
    var access: [String] = []
    var defaults: [String] = []
}

/// `getfacl -R -P -n -p TMP/tree`, keyed by path relative to TMP. Entry lines lose their `#effective:`
/// comment; `default:` lines go to `defaults`.
private func getfaclListing(treeAt tmp: String) throws -> [HostPath: GetfaclBlock] {
    let run = try Harness.run(["/usr/bin/getfacl", "-R", "-P", "-n", "-p", "--", tmp + "/tree"], environment: .cLocale)
    try #require(run.status == 0 && run.stderr.isEmpty, "getfacl: \(run.stderr)")
    let prefix = Array(tmp.utf8)
    var out = [HostPath: GetfaclBlock]()
    var current: (HostPath, GetfaclBlock)?
    func finish() {
        if let (path, block) = current {
            #expect(out[path] == nil, "getfacl listed \(path) twice")
            out[path] = block
        }
        current = nil
    }
    for line in Array(run.stdoutBytes).split(separator: 0x0A, omittingEmptySubsequences: false) {
        let text = String(decoding: line, as: UTF8.self)
        if line.isEmpty {
            finish()
        } else if line.starts(with: Array("# file: ".utf8)) {
            finish()
            let path = unquoteGetfaclName(Array(line.dropFirst(8)))
            try #require(path.starts(with: prefix), "getfacl path \(HostPath(bytes: path))")
            current = (HostPath(bytes: Array(path.dropFirst(prefix.count))), GetfaclBlock())
        } else if text.hasPrefix("# owner: ") {
            current?.1.owner = UInt32(text.dropFirst(9))
        } else if text.hasPrefix("# group: ") {
            current?.1.group = UInt32(text.dropFirst(9))
        } else if text.hasPrefix("# flags: ") {
            current?.1.flags = String(text.dropFirst(9))
        } else {
            try #require(current != nil, "getfacl line outside a block: \(text)")
            var entry = Substring(text)
            if let comment = entry.firstIndex(of: "#") { entry = entry[..<comment] }
            while let last = entry.last, last == " " || last == "\t" { entry = entry.dropLast() }
            let trimmed = String(entry)
            if trimmed.hasPrefix("default:") {
                current?.1.defaults.append(trimmed)
            } else {
                current?.1.access.append(trimmed)
            }
        }
    }
    finish()
    return out
}

/// Undoes getfacl's quoting of a file name: `\\` is a backslash, `\ooo` an octal byte.
private func unquoteGetfaclName(_ bytes: [UInt8]) -> [UInt8] {
    var out = [UInt8]()
    var i = 0
    func isOctal(_ b: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(b) }
    while i < bytes.count {
        if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
            if bytes[i + 1] == UInt8(ascii: "\\") {
                out.append(bytes[i]); i += 2; continue
            }
            if i + 3 < bytes.count, isOctal(bytes[i + 1]), isOctal(bytes[i + 2]), isOctal(bytes[i + 3]) {
                let digits = bytes[i + 1...i + 3].map { UInt32($0 - UInt8(ascii: "0")) }
                out.append(UInt8(truncatingIfNeeded: digits[0] << 6 | digits[1] << 3 | digits[2]))
                i += 4; continue
            }
        }
        out.append(bytes[i])
        i += 1
    }
    return out
}

extension PosixACL {
    /// An ACL from getfacl's numeric entry lines (`user::rw-`, `group:40002:r-x`, `mask::rwx`), parsed
    /// here without libacl so that the parity test does not check the library against itself.
    init?(getfaclLines lines: [String]) {
        var entries = [Entry]()
        for line in lines {
            let parts = line.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[2].count == 3 else { return nil }
            let perms = Array(parts[2])
            guard perms[0] == "r" || perms[0] == "-", perms[1] == "w" || perms[1] == "-",
                  perms[2] == "x" || perms[2] == "-" else { return nil }
            let bits: UInt8 = (perms[0] == "r" ? 4 : 0) | (perms[1] == "w" ? 2 : 0) | (perms[2] == "x" ? 1 : 0)
            let named = !parts[1].isEmpty
            let id = named ? UInt32(parts[1]) : Entry.noQualifier
            guard let id else { return nil }
            switch (parts[0], named) {
            case ("user", false): entries.append(Entry(.userObject, bits))
            case ("user", true): entries.append(Entry(.user, id: id, bits))
            case ("group", false): entries.append(Entry(.groupObject, bits))
            case ("group", true): entries.append(Entry(.group, id: id, bits))
            case ("mask", false): entries.append(Entry(.mask, bits))
            case ("other", false): entries.append(Entry(.other, bits))
            default: return nil
            }
        }
        self.init(entries: entries)
        guard isWellFormed else { return nil }
    }
}

// MARK: - The random tree

/// Builds `ROOT/tree` from a seed, with syscalls on byte paths (names need not be UTF-8) and setfacl.
private struct RandomTree {
    enum Kind: CaseIterable { case directory, file, fifo, symlink, hardLink, device }

    let root: [UInt8]
    var rng: SplitMix64
    private(set) var kinds: [[UInt8]: Kind] = [:]
    private var order: [[UInt8]] = []
    private var directories: [[UInt8]] = []
    private var namesIn: [[UInt8]: Set<[UInt8]>] = [:]
    private var counter = 0
    private(set) var accessACLsSet = 0
    private(set) var defaultACLsSet = 0
    private(set) var maxDepth = 0

    init(root: [UInt8], seed: UInt64) {
        self.root = root
        rng = SplitMix64(seed: seed)
    }

    func count(_ kind: Kind) -> Int { kinds.values.filter { $0 == kind }.count }

    static let hostileNames: [[UInt8]] = [
        Array("with space".utf8), Array("tab\there".utf8), Array("new\nline".utf8), Array("cr\rname".utf8),
        Array(#"back\slash"#.utf8), Array(#"\012"#.utf8), Array("eq=ual".utf8), Array("#hash".utf8),
        Array("-dash".utf8), Array("--".utf8), Array(".hidden".utf8), Array("...".utf8), Array("caf\u{E9}".utf8),
        Array("日本".utf8), Array("evil\u{202E}txt.exe".utf8), [0x1B] + Array("[2J".utf8), [0x9B, 0x41],
        [0xFF, 0xFE, 0x41], [0xC0, 0xAF], [0xED, 0xA0, 0x80], Array("# file: x".utf8),
        Array("default:user::rwx".utf8), Array(repeating: UInt8(ascii: "n"), count: 255),
    ]

    static let symlinkTargets: [[UInt8]] = [
        Array("/etc/shadow".utf8), Array("/".utf8), Array("..".utf8), Array(".".utf8), Array("../..".utf8),
        Array("does-not-exist".utf8), Array("/proc/self/root".utf8), Array("/tmp".utf8),
    ]

    static let permissionTexts = ["---", "--x", "-w-", "-wx", "r--", "r-x", "rw-", "rwx"]

    mutating func build() throws {
        try make([UInt8]("/tree".utf8), .directory)
        while order.count < 226 {
            let parent = pickParent()
            let kind = pickKind()
            let path = parent + [UInt8(ascii: "/")] + newName(in: parent, kind: kind)
            try make(path, kind)
        }
        // A chain deeper than the walker's default descriptor budget, with something at the bottom.
        var deep = [UInt8]("/tree/deep".utf8)
        try make(deep, .directory)
        for level in 1...70 {
            deep += Array("/l\(level)".utf8)
            try make(deep, .directory)
        }
        try make(deep + Array("/bottom".utf8), .file)
        try make(deep + Array("/bottom-link".utf8), .symlink)

        for path in order where kinds[path] != .symlink {
            try randomiseOwnerAndMode(path)
            if Int.random(in: 0..<2, using: &rng) == 0 { try setRandomAccessACL(path) }
            if kinds[path] == .directory, Int.random(in: 0..<4, using: &rng) == 0 { try setRandomDefaultACL(path) }
            // chmod after an ACL rewrites its mask and base entries.
            if Int.random(in: 0..<6, using: &rng) == 0 { try chmod(path, randomMode()) }
        }
        // One entry with many named entries.
        let wide = (0..<40).map { "u:\(41000 + $0):r--" } + (0..<40).map { "g:\(42000 + $0):--x" }
        try setfacl(["-m", wide.joined(separator: ",")], [UInt8]("/tree/deep/l1".utf8))
        accessACLsSet += 1
    }

    private mutating func pickParent() -> [UInt8] {
        // Half the time one of the newest directories, so the tree grows deep as well as wide.
        if Bool.random(using: &rng), let dir = directories.suffix(6).randomElement(using: &rng) { return dir }
        return directories.randomElement(using: &rng)!
    }

    private mutating func pickKind() -> Kind {
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<28: .directory
        case 28..<72: .file
        case 72..<79: .fifo
        case 79..<91: .symlink
        case 91..<96: .hardLink
        default: .device
        }
    }

    private mutating func newName(in parent: [UInt8], kind: Kind) -> [UInt8] {
        var name: [UInt8]
        if Int.random(in: 0..<8, using: &rng) == 0 {
            name = Self.hostileNames.randomElement(using: &rng)!
        } else {
            counter += 1
            let letter = switch kind {
            case .directory: "d"
            case .file: "f"
            case .fifo: "p"
            case .symlink: "l"
            case .hardLink: "h"
            case .device: "c"
            }
            name = Array("\(letter)\(counter)".utf8)
        }
        while namesIn[parent, default: []].contains(name) {
            counter += 1
            name += Array("-\(counter)".utf8)
            if name.count > 255 { name = Array("x\(counter)".utf8) }
        }
        namesIn[parent, default: []].insert(name)
        return name
    }

    private mutating func make(_ path: [UInt8], _ kind: Kind) throws {
        let full = root + path
        var kind = kind
        switch kind {
        case .directory:
            try check(withCPath(full) { mkdir($0, 0o755) }, "mkdir", path)
        case .file:
            let fd = withCPath(full) { open($0, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o644) }
            try check(fd, "open", path)
            close(fd)
        case .fifo:
            try check(withCPath(full) { mkfifo($0, 0o644) }, "mkfifo", path)
        case .symlink:
            let target = Self.symlinkTargets.randomElement(using: &rng)!
            try check(withCPath(target) { t in withCPath(full) { symlink(t, $0) } }, "symlink", path)
        case .hardLink:
            let files = order.filter { kinds[$0] == .file }
            if let existing = files.randomElement(using: &rng) {
                try check(withCPath(root + existing) { e in withCPath(full) { link(e, $0) } }, "link", path)
            } else {
                try make(path, .file)
                return
            }
        case .device:
            // Like /dev/null (1:3); never opened by the walk. Where mknod is not allowed, a FIFO instead.
            if withCPath(full, { mknod($0, S_IFCHR | 0o600, dev_t(0x103)) }) != 0 {
                kind = .fifo
                try check(withCPath(full) { mkfifo($0, 0o644) }, "mkfifo", path)
            }
        }
        kinds[path] = kind
        order.append(path)
        if kind == .directory {
            directories.append(path)
            maxDepth = max(maxDepth, path.split(separator: UInt8(ascii: "/")).count)
            // A default ACL right away, so that what is created below inherits it.
            if Int.random(in: 0..<4, using: &rng) == 0 { try setRandomDefaultACL(path) }
        }
    }

    private mutating func randomMode() -> UInt32 {
        // Mostly ordinary modes, sometimes with setuid, setgid or sticky.
        let low = UInt32.random(in: 0...0o777, using: &rng)
        return Int.random(in: 0..<5, using: &rng) == 0 ? low | UInt32.random(in: 0...7, using: &rng) << 9 : low
    }

    private mutating func randomiseOwnerAndMode(_ path: [UInt8]) throws {
        if Int.random(in: 0..<3, using: &rng) == 0 {
            let uid = UInt32.random(in: 40000...40050, using: &rng)
            let gid = UInt32.random(in: 40000...40050, using: &rng)
            try check(withCPath(root + path) { lchown($0, uid, gid) }, "lchown", path)
        }
        if Int.random(in: 0..<3, using: &rng) != 0 { try chmod(path, randomMode()) }
    }

    private func chmod(_ path: [UInt8], _ mode: UInt32) throws {
        try check(withCPath(root + path) { Glibc.chmod($0, mode_t(mode)) }, "chmod", path)
    }

    private mutating func perms() -> String { Self.permissionTexts.randomElement(using: &rng)! }

    /// 1–6 named users and groups from 40000–40050, each id at most once per tag.
    private mutating func namedEntries(prefix: String = "") -> [String] {
        var out = [String]()
        var users = Set<UInt32>(), groups = Set<UInt32>()
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            let id = UInt32.random(in: 40000...40050, using: &rng)
            if Bool.random(using: &rng) {
                if users.insert(id).inserted { out.append("\(prefix)u:\(id):\(perms())") }
            } else {
                if groups.insert(id).inserted { out.append("\(prefix)g:\(id):\(perms())") }
            }
        }
        return out
    }

    private mutating func setRandomAccessACL(_ path: [UInt8]) throws {
        let named = namedEntries()
        switch Int.random(in: 0..<6, using: &rng) {
        case 0:
            // Modify without recalculating the mask: the mask given is the mask set.
            try setfacl(["-n", "-m", (named + ["m::\(perms())"]).joined(separator: ",")], path)
        case 1:
            // Modify, letting setfacl compute the mask.
            try setfacl(["-m", named.joined(separator: ",")], path)
        case 2:
            // Replace the whole ACL; setfacl computes the mask.
            try setfacl(["--set", (["u::\(perms())", "g::\(perms())", "o::\(perms())"] + named).joined(separator: ",")], path)
        case 3:
            // Replace the whole ACL with an explicit mask that is kept as given.
            let spec = ["u::\(perms())", "g::\(perms())", "o::\(perms())", "m::\(perms())"] + named
            try setfacl(["-n", "--set", spec.joined(separator: ",")], path)
        case 4:
            // Add entries, then remove one of them again.
            try setfacl(["-m", named.joined(separator: ",")], path)
            let removed = named.randomElement(using: &rng)!.split(separator: ":").prefix(2).joined(separator: ":")
            try setfacl(["-x", removed], path)
        default:
            // Add entries, then strip the ACL back to the mode bits.
            try setfacl(["-m", named.joined(separator: ",")], path)
            try setfacl(["-b"], path)
        }
        accessACLsSet += 1
    }

    private mutating func setRandomDefaultACL(_ path: [UInt8]) throws {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0:
            // Default entries added; setfacl fills the default base entries from the access ACL.
            try setfacl(["-d", "-m", namedEntries().joined(separator: ",")], path)
        case 1:
            let spec = ["u::rwx", "g::\(perms())", "o::\(perms())", "d:u::\(perms())", "d:g::\(perms())",
                        "d:o::\(perms())", "d:m::\(perms())"] + namedEntries(prefix: "d:")
            try setfacl(["-n", "--set", spec.joined(separator: ",")], path)
        case 2:
            // A minimal default ACL: still a default ACL, and getfacl shows it.
            try setfacl(["-d", "--set", "u::\(perms()),g::\(perms()),o::\(perms())"], path)
        default:
            try setfacl(["-d", "-m", namedEntries().joined(separator: ",")], path)
            try setfacl(["-k"], path)
        }
        defaultACLsSet += 1
    }

    private func setfacl(_ arguments: [String], _ path: [UInt8]) throws {
        let argv = [Array("/usr/bin/setfacl".utf8)] + arguments.map { Array($0.utf8) } + [Array("--".utf8), root + path]
        let run = try Harness.run(argv, environment: .cLocale)
        try #require(run.status == 0, "setfacl \(arguments) \(HostPath(bytes: path)): \(run.stderr)")
    }

    private func check(_ result: Int32, _ call: String, _ path: [UInt8]) throws {
        let error = errno
        try #require(result >= 0, "\(call) \(HostPath(bytes: path)): errno \(error)")
    }
}
