import Glibc
import PermDriftCore
import PermDriftTestSupport
import Testing

// The random tree ACLParityTests builds.

// MARK: - The random tree

/// Builds `ROOT/tree` from a seed, with syscalls on byte paths (names need not be UTF-8) and setfacl.
struct RandomTree {
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
        Array("default:user::rwx".utf8), Array(repeating: UInt8(ascii: "n"), count: 255)
    ]

    static let symlinkTargets: [[UInt8]] = [
        Array("/etc/shadow".utf8), Array("/".utf8), Array("..".utf8), Array(".".utf8), Array("../..".utf8),
        Array("does-not-exist".utf8), Array("/proc/self/root".utf8), Array("/tmp".utf8)
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
            let letter =
                switch kind {
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
            let spec =
                [
                    "u::rwx", "g::\(perms())", "o::\(perms())", "d:u::\(perms())", "d:g::\(perms())",
                    "d:o::\(perms())", "d:m::\(perms())"
                ] + namedEntries(prefix: "d:")
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
