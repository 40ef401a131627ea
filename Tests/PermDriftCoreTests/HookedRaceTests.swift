#if DEBUG
    import CPermDrift
    import Foundation
    import PermDriftCore
    import PermDriftTestSupport
    import Testing

    /// Races won on demand: the walk's debug-build hooks act on the tree between two steps of the walk.
    /// Each test names its tree uniquely, so the hooks fire for its own walk only.
    /// Values shared with a hook are `LockedValue`s (an NSLock, a pthread mutex ThreadSanitizer sees).

    @Suite("Races between two steps of the walk (debug-build hooks)", .serialized)
    struct HookedRaceTests {
        private struct Recorder: WalkVisitor {
            var records: [String: FileRecord] = [:]
            var errors: [WalkError] = []
            var skipped: [SkippedMount] = []
            func isExcluded(_ path: UnsafeBufferPointer<UInt8>, in directory: DirectoryContext?) -> Bool { false }
            mutating func visitAncestor(_ entry: WalkEntry) {}
            mutating func rootContext() {}
            mutating func visit(_ entry: WalkEntry, in parent: Void) -> Void? {
                records[String(decoding: entry.path, as: UTF8.self)] = entry.record
                return ()
            }
            mutating func record(_ error: WalkError) { errors.append(error) }
            mutating func skip(_ mount: SkippedMount) { skipped.append(mount) }
        }

        /// Waits until `path` is old enough for the walk's listed read (its ctime at least 3 whole seconds
        /// behind the coarse clock the walk reads, `ctime + 2 < now`): the exact condition, not a guess.
        static func waitUntilOldEnoughForAListedRead(_ path: String) {
            var st = stat()
            guard lstat(path, &st) == 0 else { return }
            while pd_coarse_realtime_seconds() <= Int64(st.st_ctim.tv_sec) + 2 { usleep(50_000) }
        }

        private static func sh(_ args: String...) -> Int32 {
            (try? Harness.run(args))?.status ?? -1
        }

        @Test(
            "a FIFO or device swapped in after the listing is never opened, and the walk finishes",
            .enabled(if: geteuid() == 0, "needs root for mknod"), .timeLimit(.minutes(1)))
        func fifoAndDeviceSwappedInMidScan() throws {
            let root = try makeTemporaryDirectory(prefix: "pd-walk")
            defer { try? FileManager.default.removeItem(atPath: root) }
            let top = "/swap-\(getpid())"
            try WalkerTests.make(root, dirs: [top + "/sub/inner", top + "/z"], files: [top + "/file", top + "/dev", top + "/z/after"])
            let base = root + top
            // After the listing named them: a directory and a file become FIFOs (a reader that opened one
            // would wait for a writer forever), another file becomes a character device.
            WalkHooks.install(.beforeRead, at: top + "/sub") { _ in
                try? FileManager.default.removeItem(atPath: base + "/sub")
                mkfifo(base + "/sub", 0o644)
            }
            WalkHooks.install(.beforeRead, at: top + "/file") { _ in
                unlink(base + "/file")
                mkfifo(base + "/file", 0o644)
            }
            WalkHooks.install(.beforeRead, at: top + "/dev") { _ in
                unlink(base + "/dev")
                mknod(base + "/dev", S_IFCHR | 0o600, Self.makedev(1, 3))
            }
            defer { for p in ["/sub", "/file", "/dev"] { WalkHooks.remove(at: top + p) } }
            for threads in [1, 2] {
                // Put the tree back for the second walk.
                if threads == 2 {
                    for p in ["/sub", "/file", "/dev"] { unlink(base + p) }
                    try WalkerTests.make(root, dirs: [top + "/sub/inner"], files: [top + "/file", top + "/dev"])
                }
                var visitor = Recorder()
                var walker = Walker(rootDirectory: root, options: .init(threads: threads))
                try walker.walk(roots: [HostPath(top)], visitor: &visitor)
                #expect(visitor.records[top + "/sub"]?.type == .fifo, "threads \(threads)")
                #expect(visitor.records[top + "/sub/inner"] == nil, "threads \(threads)")
                #expect(visitor.records[top + "/file"]?.type == .fifo, "threads \(threads)")
                #expect(visitor.records[top + "/dev"]?.type == .device, "threads \(threads)")
                #expect(visitor.records[top + "/z/after"]?.type == .file, "the walk goes on (threads \(threads))")
                #expect(visitor.errors.isEmpty, "threads \(threads): \(visitor.errors)")
            }
        }

        private static func makedev(_ major: UInt32, _ minor: UInt32) -> dev_t {
            dev_t((UInt64(major) << 8) | UInt64(minor))
        }

        @Test(
            "a mount removed between the attribute listing and statx sends the entry the careful way",
            .enabled(if: geteuid() == 0, "needs root to bind-mount and set ACLs"))
        func mountRemovedBetweenListingAndStat() throws {
            let root = try makeTemporaryDirectory(prefix: "pd-walk")
            defer { try? FileManager.default.removeItem(atPath: root) }
            let top = "/mount-\(getpid())"
            try WalkerTests.make(root, dirs: [top], files: [top + "/f", "/clean"])
            let target = root + top + "/f"
            // The real file has an ACL; a clean file is mounted over it.
            #expect(Self.sh("/usr/bin/setfacl", "-m", "u:33101:r", target) == 0)
            // Old enough for the listed read.
            Self.waitUntilOldEnoughForAListedRead(target)
            #expect(Self.sh("/bin/mount", "--bind", root + "/clean", target) == 0)
            var unmounted = false
            defer { if !unmounted { _ = Self.sh("/bin/umount", "-l", target) } }
            // Mount still there: the entry is a mount point and is skipped, not read as the file it hides.
            var mounted = Recorder()
            var walker = Walker(rootDirectory: root, options: .init(threads: 1))
            try walker.walk(roots: [HostPath(top)], visitor: &mounted)
            #expect(mounted.records[top + "/f"] == nil)
            #expect(mounted.skipped.map(\.path) == [HostPath(top + "/f")])
            // Unmounted after its (clean) attributes were listed, before statx: statx sees the real file
            // and its ctime is old; the mount event sends it the careful way, which reads its real ACL.
            WalkHooks.install(.beforeListedStat, at: top + "/f") { _ in
                _ = Self.sh("/bin/umount", "-l", target)
            }
            defer { WalkHooks.remove(at: top + "/f") }
            var raced = Recorder()
            walker = Walker(rootDirectory: root, options: .init(threads: 1))
            try walker.walk(roots: [HostPath(top)], visitor: &raced)
            unmounted = true
            #expect(raced.skipped.isEmpty, "\(raced.skipped)")
            let record = try #require(raced.records[top + "/f"])
            #expect(record.acl != nil, "the ACL of the file that was hidden must be read, not the listing of the mount")
            #expect(record.acl?.entries.contains { $0.tag == .user && $0.id == 33101 } == true)
        }

        @Test(
            "a mode or ACL changed while it is read is read once more, then reported as changed during the scan",
            .enabled(if: geteuid() == 0, "needs root to set ACLs with arbitrary ids"))
        func changedWhileRead() throws {
            let root = try makeTemporaryDirectory(prefix: "pd-walk")
            defer { try? FileManager.default.removeItem(atPath: root) }
            let top = "/changing-\(getpid())"
            try WalkerTests.make(root, dirs: [top], files: [top + "/once", top + "/always"])
            let once = root + top + "/once", always = root + top + "/always"
            chmod(once, 0o600)
            // Changed once, between the first statx and the check: the second reading holds.
            let changedOnce = LockedValue(false)
            WalkHooks.install(.beforeCarefulRecheck, at: top + "/once") { _ in
                changedOnce.withLock { done in
                    if !done { chmod(once, 0o644); done = true }
                }
            }
            // Changed on every reading: an ACL is added and removed in turn.
            let flips = LockedValue(0)
            WalkHooks.install(.beforeCarefulRecheck, at: top + "/always") { _ in
                let n = flips.withLock {
                    $0 += 1; return $0
                }
                _ = Self.sh("/usr/bin/setfacl", n % 2 == 1 ? "-m" : "-x", n % 2 == 1 ? "u:33101:rw" : "u:33101", always)
            }
            defer { WalkHooks.remove(at: top + "/once"); WalkHooks.remove(at: top + "/always") }
            var visitor = Recorder()
            // The careful way, whatever the entries' age by now (the recheck is what this test is about).
            var walker = Walker(rootDirectory: root, options: .init(forceCarefulReads: true, threads: 1))
            try walker.walk(roots: [HostPath(top)], visitor: &visitor)
            #expect(visitor.records[top + "/once"]?.mode == 0o644, "the second reading is the one kept")
            #expect(visitor.records[top + "/always"] == nil, "an entry that never held still is not reported as read")
            let error = visitor.errors.first { $0.path == HostPath(top + "/always") }
            #expect(error?.message.contains("changed during the scan") == true, "\(visitor.errors)")
            #expect(flips.withLock { $0 } == 2, "read exactly twice")
            #expect(visitor.errors.count == 1, "\(visitor.errors)")
        }

        @Test(
            "a path looked up directly (explain, pins) that changes while it is read is read once more, then refused",
            .enabled(if: geteuid() == 0, "needs root to set ACLs with arbitrary ids"))
        func lookUpChangedWhileRead() throws {
            let root = try makeTemporaryDirectory(prefix: "pd-walk")
            defer { try? FileManager.default.removeItem(atPath: root) }
            let top = "/looked-up-\(getpid())"
            try WalkerTests.make(root, dirs: [top], files: [top + "/once", top + "/always"])
            let once = root + top + "/once", always = root + top + "/always"
            chmod(once, 0o600)
            let changedOnce = LockedValue(false)
            WalkHooks.install(.beforeCarefulRecheck, at: top + "/once") { _ in
                changedOnce.withLock { done in
                    if !done { chmod(once, 0o644); done = true }
                }
            }
            let flips = LockedValue(0)
            WalkHooks.install(.beforeCarefulRecheck, at: top + "/always") { _ in
                let n = flips.withLock {
                    $0 += 1; return $0
                }
                _ = Self.sh("/usr/bin/setfacl", n % 2 == 1 ? "-m" : "-x", n % 2 == 1 ? "u:33101:rw" : "u:33101", always)
            }
            defer { WalkHooks.remove(at: top + "/once"); WalkHooks.remove(at: top + "/always") }
            let walker = Walker(rootDirectory: root)
            guard case .found(let record) = walker.lookUp(HostPath(top + "/once")) else {
                Issue.record("the path changed once must be read the second time"); return
            }
            #expect(record.mode & 0o777 == 0o644, "the second reading is the one kept")
            switch walker.lookUp(HostPath(top + "/always")) {
            case .failed(let error):
                #expect(error.message.contains("changed while it was being read"), "\(error)")
            default:
                Issue.record("a path that never held still must not be given as read")
            }
            #expect(flips.withLock { $0 } == 2, "read exactly twice")
        }

        @Test(
            "an ACL with as many entries as the filesystem holds is read whole, both ways",
            .enabled(if: geteuid() == 0, "needs root to set ACLs with arbitrary ids"))
        func largestACL() throws {
            let root = try makeTemporaryDirectory(prefix: "pd-walk")
            defer { try? FileManager.default.removeItem(atPath: root) }
            let top = "/big-acl-\(getpid())"
            try WalkerTests.make(root, dirs: [top], files: [top + "/f"])
            let file = root + top + "/f"
            // Add named users until the filesystem refuses more (ext4: one 4 KiB block; tmpfs: more).
            var count = 0
            var step = 256
            while step > 0 {
                let spec = (count..<(count + step)).map { "u:\(40000 + $0):r" }.joined(separator: ",")
                if Self.sh("/usr/bin/setfacl", "-m", spec, file) == 0 { count += step } else { step /= 2 }
                if count >= 8000 { break }
            }
            #expect(count >= 400, "only \(count) entries fit")
            for careful in [true, false] {
                if !careful { Self.waitUntilOldEnoughForAListedRead(file) }
                var visitor = Recorder()
                var walker = Walker(rootDirectory: root, options: .init(forceCarefulReads: careful, threads: 1))
                try walker.walk(roots: [HostPath(top)], visitor: &visitor)
                #expect(visitor.errors.isEmpty, "\(visitor.errors.prefix(2))")
                let acl = try #require(visitor.records[top + "/f"]?.acl)
                #expect(acl.entries.filter { $0.tag == .user }.count == count, "careful \(careful)")
                #expect(careful ? walker.listedReads == 0 : walker.listedReads > 0)
            }
        }
    }
#endif
