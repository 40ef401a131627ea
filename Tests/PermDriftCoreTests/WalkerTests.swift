import Foundation
import PermDriftCore
import PermDriftTestSupport
import Testing

/// A visitor that records every path it meets and can change the tree while the walk is on it.
struct RecordingVisitor: WalkVisitor {
    var visited: [String: FileRecord] = [:]
    var ancestors: [String] = []
    var errors: [WalkError] = []
    var skipped: [SkippedMount] = []
    var maxOpenDescriptors = 0
    /// Called when the walk visits this path (host form), before the walk goes on.
    var onVisit: [String: () -> Void] = [:]
    /// When set, the most descriptors open at once into this directory (other tests open their own).
    var countDescriptorsUnder: String?

    func isExcluded(_ path: UnsafeBufferPointer<UInt8>, in directory: DirectoryContext?) -> Bool { false }
    mutating func visitAncestor(_ entry: WalkEntry) { ancestors.append(String(decoding: entry.path, as: UTF8.self)) }
    mutating func rootContext() {}
    mutating func visit(_ entry: WalkEntry, in parent: Void) -> Void? {
        let path = String(decoding: entry.path, as: UTF8.self)
        visited[path] = entry.record
        onVisit[path]?()
        if let prefix = countDescriptorsUnder {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
            let mine = fds.filter { fd in
                ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd)) ?? "").hasPrefix(prefix)
            }
            maxOpenDescriptors = max(maxOpenDescriptors, mine.count)
        }
        return ()
    }
    mutating func record(_ error: WalkError) { errors.append(error) }
    mutating func skip(_ mount: SkippedMount) { skipped.append(mount) }
}

/// The walker on real trees that change under it.
struct WalkerTests {
    /// Runs a tool and gives its exit status (-1 when it could not start).
    static func sh(_ argv: [String]) -> Int32 {
        (try? Harness.run(argv))?.status ?? -1
    }

