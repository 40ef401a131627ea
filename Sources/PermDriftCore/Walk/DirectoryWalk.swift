import CPermDrift
import Glibc

/// The state of one walker thread: the stack of open directories, the path buffer and the listing buffer.
final class DirectoryWalk<V: WalkVisitor> {
    struct Frame {
        var fd: Int32
        let device: UInt64
        let inode: UInt64
        let pathLength: Int
        /// Its subdirectories, remembered while it was listed; `next` is the first not yet entered.
        var names = NameStore()
        var next = 0
        let context: V.DirectoryContext
        /// Whether entries of this directory may be read the listed way (see `readListed`).
        let listed: Bool
    }

    let rootFD: Int32
    let options: Walker.Options
    let reader: ExtendedAttributeReader
    var entries = 0
    /// Entries read the listed way (two system calls), for tests and benchmarks.
    var listedReads = 0
    private var path: [UInt8] = []
    private var frames: [Frame] = []
    private var openFrames = 0
    /// At most this many directory descriptors are held by this thread.
    private let frameLimit: Int
    private let listing: UnsafeMutableRawBufferPointer
    private var rootDevice: UInt64 = 0
    private var rootMount: UInt64 = 0
    /// Every scan root: one met inside another is not entered there, it is walked as a root of its own
    /// (on its own filesystem, with its own ancestors).
    private let roots: Set<[UInt8]>
    /// The lengths of `roots`: a path of another length is no root (no hashing of every path).
    private let rootLengths: Set<Int>
    private var currentRoot: [UInt8] = []
    /// The directories above the bottom frame, when it was handed over by another thread (loop detection).
    private var outerAncestors: [DirectoryID] = []
    /// The directories of `frames` and `outerAncestors`, for loop detection in constant time per directory
    /// (a directory deep in a chain is not compared with every one above it).
    private var openDirectories = Set<DirectoryID>()
    /// Work shared with other threads, when the walk is parallel.
    private let share: WorkShare<V.DirectoryContext>?
    /// Per device: whether its filesystem is one whose attributes may be read the listed way.
    private var listedFilesystems: [UInt64: Bool] = [:]
    /// Whether the entry read last has `security.capability`, when its attributes were listed.
    private var listedCapability: Bool?
    /// Mount events of this process's namespace, seen by this thread alone (no listed reads without it).
    private let mountWatch: MountWatch?
    /// Entries of the listing chunk being walked that were read the listed way by name and wait for the
    /// mount table to be polled once for all of them (`visitPending`) before they are visited.
    private var pending: [PendingEntry] = []
    private struct PendingEntry {
        let record: FileRecord
        let capability: Bool?
        /// Mount events this thread had seen before the entry was read (`MountWatch.seen`).
        let mountEvents: Int
        /// The name, in `listing`.
        let nameOffset: Int
        let nameLength: Int
    }

    init(rootFD: Int32, options: Walker.Options, reader: ExtendedAttributeReader, roots: Set<[UInt8]>,
         share: WorkShare<V.DirectoryContext>? = nil, frameLimit: Int? = nil, mountWatch: MountWatch? = nil) {
        self.mountWatch = mountWatch
        self.rootFD = rootFD
        self.options = options
        self.reader = reader
        self.roots = roots
        rootLengths = Set(roots.map(\.count))
        self.share = share
        self.frameLimit = max(2, frameLimit ?? options.maxOpenDirectories)
        listing = .allocate(byteCount: 64 * 1024, alignment: 8)
        path.reserveCapacity(4096)
    }

    // MARK: - Parallel work

    /// Takes tasks from the shared work until the walk is over.
    func work(visitor: inout V) {
        guard let share else { return }
        var afterTask = false
        while let task = share.take(afterTask: afterTask) {
            afterTask = true
            switch task {
            case .root(let root): walkRoot(root, visitor: &visitor)
            case .directory(let handed): walkHanded(handed, visitor: &visitor)
            }
        }
    }

    /// Walks below a directory another thread opened and visited.
    private func walkHanded(_ handed: HandedDirectory<V.DirectoryContext>, visitor: inout V) {
        path.removeAll(keepingCapacity: true)
        path.append(contentsOf: handed.path)
        currentRoot = handed.root
        rootDevice = handed.rootDevice
        rootMount = handed.rootMount
        outerAncestors = handed.ancestors
        openDirectories = Set(handed.ancestors)
        push(fd: handed.fd, id: handed.id, context: handed.context, visitor: &visitor)
        run(visitor: &visitor)
        outerAncestors.removeAll()
        openDirectories.removeAll()
    }

