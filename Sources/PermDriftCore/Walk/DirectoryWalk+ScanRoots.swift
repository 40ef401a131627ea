import Glibc

/// Opening a scan root: the walk goes down from `/` one component at a time (each ancestor read through
/// its parent and reported, no symlink followed), then walks the root directory, or reads the root
/// when it is a single entry of another kind.
extension DirectoryWalk {
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
}
