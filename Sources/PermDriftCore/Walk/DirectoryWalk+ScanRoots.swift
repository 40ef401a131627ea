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
        var parent: FileDescriptor
        switch Syscalls.duplicate(rootFD) {
        case .success(let fd): parent = fd
        case .failure(let e): visitor.record(WalkError(path: HostPath("/"), syscall: "dup", errno: e)); return
        }
        // Held until the walk goes on below it (then closed, or handed to the walk of the root directory).
        var held: FileDescriptor? = parent
        defer { held?.close() }
        if components.isEmpty {
            held = nil
            walkScanRootDirectory(fd: parent, visitor: &visitor)
            return
        }
        switch readDirectoryRecord(fd: parent) {
        case .success(let record):
            path.withUnsafeBufferPointer { p in
                visitor.visitAncestor(WalkEntry(path: p, record: record, target: .descriptor(parent), reader: reader))
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
            let next: FileDescriptor? = name.withUnsafeBufferPointer { n in
                let cname = UnsafeRawPointer(n.baseAddress!).assumingMemoryBound(to: CChar.self)
                return isLast
                    ? openScanRoot(parent: parent, name: cname, root: root, visitor: &visitor)
                    : openAncestor(parent: parent, name: cname, root: root, visitor: &visitor)
            }
            guard let next else { return }
            parent.close()
            held = nil
            if isLast {
                // The root's parent is not held while the root is walked.
                walkScanRootDirectory(fd: next, visitor: &visitor)
                return
            }
            parent = next
            held = next
        }
    }

    /// Reads an ancestor of a scan root through its parent (which needs only search permission on the
    /// parent), reports it, and holds it with `O_PATH` to go on. `nil` when the walk cannot go on.
    private func openAncestor(parent: FileDescriptor, name: UnsafePointer<CChar>, root: HostPath, visitor: inout V) -> FileDescriptor? {
        let record: FileRecord
        switch readRecord(parent: parent, name: name) {
        case nil:
            visitor.record(
                WalkError(
                    path: currentPath, syscall: "statx", errno: .noEntry,
                    message: "scan root \(root) does not exist: \(currentPath) is missing"))
            return nil
        case .failure(let e)?: visitor.record(e); return nil
        case .success(let r)?: record = r
        }
        guard record.type == .directory else {
            visitor.record(
                WalkError(
                    path: currentPath, syscall: "openat", errno: record.type == .symlink ? .tooManyLinks : .notDirectory,
                    message:
                        "scan root \(root) passes through \(currentPath), which is a \(record.type.rawValue); permdrift never follows it"))
            return nil
        }
        path.withUnsafeBufferPointer { p in
            visitor.visitAncestor(WalkEntry(path: p, record: record, target: .entry(parent: parent, name: name), reader: reader))
        }
        switch Syscalls.openAt(parent, name, [.pathOnly, .directory, .noFollow]) {
        case .success(let fd):
            if case .success(let st) = Syscalls.stat(fd: fd), st.device == record.device, st.inode == record.inode { return fd }
            fd.close()
            visitor.record(WalkError(path: currentPath, message: "replaced while it was being read; scan root \(root) was not scanned"))
            return nil
        case .failure(let e):
            visitor.record(
                WalkError(
                    path: currentPath, syscall: "openat", errno: e,
                    message: "cannot reach scan root \(root): \(e.message)"))
            return nil
        }
    }

    /// Opens the scan root: returns it when it is a directory to walk; a single entry of another kind is
    /// read and visited here (and nil returned), as is an error.
    private func openScanRoot(parent: FileDescriptor, name: UnsafePointer<CChar>, root: HostPath, visitor: inout V) -> FileDescriptor? {
        switch Syscalls.openDirectory(parent, name) {
        case .success(let fd):
            return fd
        case .failure(let e) where e == .tooManyLinks || e == .notDirectory:
            if case .success(let s) = Syscalls.stat(at: parent, name), s.type != .symlink {
                // A scan root that is a single file (or FIFO, device …): read it, never open it.
                rootDevice = s.device
                rootMount = s.mountID
                let context = visitor.rootContext()
                visitNonDirectory(parent: parent, name: name, context: context, visitor: &visitor)
            } else {
                visitor.record(
                    WalkError(
                        path: currentPath, syscall: "openat", errno: e,
                        message: "scan root \(root) is a symlink; permdrift never follows symlinks (name the directory itself)"))
            }
        case .failure(let e):
            visitor.record(
                WalkError(
                    path: currentPath, syscall: "openat", errno: e,
                    message: "cannot open scan root \(root): \(e.message)"))
        }
        return nil
    }

    /// Visits the scan root directory (already open as `fd`, which this takes over) and walks below it.
    private func walkScanRootDirectory(fd: FileDescriptor, visitor: inout V) {
        let record: FileRecord
        switch readDirectoryRecord(fd: fd) {
        case .success(let r): record = r
        case .failure(let e):
            visitor.record(e); fd.close(); return
        }
        rootDevice = record.device
        rootMount = record.mountID
        entries += 1
        let parentContext = visitor.rootContext()
        let context = path.withUnsafeBufferPointer { p in
            visitor.visit(
                WalkEntry(
                    path: p, record: record, target: .descriptor(fd), reader: reader,
                    capabilityListed: listedCapability), in: parentContext)
        }
        guard let context else { fd.close(); return }
        push(fd: fd, id: DirectoryID(device: record.device, inode: record.inode), context: context, visitor: &visitor)
        run(visitor: &visitor)
    }
}