    /// Hands a directory to an idle thread when one waits: the first subdirectory not yet walked of the
    /// highest directory this thread still holds open (the biggest piece of work it has). Only from
    /// the top `handOverDepthLimit` directories and those whose path is at most `handOverPathLimit` bytes
    /// long: handing one over copies its path and its ancestors, and deeper directories are walked by the
    /// thread that holds them, so a chain thousands of levels deep is not copied (or searched) per level.
    private func handOver(visitor: inout V) {
        guard let share else { return }
        var found: Int?
        for i in frames.indices {
            if i >= Self.handOverDepthLimit || frames[i].pathLength > Self.handOverPathLimit { break }
            if frames[i].fd >= 0 && frames[i].next < frames[i].names.count { found = i; break }
        }
        guard let i = found, share.reserve() else { return }
        let saved = path
        defer { path = saved }
        let n = frames[i].next
        frames[i].next += 1
        setPath(frame: i, name: n)
        let opened = frames[i].names.withName(n) { name, _ in
            openAndVisitDirectory(parent: frames[i].fd, name: name, context: frames[i].context, depth: i + 1, visitor: &visitor)
        }
        guard let opened else { share.release(); return }
        share.hand(HandedDirectory(
            fd: opened.fd, id: opened.id, path: path, context: opened.context,
            ancestors: outerAncestors + frames[0...i].map { DirectoryID(device: $0.device, inode: $0.inode) },
            root: currentRoot, rootDevice: rootDevice, rootMount: rootMount))
    }

    deinit {
        for frame in frames where frame.fd >= 0 { Syscalls.close(frame.fd) }
        listing.deallocate()
    }

    // MARK: - Scan roots

    func walkRoot(_ root: HostPath, visitor: inout V) {
        visitor.beginRoot(root)
        currentRoot = root.bytes
        outerAncestors.removeAll()
        openDirectories.removeAll()
        path.removeAll(keepingCapacity: true)
        path.append(UInt8(ascii: "/"))
        let components = root.segments
        // Walk down from `/`, reporting each ancestor, holding one descriptor at a time.
        var current = Glibc.dup(rootFD)
        guard current >= 0 else {
            visitor.record(WalkError(path: HostPath("/"), syscall: "dup", errno: .current)); return
        }
        defer { if current >= 0 { Syscalls.close(current) } }
        if components.isEmpty {
            walkScanRootDirectory(fd: current, visitor: &visitor)
            current = -1
            return
        }
        switch readDirectoryRecord(fd: current) {
        case .success(let record):
            path.withUnsafeBufferPointer { p in
                visitor.visitAncestor(WalkEntry(path: p, record: record, target: .descriptor(current), reader: reader))
            }
        case .failure(let error): visitor.record(error)
        }
        for (i, component) in components.enumerated() {
            let isLast = i == components.count - 1
            if path.count > 1 { path.append(UInt8(ascii: "/")) }
            path.append(contentsOf: component)
            if isExcluded(visitor) {
                // A whole scan root dropped by an exclude is worth saying.
                visitor.skip(SkippedMount(path: currentPath, reason: "scan root \(root) is excluded by the baseline"))
                return
            }
            var name = Array(component); name.append(0)
            let next: Int32? = name.withUnsafeBufferPointer { n in
                let cname = UnsafeRawPointer(n.baseAddress!).assumingMemoryBound(to: CChar.self)
                return isLast ? openScanRoot(parent: current, name: cname, root: root, visitor: &visitor)
                              : openAncestor(parent: current, name: cname, root: root, visitor: &visitor)
            }
            guard let next else { return }
            Syscalls.close(current)
            current = -1
            if isLast {
                // The root's parent is not held while the root is walked.
                walkScanRootDirectory(fd: next, visitor: &visitor)
                return
            }
            current = next
        }
    }

    /// Reads an ancestor of a scan root through its parent (which needs only search permission on the
    /// parent), reports it, and holds it with `O_PATH` to go on. `nil` when the walk cannot go on.
    private func openAncestor(parent: Int32, name: UnsafePointer<CChar>, root: HostPath, visitor: inout V) -> Int32? {
        let record: FileRecord
        switch readRecord(parent: parent, name: name) {
        case nil:
            visitor.record(WalkError(path: currentPath, syscall: "statx", errno: .noEntry,
                                     message: "scan root \(root) does not exist: \(currentPath) is missing"))
            return nil
        case .failure(let e)?: visitor.record(e); return nil
        case .success(let r)?: record = r
        }
        guard record.type == .directory else {
            visitor.record(WalkError(path: currentPath, syscall: "openat", errno: record.type == .symlink ? .tooManyLinks : .notDirectory,
                message: "scan root \(root) passes through \(currentPath), which is a \(record.type.rawValue); permdrift never follows it"))
            return nil
        }
        path.withUnsafeBufferPointer { p in
            visitor.visitAncestor(WalkEntry(path: p, record: record, target: .entry(parent: parent, name: name), reader: reader))
        }
        switch Syscalls.openAt(parent, name, flags: Syscalls.pathOpenFlags | O_DIRECTORY | O_NOFOLLOW) {
        case .success(let fd):
            if case .success(let st) = Syscalls.stat(fd: fd), st.dev == record.device, st.ino == record.inode { return fd }
            Syscalls.close(fd)
            visitor.record(WalkError(path: currentPath, message: "replaced while it was being read; scan root \(root) was not scanned"))
            return nil
        case .failure(let e):
            visitor.record(WalkError(path: currentPath, syscall: "openat", errno: e,
                                     message: "cannot reach scan root \(root): \(e.message)"))
            return nil
        }
    }

