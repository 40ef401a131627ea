/// The state of one walker thread: the stack of open directories, the path buffer and the listing buffer.
///
/// This file holds that state and the loop that walks below a scan root (descending into remembered
/// subdirectories, opening and visiting each); the rest of the walk is in extensions: its frames
/// (`+Frames`), opening scan roots (`+ScanRoots`), listing a directory (`+Listing`), reading an entry
/// the careful way (`+CarefulReads`) or the listed way (`+ListedReads`), and handing work to other
/// threads (`+Parallel`).
final class DirectoryWalk<V: WalkVisitor> {
    let rootFD: FileDescriptor
    let options: Walker.Options
    let reader: ExtendedAttributeReader
    var entries = 0
    /// Entries read the listed way (two system calls), for tests and benchmarks.
    var listedReads = 0
    var path: [UInt8] = []
    var frames: [Frame] = []
    var openFrames = 0
    /// At most this many directory descriptors are held by this thread.
    let frameLimit: Int
    let listing: UnsafeMutableRawBufferPointer
    var rootDevice: UInt64 = 0
    var rootMount: UInt64 = 0
    /// Every scan root: one met inside another is not entered there, it is walked as a root of its own
    /// (on its own filesystem, with its own ancestors).
    let roots: Set<[UInt8]>
    /// The lengths of `roots`: a path of another length is no root (no hashing of every path).
    let rootLengths: Set<Int>
    var currentRoot: [UInt8] = []
    /// The directories above the bottom frame, when it was handed over by another thread (loop detection).
    var outerAncestors: [DirectoryID] = []
    /// The directories of `frames` and `outerAncestors`, for loop detection in constant time per directory
    /// (a directory deep in a chain is not compared with every one above it).
    var openDirectories = Set<DirectoryID>()
    /// Work shared with other threads, when the walk is parallel.
    let share: WorkShare<V.DirectoryContext>?
    /// Per device: whether its filesystem is one whose attributes may be read the listed way.
    var listedFilesystems: [UInt64: Bool] = [:]
    /// Whether the entry read last has `security.capability`, when its attributes were listed.
    var listedCapability: Bool?
    /// Mount events of this process's namespace, seen by this thread alone (no listed reads without it).
    let mountWatch: MountWatch?
    /// Entries of the listing chunk being walked that were read the listed way by name and wait for the
    /// mount table to be polled once for all of them (`visitPending`) before they are visited.
    var pending: [PendingEntry] = []

