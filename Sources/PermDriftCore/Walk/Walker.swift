import CPermDrift
import Glibc

/// Walks scan roots the way DESIGN.md "Walking hostile trees" requires: every operation relative to a
/// directory descriptor the walk holds, directories opened with `O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK`, other
/// entries never opened, symlinks never followed, names kept as bytes, no depth limit and a bounded
/// number of open descriptors.
public struct Walker {
    public struct Options: Sendable {
        /// Do not enter directories on another mount than the scan root's.
        public var oneFilesystem: Bool = true
        /// At most this many directory descriptors are held; deeper parents are reopened through `..`.
        public var maxOpenDirectories: Int = 64
        /// Read entries' ACLs through `/proc/self/fd/PARENT/name` even where `getxattrat` works (tests of
        /// the fallback that kernels before 6.13 and seccomp-filtered services use).
        public var forceProcFallback = false

        public init(oneFilesystem: Bool = true, maxOpenDirectories: Int = 64, forceProcFallback: Bool = false) {
            self.oneFilesystem = oneFilesystem
            self.maxOpenDirectories = max(2, maxOpenDirectories)
            self.forceProcFallback = forceProcFallback
        }
    }

    /// The directory that stands for `/` (the host's root, or `--root DIR`).
    public let rootDirectory: String
    /// The same directory opened in advance (before a sandbox closes the way to it), when given.
    public let openRoot: RootDirectory?
    public let options: Options
    public private(set) var entriesVisited = 0
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
    func openRootDescriptor() -> Int32 {
        if let openRoot { return Glibc.dup(openRoot.fd) }
        return rootDirectory.withCString { Glibc.open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    }

    /// Walks every scan root in turn. Throws only when the walk cannot start at all.
    public mutating func walk<V: WalkVisitor>(roots: [HostPath], visitor: inout V) throws(WalkStartError) {
        let rootFD = openRootDescriptor()
        guard rootFD >= 0 else {
            throw WalkStartError(description: "cannot open the root directory \(TerminalText.escape(Array(rootDirectory.utf8))): \(Errno.current)")
        }
        defer { Syscalls.close(rootFD) }
        var method: EntryAttributeMethod
        do { method = try ExtendedAttributeReader.probe(directory: rootFD) } catch {
            throw WalkStartError(description: error.description)
        }
        if options.forceProcFallback { method = .procFallback }
        attributeMethod = method == .getxattrat ? "getxattrat" : "/proc/self/fd + lgetxattr"
        let unique = Set(roots).sorted()
        let walk = DirectoryWalk<V>(rootFD: rootFD, options: options, reader: ExtendedAttributeReader(method: method),
                                    roots: Set(unique.map(\.bytes)))
        for root in unique {
            walk.walkRoot(root, visitor: &visitor)
        }
        entriesVisited += walk.entries
    }

}

/// The walk cannot start (the root directory cannot be opened, or the kernel lacks what a safe walk needs).
public struct WalkStartError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// The directory that stands for `/`, opened once (before the sandbox is applied) and shared by the walk
/// and the look-ups that follow it.
public final class RootDirectory: Sendable {
    public let path: String
    public let fd: Int32

    public init(path: String) throws(WalkStartError) {
        let fd = path.withCString { Glibc.open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else {
            throw WalkStartError(description: "cannot open the root directory \(TerminalText.escape(path)): \(Errno.current)")
        }
        self.path = path
        self.fd = fd
    }

    deinit { Syscalls.close(fd) }
}