    /// Opens the scan root: returns it when it is a directory to walk; a single entry of another kind is
    /// read and visited here (and nil returned), as is an error.
    private func openScanRoot(parent: Int32, name: UnsafePointer<CChar>, root: HostPath, visitor: inout V) -> Int32? {
        switch Syscalls.openDirectory(parent, name) {
        case .success(let fd):
            return fd
        case .failure(let e) where e == .tooManyLinks || e == .notDirectory:
            if case .success(let s) = Syscalls.stat(at: parent, name), FileType(mode: s.mode) != .symlink {
                // A scan root that is a single file (or FIFO, device …): read it, never open it.
                rootDevice = s.dev
                rootMount = s.mnt_id
                let context = visitor.rootContext()
                visitNonDirectory(parent: parent, name: name, context: context, visitor: &visitor)
            } else {
                visitor.record(WalkError(path: currentPath, syscall: "openat", errno: e,
                    message: "scan root \(root) is a symlink; permdrift never follows symlinks (name the directory itself)"))
            }
        case .failure(let e):
            visitor.record(WalkError(path: currentPath, syscall: "openat", errno: e,
                                     message: "cannot open scan root \(root): \(e.message)"))
        }
        return nil
    }

    /// The path being read, as a report carries it (at most 4 KiB: see `HostPath.init(reporting:)`).
    private var currentPath: HostPath { path.withUnsafeBufferPointer { HostPath(reporting: $0) } }

    /// The longest path, and the most frames below a thread's first, of a directory whose subdirectories
    /// are handed to other threads.
    static var handOverPathLimit: Int { 16 * 1024 }
    static var handOverDepthLimit: Int { 256 }

    private func isExcluded(_ visitor: V, in directory: V.DirectoryContext? = nil) -> Bool {
        path.withUnsafeBufferPointer { visitor.isExcluded($0, in: directory) }
    }

    /// Visits the scan root directory (already open as `fd`, which this takes over) and walks below it.
    private func walkScanRootDirectory(fd: Int32, visitor: inout V) {
        let record: FileRecord
        switch readDirectoryRecord(fd: fd) {
        case .success(let r): record = r
        case .failure(let e):
            visitor.record(e); Syscalls.close(fd); return
        }
        rootDevice = record.device
        rootMount = record.mountID
        entries += 1
        let parentContext = visitor.rootContext()
        let context = path.withUnsafeBufferPointer { p in
            visitor.visit(WalkEntry(path: p, record: record, target: .descriptor(fd), reader: reader,
                                    capabilityListed: listedCapability), in: parentContext)
        }
        guard let context else { Syscalls.close(fd); return }
        push(fd: fd, id: DirectoryID(device: record.device, inode: record.inode), context: context, visitor: &visitor)
        run(visitor: &visitor)
    }

    // MARK: - The walk below a scan root

    private func run(visitor: inout V) {
        while !frames.isEmpty {
            if let share, share.wantsWork { handOver(visitor: &visitor) }
            let top = frames.count - 1
            if frames[top].next < frames[top].names.count {
                let n = frames[top].next
                frames[top].next += 1
                descend(name: n, visitor: &visitor)
            } else {
                pop(visitor: &visitor)
            }
        }
    }

    private func push(fd: Int32, id: DirectoryID, context: V.DirectoryContext, visitor: inout V) {
        frames.append(Frame(fd: fd, device: id.device, inode: id.inode, pathLength: path.count, context: context,
                            listed: isListedFilesystem(device: id.device, fd: fd)))
        openDirectories.insert(id)
        openFrames += 1
        if openFrames > frameLimit, let oldest = oldestOpenFrame(), oldest < frames.count - 1 {
            // Bound the descriptors held: the oldest directory is reopened through `..` when the walk
            // climbs back to it.
            Syscalls.close(frames[oldest].fd)
            frames[oldest].fd = -1
            openFrames -= 1
        }
        list(visitor: &visitor)
    }