    static func make(_ root: String, dirs: [String], files: [String]) throws {
        for d in dirs { try FileManager.default.createDirectory(atPath: root + d, withIntermediateDirectories: true) }
        for f in files { #expect(FileManager.default.createFile(atPath: root + f, contents: nil)) }
    }

    @Test func visitsEveryEntryOnceAndDirectoriesBeforeChildren() throws {
        let root = try makeTemporaryDirectory(prefix: "pd-walk")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.make(root, dirs: ["/top/a/b", "/top/c"], files: ["/top/f", "/top/a/g", "/top/a/b/h"])
        symlink("/etc", root + "/top/link")
        var visitor = RecordingVisitor()
        var walker = Walker(rootDirectory: root)
        try walker.walk(roots: [HostPath("/top")], visitor: &visitor)
        #expect(Set(visitor.visited.keys) == ["/top", "/top/a", "/top/a/b", "/top/c", "/top/f", "/top/a/g", "/top/a/b/h", "/top/link"])
        #expect(visitor.visited["/top/link"]?.type == .symlink)
        #expect(visitor.ancestors == ["/"])
        #expect(visitor.errors.isEmpty)
        #expect(walker.entriesVisited == 8)
    }

    @Test func anEntryDeletedMidWalkIsSkippedAndTheWalkGoesOn() throws {
        let root = try makeTemporaryDirectory(prefix: "pd-walk")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.make(root, dirs: ["/top/gone/deep", "/top/stays"], files: ["/top/trigger", "/top/gone/x", "/top/stays/y"])
        var visitor = RecordingVisitor()
        // The whole subtree disappears after the listing of /top, before the walk opens it.
        visitor.onVisit["/top/trigger"] = { try? FileManager.default.removeItem(atPath: root + "/top/gone") }
        var walker = Walker(rootDirectory: root)
        try walker.walk(roots: [HostPath("/top")], visitor: &visitor)
        #expect(visitor.errors.isEmpty, "a vanished entry is not an error: \(visitor.errors)")
        #expect(visitor.visited["/top/gone"] == nil)
        #expect(visitor.visited["/top/stays/y"] != nil)
    }

    @Test func aDirectorySwappedForASymlinkIsNotFollowed() throws {
        let root = try makeTemporaryDirectory(prefix: "pd-walk")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.make(root, dirs: ["/top/sub"], files: ["/top/trigger", "/top/sub/secret"])
        var visitor = RecordingVisitor()
        visitor.onVisit["/top/trigger"] = {
            try? FileManager.default.moveItem(atPath: root + "/top/sub", toPath: root + "/moved")
            symlink("/etc", root + "/top/sub")
        }
        var walker = Walker(rootDirectory: root)
        try walker.walk(roots: [HostPath("/top")], visitor: &visitor)
        #expect(visitor.visited["/top/sub"]?.type == .symlink, "the swapped-in link is recorded as what it is")
        #expect(!visitor.visited.keys.contains { $0.hasPrefix("/top/sub/") }, "nothing below the link: \(visitor.visited.keys.sorted())")
        #expect(!visitor.visited.keys.contains("/top/sub/passwd"))
    }

    @Test func deepTreesHoldABoundedNumberOfDescriptors() throws {
        let root = try makeTemporaryDirectory(prefix: "pd-walk")
        defer { _ = try? Process.run(URL(fileURLWithPath: "/bin/rm"), arguments: ["-rf", root]).waitUntilExit() }
        // 5,000 levels: paths far beyond PATH_MAX, and far more directories than the descriptor bound, so parents
        // are released and reopened through `..`.
        var path = root + "/top"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        var dirfd = fd
        for i in 0..<5000 {
            #expect(mkdirat(dirfd, "d", 0o755) == 0)
            let f = openat(dirfd, "d", O_RDONLY | O_DIRECTORY)
            if i % 100 == 0 { close(openat(f, "file", O_CREAT | O_WRONLY, 0o644)) }
            if dirfd != fd { close(dirfd) }
            dirfd = f
        }
        close(dirfd); close(fd)
        path = ""
        var visitor = RecordingVisitor()
        visitor.countDescriptorsUnder = root
        var walker = Walker(rootDirectory: root, options: .init(maxOpenDirectories: 8))
        try walker.walk(roots: [HostPath("/top")], visitor: &visitor)
        #expect(visitor.errors.isEmpty, "\(visitor.errors.prefix(3))")
        #expect(visitor.visited.count == 1 + 5000 + 50)
        let deepest = "/top" + String(repeating: "/d", count: 5000)
        #expect(visitor.visited[deepest]?.type == .directory)
        #expect(deepest.utf8.count > 2 * Int(PATH_MAX))
        // The bound, plus the directory being visited before it is pushed, and the root directory and
        // the scan root's parent held while the root is walked.
        #expect(visitor.maxOpenDescriptors <= 8 + 3, "the walk held \(visitor.maxOpenDescriptors) descriptors into the tree")
        #expect(visitor.maxOpenDescriptors >= 8, "the count must see the walk's own descriptors")
    }

    @Test func anAncestorMovedAwayMidWalkIsAnErrorNotAnEscape() throws {
        let root = try makeTemporaryDirectory(prefix: "pd-walk")
        defer { try? FileManager.default.removeItem(atPath: root) }
        // /top/a/b/c/d…: while deep inside, /top/a is moved away and replaced by a symlink to /etc.
        let deep = "/top/a/b/c/d/e/f/g/h"
        try Self.make(root, dirs: [deep, "/top/a/sibling", "/top/z"], files: [deep + "/trigger"])
        var visitor = RecordingVisitor()
        visitor.onVisit[deep + "/trigger"] = {
            try? FileManager.default.moveItem(atPath: root + "/top/a", toPath: root + "/elsewhere")
            symlink("/etc", root + "/top/a")
        }
        var walker = Walker(rootDirectory: root, options: .init(maxOpenDirectories: 3))
        try walker.walk(roots: [HostPath("/top")], visitor: &visitor)
        // Parents whose descriptors were released are reopened through `..` and checked by inode: the
        // walk either continues in the moved tree it already holds, or reports the move — never /etc.
        #expect(!visitor.visited.keys.contains { $0.hasPrefix("/top/a/passwd") || $0 == "/top/a/shadow" })
        #expect(visitor.visited.keys.allSatisfy { !$0.contains("passwd") })
        #expect(visitor.visited["/top/z"] != nil || !visitor.errors.isEmpty)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to mount a tmpfs and a bind mount"))
    func otherMountsAreSkippedNotEntered() throws {
        let root = try makeTemporaryDirectory(prefix: "pd-walk")
        try Self.make(root, dirs: ["/top/tmpfs", "/top/bind", "/outside"], files: ["/outside/secret", "/top/f"])
        // Both mounts go before the tree is removed (defers run last first: one defer keeps the order).
        defer {
            _ = Self.sh(["/bin/umount", root + "/top/bind"])
            _ = Self.sh(["/bin/umount", root + "/top/tmpfs"])
            removeTree(root)
        }
        try #require(Self.sh(["/bin/mount", "-t", "tmpfs", "permdrift-test", root + "/top/tmpfs"]) == 0)
        #expect(FileManager.default.createFile(atPath: root + "/top/tmpfs/inside", contents: nil))
        // A bind mount of the same filesystem: same device number, but the root of another mount.
        try #require(Self.sh(["/bin/mount", "--bind", root + "/outside", root + "/top/bind"]) == 0)
        var visitor = RecordingVisitor()
        var walker = Walker(rootDirectory: root)
        try walker.walk(roots: [HostPath("/top")], visitor: &visitor)
        #expect(Set(visitor.skipped.map(\.path)) == [HostPath("/top/tmpfs"), HostPath("/top/bind")])
        #expect(visitor.visited["/top/tmpfs/inside"] == nil)
        #expect(visitor.visited["/top/bind/secret"] == nil)
        #expect(visitor.visited["/top/f"] != nil)
        #expect(visitor.errors.isEmpty)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to mount a ramfs"))
    func aFilesystemWithoutACLSupportGivesModeOnlyRecordsNotErrors() throws {
        let root = try makeTemporaryDirectory(prefix: "pd-walk")
        try Self.make(root, dirs: ["/top/ram"], files: [])
        // ramfs has no extended attributes at all: reading an ACL there answers EOPNOTSUPP.
        try #require(Self.sh(["/bin/mount", "-t", "ramfs", "permdrift-test", root + "/top/ram"]) == 0)
        defer {
            _ = Self.sh(["/bin/umount", root + "/top/ram"])
            try? FileManager.default.removeItem(atPath: root)
        }
        try Self.make(root, dirs: ["/top/ram/d"], files: ["/top/ram/f", "/top/ram/d/g"])
        chmod(root + "/top/ram/f", 0o640)
        var visitor = RecordingVisitor()
        var walker = Walker(rootDirectory: root)
        try walker.walk(roots: [HostPath("/top/ram")], visitor: &visitor)
        #expect(visitor.errors.isEmpty, "\(visitor.errors)")
        #expect(visitor.visited["/top/ram/f"]?.acl == nil)
        #expect(visitor.visited["/top/ram/f"]?.effectiveACL == PosixACL(mode: 0o640))
        #expect(visitor.visited["/top/ram/d"]?.defaultACL == nil)
        #expect(visitor.visited["/top/ram/d/g"] != nil)
    }
}
