/// Walks scan roots the way docs/design.md, "Walking hostile trees", requires: every operation relative to a
/// directory descriptor the walk holds, directories opened with `O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK`, other
/// entries never opened, symlinks never followed, names kept as bytes, no depth limit and a bounded
/// number of open descriptors.
public struct Walker {
    public struct Options: Sendable {
        /// Do not enter directories on another mount than the scan root's.
        public var oneFilesystem: Bool = true
        /// Directory descriptors the walk holds, shared among its threads (each holds at least two);
        /// deeper parents are reopened through `..`. Each thread may briefly hold two more (the directory it
        /// is opening, and one it is handing over), and one handed directory may wait per thread.
        public var maxOpenDirectories: Int = 64
        /// Read entries' ACLs through `/proc/self/fd/PARENT/name` even where `getxattrat` works (tests of
        /// the fallback that kernels before 6.13 and seccomp-filtered services use).
        public var forceProcFallback = false
        /// Read every entry the careful way (statx, attributes, statx again), never with one listing of its
        /// attribute names (tests of both ways).
        public var forceCarefulReads = false
        /// Threads that walk at once (visitors that can be split, see `ParallelWalkVisitor`); by default
        /// one per CPU this process may use, at most 8.
        public var threads: Int = Options.defaultThreads

        public static var defaultThreads: Int { min(WorkerThreads.availableCPUs, 8) }

        public init(
            oneFilesystem: Bool = true, maxOpenDirectories: Int = 64, forceProcFallback: Bool = false,
            forceCarefulReads: Bool = false, threads: Int = Options.defaultThreads
        ) {
            self.oneFilesystem = oneFilesystem
            self.maxOpenDirectories = max(2, maxOpenDirectories)
            self.forceProcFallback = forceProcFallback
            self.forceCarefulReads = forceCarefulReads
            self.threads = max(1, threads)
        }
    }

    /// The directory that stands for `/` (the host's root, or `--root DIR`).
    public let rootDirectory: String
    /// The same directory opened in advance (before a sandbox closes the way to it), when given.
    public let openRoot: RootDirectory?
    public let options: Options
    public private(set) var entriesVisited = 0
    /// Entries whose record was read with one listing of attribute names and one statx (the rest were
    /// read the careful way: statx, attributes, statx again).
    public private(set) var listedReads = 0
    /// Directories one thread handed to another in parallel walks (for tests and benchmarks).
    public private(set) var directoriesHandedOver = 0
    /// How entries' ACLs are read on this kernel (known once the walk starts).
    public private(set) var attributeMethod: String = ""

    public init(rootDirectory: String, options: Options = Options()) {
        self.rootDirectory = rootDirectory
        openRoot = nil
        self.options = options
    }

    public init(root: RootDirectory, options: Options = Options()) {
        rootDirectory = root.path
        openRoot = root
        self.options = options
    }

    /// A new descriptor of the root directory.
    func openRootDescriptor() -> Result<FileDescriptor, Errno> {
        if let openRoot { return Syscalls.duplicate(openRoot.descriptor) }
        return Syscalls.open(rootDirectory, [.readOnly, .directory, .closeOnExec])
    }

    /// Walks every scan root in turn, on this thread. Throws only when the walk cannot start at all.
    public mutating func walk<V: WalkVisitor>(roots: [HostPath], visitor: inout V) throws(WalkStartError) {
        let (rootFD, reader) = try start()
        defer { rootFD.close() }
        let unique = Set(roots).sorted()
        let walk = DirectoryWalk<V>(
            rootFD: rootFD, options: options, reader: reader, roots: Set(unique.map(\.bytes)),
            mountWatch: mountWatch(0))
        for root in unique {
            walk.walkRoot(root, visitor: &visitor)
        }
        entriesVisited += walk.entries
        listedReads += walk.listedReads
    }

    /// Walks the scan roots on `options.threads` threads, each with its own visitor (made by
    /// `makeWorker`), merged into `visitor` at the end. The threads are started here, so they inherit the
    /// sandbox the caller is in.
    public mutating func walk<V: ParallelWalkVisitor>(roots: [HostPath], visitor: inout V) throws(WalkStartError) {
        let threads = options.threads
        guard threads > 1 else {
            var single = WalkOnOneThread(visitor)
            try walk(roots: roots, visitor: &single)
            visitor = single.visitor
            return
        }
        let (rootFD, firstReader) = try start()
        defer { rootFD.close() }
        let unique = Set(roots).sorted()
        let rootSet = Set(unique.map(\.bytes))
        let share = WorkShare<V.DirectoryContext>(roots: unique, capacity: threads)
        let frameLimit = max(2, options.maxOpenDirectories / threads)
        let slots = (0..<threads).map { i in
            WorkerSlot(
                visitor: i == 0 ? visitor : visitor.makeWorker(),
                walk: DirectoryWalk<V>(
                    rootFD: rootFD, options: options,
                    reader: i == 0 ? firstReader : ExtendedAttributeReader(method: firstReader.method, canList: firstReader.canList),
                    roots: rootSet, share: share, frameLimit: frameLimit, mountWatch: mountWatch(i)))
        }
        // Called on the concrete slots, not through a protocol: the walk stays specialized for V.
        WorkerThreads.run(count: threads) { i in slots[i].run() }
        // Every thread has been joined: the slots are this thread's again.
        visitor = slots[0].visitor
        for slot in slots.dropFirst() { visitor.merge(slot.visitor) }
        entriesVisited += slots.reduce(0) { $0 + $1.walk.entries }
        listedReads += slots.reduce(0) { $0 + $1.walk.listedReads }
        directoriesHandedOver += share.handed
    }