    /// The open frames are the top `openFrames` ones (a descriptor is released from the bottom of them
    /// and taken again only for the frame below the one popped), so the oldest is found without a search
    /// of every frame; the loop only steps over frames a failed reopening left behind.
    private func oldestOpenFrame() -> Int? {
        var i = max(0, frames.count - openFrames)
        while i < frames.count, frames[i].fd < 0 { i += 1 }
        return i < frames.count ? i : nil
    }

    private func pop(visitor: inout V) {
        let frame = frames.removeLast()
        openDirectories.remove(DirectoryID(device: frame.device, inode: frame.inode))
        guard let parentIndex = frames.indices.last else {
            if frame.fd >= 0 { Syscalls.close(frame.fd); openFrames -= 1 }
            return
        }
        if frames[parentIndex].fd < 0 {
            reopenParent(index: parentIndex, from: frame.fd, visitor: &visitor)
        }
        if frame.fd >= 0 { Syscalls.close(frame.fd); openFrames -= 1 }
        if let parent = frames.last { path.removeSubrange(parent.pathLength..<path.count) }
    }

    /// Reopens a directory whose descriptor was released, through `..` of its child, and checks that it
    /// is still the same directory (an ancestor renamed away or replaced mid-walk is not followed).
    private func reopenParent(index: Int, from child: Int32, visitor: inout V) {
        let expected = frames[index]
        let dotdot: [CChar] = [46, 46, 0]
        var reopened: Int32 = -1
        if child >= 0, case .success(let fd) = Syscalls.openDirectory(child, dotdot) {
            if case .success(let st) = Syscalls.stat(fd: fd), st.dev == expected.device, st.ino == expected.inode {
                reopened = fd
            } else {
                Syscalls.close(fd)
            }
        }
        if reopened >= 0 {
            frames[index].fd = reopened
            openFrames += 1
            return
        }
        // Everything below the released descriptors is abandoned: it moved during the scan.
        for i in stride(from: index, through: 0, by: -1) where frames[i].fd < 0 {
            let frame = frames[i]
            if frame.next < frame.names.count {
                let p = path.withUnsafeBufferPointer { HostPath(reporting: UnsafeBufferPointer(rebasing: $0[0..<frame.pathLength])) }
                visitor.record(WalkError(path: p,
                    message: "directory moved during the scan; \(frame.names.count - frame.next) of its subdirectories were not scanned"))
            }
            frames[i].next = frames[i].names.count
        }
        // Unwind the abandoned frames without reopening them.
        while let last = frames.last, last.fd < 0 {
            frames.removeLast()
            openDirectories.remove(DirectoryID(device: last.device, inode: last.inode))
        }
    }

    /// Lists the top directory: non-directories are read and visited at once; subdirectories are
    /// remembered (as bytes) to be descended into afterwards.
    private func list(visitor: inout V) {
        let top = frames.count - 1
        let fd = frames[top].fd
        let context = frames[top].context
        let dirLength = path.count
        while true {
            let n: Int
            switch Syscalls.getdents(fd, into: listing) {
            case .success(let count): n = count
            case .failure(let e):
                path.removeSubrange(dirLength..<path.count)
                visitor.record(WalkError(path: currentPath, syscall: "getdents64", errno: e,
                                         message: "cannot list directory: \(e.message); the rest of it was not scanned"))
                return
            }
            if n == 0 { break }
            var offset = 0
            // The names of the entries read in this chunk live in `listing` until the next getdents.
            defer { visitPending(parent: fd, context: context, dirLength: dirLength, frame: top, visitor: &visitor) }
            while offset < n {
                let reclen = offset + 19 < n ? Int(listing.loadUnaligned(fromByteOffset: offset + 16, as: UInt16.self)) : 0
                guard reclen > 19, offset + reclen <= n else {
                    path.removeSubrange(dirLength..<path.count)
                    visitor.record(WalkError(path: currentPath, syscall: "getdents64", errno: Errno(EIO),
                                             message: "the kernel returned a malformed directory entry; the rest of the directory was not scanned"))
                    return
                }
                let dtype = listing[offset + 18]
                let nameStart = listing.baseAddress! + offset + 19
                let name = nameStart.assumingMemoryBound(to: CChar.self)
                let nameLength = strnlen(name, reclen - 19)
                offset += reclen
                if nameLength == 0 || (nameLength == 1 && name[0] == 46) || (nameLength == 2 && name[0] == 46 && name[1] == 46) {
                    continue
                }
                path.removeSubrange(dirLength..<path.count)
                if dirLength > 1 { path.append(UInt8(ascii: "/")) }
                path.append(contentsOf: UnsafeRawBufferPointer(start: nameStart, count: nameLength))
                if isExcluded(visitor, in: context) { continue }
                if roots.count > 1, rootLengths.contains(path.count), path != currentRoot, roots.contains(path) { continue }
                #if DEBUG
                path.withUnsafeBufferPointer { WalkHooks.reach(.beforeRead, $0) }
                #endif
                if dtype == UInt8(DT_DIR) {
                    remember(name: UnsafeRawBufferPointer(start: nameStart, count: nameLength), in: top)
                } else {
                    let nameBytes = UnsafeRawBufferPointer(start: nameStart, count: nameLength)
                    var careful = false
                    if frames[top].listed, reader.canList, let mountWatch {
                        let mountEvents = mountWatch.seen
                        switch readListed(.entry(parent: fd, name: name), device: frames[top].device, mounts: .deferred,
                                          stat: { Syscalls.stat(at: fd, name) }) {
                        case .read(nil): continue  // vanished
                        case .read(.failure(let e)?): visitor.record(e); continue
                        case .read(.success(let record)?):
                            // Visited once the mount table has been polled for the whole chunk (`visitPending`).
                            pending.append(PendingEntry(record: record, capability: listedCapability, mountEvents: mountEvents,
                                                        nameOffset: nameStart - listing.baseAddress!, nameLength: nameLength))
                            continue
                        case .careful:
                            careful = true
                        }
                    }
                    visitNonDirectory(parent: fd, name: name, context: context, visitor: &visitor, directoryName: nameBytes,
                                      frame: top, careful: careful)
                }
            }
        }
        path.removeSubrange(dirLength..<path.count)
    }

