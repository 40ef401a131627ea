/// Whether the Landlock sandbox is on for this process.
public enum SandboxStatus: Sendable, Equatable, CustomStringConvertible {
    case enforced(abi: Int)
    case unavailable(String)

    public var isEnforced: Bool { if case .enforced = self { true } else { false } }

    public var description: String {
        switch self {
        case .enforced(let abi): "Landlock sandbox on (ABI \(abi))"
        case .unavailable(let why): "Landlock sandbox off: \(why)"
        }
    }
}

/// Restricts the process with Landlock once everything it reads is loaded: no file may be opened for
/// reading, written, executed, created or removed anywhere but in the state and report directories (and
/// read only in the state directory), and no TCP connection may be made. This is what keeps
/// CAP_DAC_READ_SEARCH from ever reading an agent's file.
///
/// Listing directories and truncating files are the two rights it leaves to the process's credentials
/// (DAC, and the unit's read-only file system): Landlock checks a right it handles on every open by
/// walking from the opened directory up to the nearest rule that grants it, and the optional truncate
/// right up to `/`. Handled, every directory the walk opens n levels deep cost n steps in the kernel: a
/// chain of 20,000 directories an agent makes in a second took 47 s to scan instead of 0.5 s, and
/// 100,000 would pass the run's deadline. Listing is what the scan does, and CAP_DAC_READ_SEARCH allows
/// it everywhere already; a file can be truncated only by opening it for writing (denied) or by path
/// with write permission, which the service's account does not have on the agents' files.
/// It applies to the calling thread and the threads it starts afterwards, so it is applied before any
/// worker thread exists.
public enum Sandbox {
    // Filesystem rights, as <linux/landlock.h> numbers them.
    static let execute: UInt64 = 1 << 0, writeFile: UInt64 = 1 << 1, readFile: UInt64 = 1 << 2, readDir: UInt64 = 1 << 3
    static let removeFile: UInt64 = 1 << 5, makeReg: UInt64 = 1 << 8
    static let refer: UInt64 = 1 << 13, truncate: UInt64 = 1 << 14, ioctlDev: UInt64 = 1 << 15

    /// The filesystem rights the sandbox handles (each denied unless a rule grants it): every right an
    /// ABI version knows but listing directories and truncating (see above).
    static func handledFilesystem(abi: Int) -> UInt64 {
        var rights: UInt64 = ((1 << 13) - 1) & ~readDir
        if abi >= 2 { rights |= refer }
        if abi >= 5 { rights |= ioctlDev }
        return rights
    }

    /// The directories a scan needs.
    public struct Plan: Sendable {
        /// The scan roots (descriptors, e.g. `O_PATH`): no report or state directory may overlap them.
        public var listable: [FileDescriptor] = []
        /// Directories where reports are written (files created, written, renamed; nothing read).
        public var writable: [FileDescriptor] = []
        /// The state directory: also read (the state a run keeps).
        public var state: FileDescriptor?

        public init(listable: [FileDescriptor] = [], writable: [FileDescriptor] = [], state: FileDescriptor? = nil) {
            self.listable = listable
            self.writable = writable
            self.state = state
        }
    }