    /// The mount watch of thread `i`: opened in advance with the root directory (a sandboxed walk cannot
    /// open /proc), else opened now. Without one the thread reads every entry the careful way.
    private func mountWatch(_ i: Int) -> MountWatch? {
        if let openRoot { return i < openRoot.mountWatches.count ? openRoot.mountWatches[i] : nil }
        return MountWatch()
    }

    /// Opens the root directory and decides how attributes are read.
    private mutating func start() throws(WalkStartError) -> (FileDescriptor, ExtendedAttributeReader) {
        let rootFD: FileDescriptor
        switch openRootDescriptor() {
        case .success(let fd): rootFD = fd
        case .failure(let e):
            throw WalkStartError(description: "cannot open the root directory \(TerminalText.escape(Array(rootDirectory.utf8))): \(e)")
        }
        var method: EntryAttributeMethod
        do { method = try ExtendedAttributeReader.probe(directory: rootFD) } catch {
            rootFD.close()
            throw WalkStartError(description: error.description)
        }
        if options.forceProcFallback { method = .procFallback }
        attributeMethod = method == .getxattrat ? "getxattrat" : "/proc/self/fd + lgetxattr"
        let canList = !options.forceCarefulReads && ExtendedAttributeReader.probeListing(directory: rootFD, method: method)
        return (rootFD, ExtendedAttributeReader(method: method, canList: canList))
    }
}

/// One thread's visitor and walk state in a parallel walk. Each slot is used by one thread at a time:
/// its worker while the walk runs, the caller after all workers have been joined.
private final class WorkerSlot<V: WalkVisitor>: @unchecked Sendable {
    var visitor: V
    let walk: DirectoryWalk<V>
    init(visitor: V, walk: DirectoryWalk<V>) {
        self.visitor = visitor
        self.walk = walk
    }

    func run() { walk.work(visitor: &visitor) }
}

/// A parallel visitor walked on one thread: hides the conformance so the single-threaded walk is chosen.
private struct WalkOnOneThread<V: ParallelWalkVisitor>: WalkVisitor {
    var visitor: V
    init(_ visitor: V) { self.visitor = visitor }
    func isExcluded(_ path: UnsafeBufferPointer<UInt8>, in directory: V.DirectoryContext?) -> Bool {
        visitor.isExcluded(path, in: directory)
    }
    mutating func beginRoot(_ root: HostPath) { visitor.beginRoot(root) }
    mutating func visitAncestor(_ entry: WalkEntry) { visitor.visitAncestor(entry) }
    mutating func rootContext() -> V.DirectoryContext { visitor.rootContext() }
    mutating func visit(_ entry: WalkEntry, in parent: V.DirectoryContext) -> V.DirectoryContext? { visitor.visit(entry, in: parent) }
    mutating func record(_ error: WalkError) { visitor.record(error) }
    mutating func skip(_ mount: SkippedMount) { visitor.skip(mount) }
}

/// The walk cannot start (the root directory cannot be opened, or the kernel lacks what a safe walk needs).
public struct WalkStartError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// The directory that stands for `/`, opened once (before the sandbox is applied) and shared by the walk
/// and the look-ups that follow it.
public final class RootDirectory: Sendable {
    public let path: String
    public let descriptor: FileDescriptor

    /// Mount watches for the walk's threads, opened now because the sandbox closes /proc.
    let mountWatches: [MountWatch]

    public init(path: String, threads: Int = 1) throws(WalkStartError) {
        switch Syscalls.open(path, [.readOnly, .directory, .closeOnExec]) {
        case .success(let fd): descriptor = fd
        case .failure(let e):
            throw WalkStartError(description: "cannot open the root directory \(TerminalText.escape(path)): \(e)")
        }
        self.path = path
        mountWatches = (0..<max(1, threads)).compactMap { _ in MountWatch() }
    }

    deinit { descriptor.close() }
}