    private func remember(name: UnsafeRawBufferPointer, in frame: Int) {
        frames[frame].names.append(name)
    }

    /// Reads an entry that is not opened — statx, its ACLs, statx again to detect a swap in between; a
    /// changed entry is read once more, then reported. `nil` when it vanished.
    private func readRecord(parent: Int32, name: UnsafePointer<CChar>, listedDevice: UInt64? = nil) -> Result<FileRecord, WalkError>? {
        listedCapability = nil
        if let listedDevice, reader.canList,
           case .read(let result) = readListed(.entry(parent: parent, name: name), device: listedDevice, mounts: .now,
                                               stat: { Syscalls.stat(at: parent, name) }) {
            return result
        }
        for _ in 0..<2 {
            let first: pd_stat
            switch Syscalls.stat(at: parent, name) {
            case .success(let s): first = s
            case .failure(let e) where e == .noEntry: return nil
            case .failure(let e): return .failure(WalkError(path: currentPath, syscall: "statx", errno: e))
            }
            var record = FileRecord(first)
            if record.type == .symlink { return .success(record) }
            switch reader.acl(.entry(parent: parent, name: name), defaultACL: false) {
            case .success(let acl): record.acl = (acl?.isMinimal ?? true) ? nil : acl
            case .failure(.system(_, let e)) where e == .noEntry: return nil
            case .failure(.system(let call, let e)): return .failure(WalkError(path: currentPath, syscall: call, errno: e))
            case .failure(.decoding(let d)): return .failure(WalkError(path: currentPath, message: d.description))
            }
            if record.type == .directory {
                switch reader.acl(.entry(parent: parent, name: name), defaultACL: true) {
                case .success(let acl): record.defaultACL = acl
                case .failure(.system(_, let e)) where e == .noEntry: return nil
                case .failure(.system(let call, let e)): return .failure(WalkError(path: currentPath, syscall: call, errno: e))
                case .failure(.decoding(let d)): return .failure(WalkError(path: currentPath, message: "default ACL: \(d.description)"))
                }
            }
            #if DEBUG
            path.withUnsafeBufferPointer { WalkHooks.reach(.beforeCarefulRecheck, $0) }
            #endif
            switch Syscalls.stat(at: parent, name) {
            case .success(let second) where second.ino == first.ino && second.dev == first.dev
                && second.ctime_sec == first.ctime_sec && second.ctime_nsec == first.ctime_nsec:
                return .success(record)
            case .success: continue
            case .failure(let e) where e == .noEntry: return nil
            case .failure(let e): return .failure(WalkError(path: currentPath, syscall: "statx", errno: e))
            }
        }
        return .failure(WalkError(path: currentPath, message: "changed during the scan (mode, owner or ACL changed while it was read, twice)"))
    }