    /// Applies the plan. Returns `.unavailable` (and restricts nothing) where the kernel has no Landlock,
    /// or where a report or state directory is a scan root, lies inside one or above one: a rule that
    /// lets files be written there would reach into the scanned tree, so no sandbox could keep its promise.
    public static func restrict(_ plan: Plan) -> SandboxStatus {
        let roots = plan.listable.map(identity)
        for fd in plan.writable + (plan.state.map { [$0] } ?? []) {
            let chain = ancestry(fd)
            for (i, root) in roots.enumerated() where root != nil {
                if chain.contains(where: { $0 == root! }) || ancestry(plan.listable[i]).contains(where: { $0 == identity(fd) }) {
                    return .unavailable(
                        "a report or state directory overlaps a scan root (one contains the other), so writing there would reach into the scanned tree; put reports outside the scanned trees"
                    )
                }
            }
        }
        let abi: Int
        switch Landlock.abiVersion() {
        case .success(let version): abi = version
        case .failure(let e):
            return .unavailable(
                e == .noSystemCall
                    ? "the kernel has no Landlock (ENOSYS)"
                    : e == .notSupported ? "Landlock is disabled at boot (EOPNOTSUPP)" : "landlock_create_ruleset: \(e)")
        }
        let fs = handledFilesystem(abi: abi)
        let net: UInt64 = abi >= 4 ? 0b11 : 0  // bind and connect TCP
        let scoped: UInt64 = abi >= 6 ? 0b11 : 0  // abstract UNIX sockets and signals outside the domain
        let ruleset: FileDescriptor
        switch Landlock.createRuleset(filesystem: fs, network: net, scoped: scoped, abi: abi) {
        case .success(let fd): ruleset = fd
        case .failure(let e): return .unavailable("landlock_create_ruleset: \(e)")
        }
        return ruleset.closeAfter { ruleset in
            // Reports: create the temporary file, write it, rename it over the old one, fsync the directory.
            let write = writeFile | makeReg | removeFile
            for fd in plan.writable {
                if case .failure(let e) = Landlock.allowBeneath(ruleset, fd, access: write & fs) {
                    return .unavailable("landlock_add_rule: \(e)")
                }
            }
            if let fd = plan.state, case .failure(let e) = Landlock.allowBeneath(ruleset, fd, access: (write | readFile) & fs) {
                return .unavailable("landlock_add_rule: \(e)")
            }
            if case .failure(let e) = Landlock.restrictSelf(ruleset) { return .unavailable("landlock_restrict_self: \(e)") }
            // A ruleset binds only the thread that applies it: the watchdog applies it to itself too.
            guard Landlock.restrictWatchdog(ruleset) else {
                return .unavailable("the run's watchdog thread could not restrict itself; one thread would be outside the sandbox")
            }
            return .enforced(abi: abi)
        }
    }

    struct Identity: Equatable { let device: UInt64; let inode: UInt64 }

    static func identity(_ fd: FileDescriptor) -> Identity? {
        guard case .success(let st) = Syscalls.stat(fd: fd) else { return nil }
        return Identity(device: st.device, inode: st.inode)
    }

    /// The directory and every directory above it, by device and inode (through `..`, up to `/`).
    static func ancestry(_ fd: FileDescriptor) -> [Identity] {
        var out = [Identity]()
        guard case .success(var current) = Syscalls.duplicate(fd) else { return out }
        while let id = identity(current), !out.contains(id) {
            out.append(id)
            let parent = Syscalls.openAt(current, "..", [.pathOnly, .directory])
            current.close()
            guard case .success(let p) = parent else { return out }
            current = p
        }
        current.close()
        return out
    }

    /// Opens a directory named by a trusted path (a report's or the state directory), `O_PATH`, for a rule.
    public static func openDirectory(_ path: String) -> Result<FileDescriptor, SystemCallError> {
        Syscalls.open(path, [.pathOnly, .directory]).mapError { SystemCallError("open", path: path, errno: $0) }
    }

    /// Tries to open a file for reading and closes it at once: the test that the sandbox holds.
    public static func probeRead(_ path: String) -> Result<Void, Errno> {
        Syscalls.open(path, [.readOnly, .noFollow, .nonBlocking, .closeOnExec]).map { $0.close() }
    }

    /// Closes descriptors a plan no longer needs (the rules hold the directories).
    public static func close(_ plan: Plan) {
        for fd in plan.listable + plan.writable + (plan.state.map { [$0] } ?? []) { fd.close() }
    }

    /// Opens a directory for a rule, `O_PATH`, each component under `rootFD` without following a symlink
    /// (a scan root that is a symlink gets no rule; the walk reports it).
    public static func openBeneath(_ root: FileDescriptor, _ path: HostPath) -> FileDescriptor? {
        guard case .success(var fd) = Syscalls.duplicate(root) else { return nil }
        for component in path.segments {
            var name = Array(component); name.append(0)
            let next = name.withUnsafeBufferPointer { n in
                Syscalls.openAt(
                    fd, UnsafeRawPointer(n.baseAddress!).assumingMemoryBound(to: CChar.self),
                    [.pathOnly, .noFollow, .directory])
            }
            fd.close()
            guard case .success(let n) = next else { return nil }
            fd = n
        }
        return fd
    }
}