    init(
        rootFD: FileDescriptor, options: Walker.Options, reader: ExtendedAttributeReader, roots: Set<[UInt8]>,
        share: WorkShare<V.DirectoryContext>? = nil, frameLimit: Int? = nil, mountWatch: MountWatch? = nil
    ) {
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

    deinit {
        for frame in frames { frame.fd?.close() }
        listing.deallocate()
    }

    /// The path being read, as a report carries it (at most 4 KiB: see `HostPath.init(reporting:)`).
    var currentPath: HostPath { path.withUnsafeBufferPointer { HostPath(reporting: $0) } }

    func isExcluded(_ visitor: V, in directory: V.DirectoryContext? = nil) -> Bool {
        path.withUnsafeBufferPointer { visitor.isExcluded($0, in: directory) }
    }

    // MARK: - The walk below a scan root

    func run(visitor: inout V) {
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

    /// Opens remembered subdirectory `n` of the top directory, visits it, and pushes it for listing.
    private func descend(name n: Int, visitor: inout V) {
        let top = frames.count - 1
        // The top frame always holds its descriptor (only frames below it are released). Were it ever
        // without one, skipping the directory would hide its entries: the worker stops instead, and its
        // supervisor records an unfinished scan (exit 2).
        guard let parentFD = frames[top].fd else { preconditionFailure("the walk's top frame holds no descriptor") }
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
    func setPath(frame: Int, name n: Int) {
        let dirLength = frames[frame].pathLength
        path.removeSubrange(dirLength..<path.count)
        if dirLength > 1 { path.append(UInt8(ascii: "/")) }
        frames[frame].names.withName(n) { _, bytes in path.append(contentsOf: bytes) }
    }

    struct OpenedDirectory {
        let fd: FileDescriptor
        let id: DirectoryID
        let context: V.DirectoryContext
    }

    /// Opens a subdirectory of an open directory (the path names it), reads and visits it. Returns it,
    /// open, when the walk goes on below it. `depth` is how many frames are its ancestors.
    func openAndVisitDirectory(
        parent: FileDescriptor, name: UnsafePointer<CChar>, context: V.DirectoryContext,
        depth: Int, visitor: inout V
    ) -> OpenedDirectory? {
        let fd: FileDescriptor
        switch Syscalls.openDirectory(parent, name) {
        case .success(let opened): fd = opened
        case .failure(let e) where e == .noEntry: return nil
        case .failure(let e) where e == .tooManyLinks || e == .notDirectory:
            // Swapped for a symlink or another kind of entry after it was listed: record what it is now.
            visitNonDirectory(parent: parent, name: name, context: context, visitor: &visitor)
            return nil
        case .failure(let e):
            // Unreadable: report its own metadata (read through the parent) and that its contents are unknown.
            visitor.record(
                WalkError(
                    path: currentPath, syscall: "openat", errno: e,
                    message: "cannot open directory: \(e.message); nothing below it was scanned"))
            visitUnopenableDirectory(parent: parent, name: name, context: context, visitor: &visitor)
            return nil
        }
        let record: FileRecord
        let parentFrame = frames[depth - 1]
        switch readDirectoryRecord(fd: fd, listedDevice: parentFrame.listed ? parentFrame.device : nil) {
        case .success(let r): record = r
        case .failure(let e):
            visitor.record(e); fd.close(); return nil
        }
        // Another mount (a bind mount of the same filesystem too): compared by mount id where the kernel
        // gives one, so a btrfs subvolume an agent creates is walked, not skipped.
        let otherMount = record.mountID != 0 && rootMount != 0 ? record.mountID != rootMount : record.device != rootDevice
        if options.oneFilesystem, otherMount || record.isMountRoot {
            fd.close()
            visitor.skip(SkippedMount(path: currentPath, reason: "mount point (one-filesystem)"))
            return nil
        }
        let id = DirectoryID(device: record.device, inode: record.inode)
        // `depth` frames are its ancestors: all of them when it is listed in the top frame, fewer when it
        // is handed over from a frame further up (those are checked one by one: a handed directory is high up).
        let isAncestor =
            depth == frames.count
            ? openDirectories.contains(id)
            : frames[0..<depth].contains(where: { $0.device == id.device && $0.inode == id.inode }) || outerAncestors.contains(id)
        if isAncestor {
            fd.close()
            visitor.record(WalkError(path: currentPath, message: "directory loop: this directory is also one of its own ancestors"))
            return nil
        }
        entries += 1
        let capability = listedCapability
        let childContext = path.withUnsafeBufferPointer { p in
            visitor.visit(
                WalkEntry(
                    path: p, record: record, target: .descriptor(fd), reader: reader,
                    capabilityListed: capability), in: context)
        }
        guard let childContext else { fd.close(); return nil }
        return OpenedDirectory(fd: fd, id: id, context: childContext)
    }

    private func visitUnopenableDirectory(
        parent: FileDescriptor, name: UnsafePointer<CChar>,
        context: V.DirectoryContext, visitor: inout V
    ) {
        guard case .success(let record)? = readRecord(parent: parent, name: name) else { return }
        entries += 1
        path.withUnsafeBufferPointer { p in
            _ = visitor.visit(
                WalkEntry(path: p, record: record, target: .entry(parent: parent, name: name), reader: reader),
                in: context)
        }
    }
}