    /// Reads and visits an entry that is not opened. A directory found here (listed with an unknown type,
    /// or swapped in after the listing) is remembered for descent when `frame` is given.
    private func visitNonDirectory(parent: Int32, name: UnsafePointer<CChar>, context: V.DirectoryContext,
                                   visitor: inout V, directoryName: UnsafeRawBufferPointer? = nil, frame: Int? = nil,
                                   careful: Bool = false) {
        let listedDevice = careful ? nil : frame.flatMap { frames[$0].listed ? frames[$0].device : nil }
        switch readRecord(parent: parent, name: name, listedDevice: listedDevice) {
        case nil: return
        case .failure(let e)?: visitor.record(e)
        case .success(let record)?:
            visitRead(record, capability: listedCapability, parent: parent, name: name, context: context, visitor: &visitor,
                      directoryName: directoryName, frame: frame)
        }
    }

    /// Visits an entry that is not opened, once read.
    private func visitRead(_ record: FileRecord, capability: Bool?, parent: Int32, name: UnsafePointer<CChar>,
                           context: V.DirectoryContext, visitor: inout V, directoryName: UnsafeRawBufferPointer?, frame: Int?) {
        if record.type == .directory {
            if let directoryName, let frame {
                remember(name: directoryName, in: frame)
            } else {
                // It failed to open as a directory a moment ago and is one again: swapped back and forth.
                visitor.record(WalkError(path: currentPath,
                    message: "changed during the scan (a directory was replaced and put back); nothing below it was scanned"))
            }
            return
        }
        if options.oneFilesystem, record.isMountRoot {
            // Something mounted over a file (a bind mount, or an agent's FUSE file): what answers there
            // is another filesystem, not the entry of this one.
            visitor.skip(SkippedMount(path: currentPath, reason: "mount point (one-filesystem)"))
            return
        }
        entries += 1
        path.withUnsafeBufferPointer { p in
            _ = visitor.visit(WalkEntry(path: p, record: record, target: .entry(parent: parent, name: name), reader: reader,
                                        capabilityListed: capability), in: context)
        }
    }

    /// Visits the entries of the chunk read the listed way, after one poll of the mount table for all of
    /// them. A mount made or removed since the previous poll (a FUSE mount over an entry, lazily unmounted
    /// between its attribute listing and statx) sends every one of them the careful way instead.
    private func visitPending(parent: Int32, context: V.DirectoryContext, dirLength: Int, frame: Int, visitor: inout V) {
        guard !pending.isEmpty else { return }
        let mountEvents = mountWatch?.poll() ?? -1
        for i in pending.indices {
            let entry = pending[i]
            let nameStart = listing.baseAddress! + entry.nameOffset
            let name = nameStart.assumingMemoryBound(to: CChar.self)
            let nameBytes = UnsafeRawBufferPointer(start: nameStart, count: entry.nameLength)
            path.removeSubrange(dirLength..<path.count)
            if dirLength > 1 { path.append(UInt8(ascii: "/")) }
            path.append(contentsOf: nameBytes)
            if entry.mountEvents != mountEvents {
                listedReads -= 1
                visitNonDirectory(parent: parent, name: name, context: context, visitor: &visitor, directoryName: nameBytes, frame: frame,
                                  careful: true)
            } else {
                visitRead(entry.record, capability: entry.capability, parent: parent, name: name, context: context,
                          visitor: &visitor, directoryName: nameBytes, frame: frame)
            }
        }
        pending.removeAll(keepingCapacity: true)
        path.removeSubrange(dirLength..<path.count)
    }

    /// Opens remembered subdirectory `n` of the top directory, visits it, and pushes it for listing.
    private func descend(name n: Int, visitor: inout V) {
        let top = frames.count - 1
        let parentFD = frames[top].fd
        let context = frames[top].context
        setPath(frame: top, name: n)
        let opened = frames[top].names.withName(n) { name, _ in
            openAndVisitDirectory(parent: parentFD, name: name, context: context, depth: frames.count, visitor: &visitor)
        }
        if frames[top].next == frames[top].names.count {
            // Every subdirectory of it has been entered: its names are not needed again (a frame deep in a
            // chain holds no name while the walk is below it).
            frames[top].names.removeAll()
            frames[top].next = 0
        }
        if let opened { push(fd: opened.fd, id: opened.id, context: opened.context, visitor: &visitor) }
    }

    /// Sets the path to remembered subdirectory `n` of `frame`.
    private func setPath(frame: Int, name n: Int) {
        let dirLength = frames[frame].pathLength
        path.removeSubrange(dirLength..<path.count)
        if dirLength > 1 { path.append(UInt8(ascii: "/")) }
        frames[frame].names.withName(n) { _, bytes in path.append(contentsOf: bytes) }
    }

    private struct OpenedDirectory {
        let fd: Int32
        let id: DirectoryID
        let context: V.DirectoryContext
    }

    /// Opens a subdirectory of an open directory (the path names it), reads and visits it. Returns it,
    /// open, when the walk goes on below it. `depth` is how many frames are its ancestors.
    private func openAndVisitDirectory(parent: Int32, name: UnsafePointer<CChar>, context: V.DirectoryContext,
                                       depth: Int, visitor: inout V) -> OpenedDirectory? {
        let fd: Int32
        switch Syscalls.openDirectory(parent, name) {
        case .success(let opened): fd = opened
        case .failure(let e) where e == .noEntry: return nil
        case .failure(let e) where e == .tooManyLinks || e == .notDirectory:
            // Swapped for a symlink or another kind of entry after it was listed: record what it is now.
            visitNonDirectory(parent: parent, name: name, context: context, visitor: &visitor)
            return nil
        case .failure(let e):
            // Unreadable: report its own metadata (read through the parent) and that its contents are unknown.
            visitor.record(WalkError(path: currentPath, syscall: "openat", errno: e,
                                     message: "cannot open directory: \(e.message); nothing below it was scanned"))
            visitUnopenableDirectory(parent: parent, name: name, context: context, visitor: &visitor)
            return nil
        }
        let record: FileRecord
        let parentFrame = frames[depth - 1]
        switch readDirectoryRecord(fd: fd, listedDevice: parentFrame.listed ? parentFrame.device : nil) {
        case .success(let r): record = r
        case .failure(let e):
            visitor.record(e); Syscalls.close(fd); return nil
        }
        // Another mount (a bind mount of the same filesystem too): compared by mount id where the kernel
        // gives one, so a btrfs subvolume an agent creates is walked, not skipped.
        let otherMount = record.mountID != 0 && rootMount != 0 ? record.mountID != rootMount : record.device != rootDevice
        if options.oneFilesystem, otherMount || record.isMountRoot {
            Syscalls.close(fd)
            visitor.skip(SkippedMount(path: currentPath, reason: "mount point (one-filesystem)"))
            return nil
        }
        let id = DirectoryID(device: record.device, inode: record.inode)
        // `depth` frames are its ancestors: all of them when it is listed in the top frame, fewer when it
        // is handed over from a frame further up (those are checked one by one: a handed directory is high up).
        let isAncestor = depth == frames.count ? openDirectories.contains(id)
            : frames[0..<depth].contains(where: { $0.device == id.device && $0.inode == id.inode }) || outerAncestors.contains(id)
        if isAncestor {
            Syscalls.close(fd)
            visitor.record(WalkError(path: currentPath, message: "directory loop: this directory is also one of its own ancestors"))
            return nil
        }
        entries += 1
        let capability = listedCapability
        let childContext = path.withUnsafeBufferPointer { p in
            visitor.visit(WalkEntry(path: p, record: record, target: .descriptor(fd), reader: reader,
                                    capabilityListed: capability), in: context)
        }
        guard let childContext else { Syscalls.close(fd); return nil }
        return OpenedDirectory(fd: fd, id: id, context: childContext)
    }

    private func visitUnopenableDirectory(parent: Int32, name: UnsafePointer<CChar>,
                                          context: V.DirectoryContext, visitor: inout V) {
        guard case .success(let record)? = readRecord(parent: parent, name: name) else { return }
        entries += 1
        path.withUnsafeBufferPointer { p in
            _ = visitor.visit(WalkEntry(path: p, record: record, target: .entry(parent: parent, name: name), reader: reader),
                              in: context)
        }
    }

    /// A directory's record from its own descriptor: fstat, both ACLs, fstat again (an ACL or mode that
    /// changes while being read is read once more, then reported).
    private func readDirectoryRecord(fd: Int32, listedDevice: UInt64? = nil) -> Result<FileRecord, WalkError> {
        listedCapability = nil
        if let listedDevice, case .read(.success(let record)?) = readListed(.descriptor(fd), device: listedDevice, mounts: .none,
                                                                            stat: { Syscalls.stat(fd: fd) }) {
            return .success(record)
        }
        for _ in 0..<2 {
            let first: pd_stat
            switch Syscalls.stat(fd: fd) {
            case .success(let s): first = s
            case .failure(let e): return .failure(WalkError(path: currentPath, syscall: "statx", errno: e))
            }
            var record = FileRecord(first)
            switch reader.acl(.descriptor(fd), defaultACL: false) {
            case .success(let acl): record.acl = (acl?.isMinimal ?? true) ? nil : acl
            case .failure(.system(let call, let e)): return .failure(WalkError(path: currentPath, syscall: call, errno: e))
            case .failure(.decoding(let d)): return .failure(WalkError(path: currentPath, message: d.description))
            }
            switch reader.acl(.descriptor(fd), defaultACL: true) {
            case .success(let acl): record.defaultACL = acl
            case .failure(.system(let call, let e)): return .failure(WalkError(path: currentPath, syscall: call, errno: e))
            case .failure(.decoding(let d)): return .failure(WalkError(path: currentPath, message: "default ACL: \(d.description)"))
            }
            if case .success(let second) = Syscalls.stat(fd: fd),
               second.ctime_sec == first.ctime_sec, second.ctime_nsec == first.ctime_nsec {
                return .success(record)
            }
        }
        return .failure(WalkError(path: currentPath, message: "changed during the scan (mode, owner or ACL changed while it was read, twice)"))
    }

    // MARK: - Reading an entry with two system calls

    /// When a listed read by name is checked against mount events: at once, or by the caller for a
    /// chunk of entries; reads through a descriptor need no check (the descriptor is the inode).
    private enum MountCheck { case now, deferred, none }

    private enum ListedRead {
        /// The record (nil: the entry vanished).
        case read(Result<FileRecord, WalkError>?)
        /// Read it the careful way (statx, attributes, statx again).
        case careful
    }

    /// Reads an entry with one listing of its attribute names, the values of those permdrift reads
    /// (usually none), then statx (and a poll of the mount table, which costs no path walk). The result holds only if the entry's ctime is older than the moment
    /// these reads began, with two seconds to spare for filesystems that keep whole seconds: every change
    /// of mode, owner, ACL, capability, link count or name (rename, link) sets ctime to the current time,
    /// so an older ctime means nothing changed while they were made. Otherwise, or on any error, the
    /// careful path reads it again and reports what it must. Used only on filesystems known to keep ctime
    /// that way and to list ACLs (`isListedFilesystem`), only when statx finds the entry on the same
    /// device as its directory and not a mount point, only when no mount was made or removed in the
    /// process's namespace meanwhile (`MountWatch`), and only when the clock did not go back meanwhile.
    private func readListed(_ target: AttributeTarget, device: UInt64, mounts: MountCheck,
                            stat: () -> Result<pd_stat, Errno>) -> ListedRead {
        guard let mountWatch else { return .careful }
        let mountEvents = mountWatch.seen
        let began = pd_coarse_realtime_seconds()
        // Filesystems clamp ctime at their maximum (2038 for some): past it every ctime would look old.
        guard began < Int64(Int32.max) - 3 else { return .careful }
        let presence: ExtendedAttributeReader.Presence
        switch reader.presence(target) {
        case .success(let p): presence = p
        case .failure(let e) where e == .noEntry: return .read(nil)
        case .failure: return .careful
        }
        var acl: PosixACL?
        var defaultACL: PosixACL?
        if presence.accessACL {
            guard case .success(let a) = reader.acl(target, defaultACL: false), a != nil else { return .careful }
            acl = a
        }
        if presence.defaultACL {
            guard case .success(let a) = reader.acl(target, defaultACL: true), a != nil else { return .careful }
            defaultACL = a
        }
        #if DEBUG
        path.withUnsafeBufferPointer { WalkHooks.reach(.beforeListedStat, $0) }
        #endif
        let st: pd_stat
        switch stat() {
        case .success(let s): st = s
        case .failure(let e) where e == .noEntry: return .read(nil)
        case .failure: return .careful
        }
        // The clock did not go back while reading; and a mount made or removed meanwhile (a FUSE mount
        // over the entry, lazily unmounted between the listing and statx) sends the entry the careful way.
        guard st.ctime_sec + 2 < began, st.dev == device, st.is_mount_root != 1,
              pd_coarse_realtime_seconds() >= began else { return .careful }
        if mounts == .now, mountWatch.poll() != mountEvents { return .careful }
        var record = FileRecord(st)
        if record.type != .symlink { record.acl = (acl?.isMinimal ?? true) ? nil : acl }
        if record.type == .directory { record.defaultACL = defaultACL }
        listedCapability = presence.capability
        listedReads += 1
        return .read(.success(record))
    }

    private func isListedFilesystem(device: UInt64, fd: Int32) -> Bool {
        guard reader.canList, mountWatch != nil else { return false }
        if let known = listedFilesystems[device] { return known }
        let listed = listedFilesystemTypes.contains(pd_filesystem_type(fd))
        listedFilesystems[device] = listed
        return listed
    }
}

/// Filesystems that set ctime on every change of an inode's metadata and name (rename included), with
/// nanosecond or one-second granularity, and list POSIX ACLs among its attribute names: ext2/3/4, XFS,
/// Btrfs and tmpfs. Entries of others are read the careful way.
private let listedFilesystemTypes: Set<Int64> = [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994]
