/// Reading an entry the careful way: statx, its ACLs, statx again to see a swap or a change in between;
/// an entry that changed is read once more, then reported.
extension DirectoryWalk {
    /// Reads an entry that is not opened — statx, its ACLs, statx again to detect a swap in between; a
    /// changed entry is read once more, then reported. `nil` when it vanished.
    func readRecord(parent: FileDescriptor, name: UnsafePointer<CChar>, listedDevice: UInt64? = nil) -> Result<FileRecord, WalkError>? {
        listedCapability = nil
        if let listedDevice, reader.canList,
            case .read(let result) = readListed(
                .entry(parent: parent, name: name), device: listedDevice, mounts: .now,
                readStatus: { Syscalls.stat(at: parent, name) })
        {
            return result
        }
        let outcome = CarefulEntryRead.read(
            parent: parent, name: name, reader: reader, path: { currentPath },
            beforeRecheck: {
                #if DEBUG
                    path.withUnsafeBufferPointer { WalkHooks.reach(.beforeCarefulRecheck, $0) }
                #endif
            })
        switch outcome {
        case .record(let record): return .success(record)
        case .vanished: return nil
        case .failed(let error): return .failure(error)
        case .changedTwice:
            return .failure(
                WalkError(path: currentPath, message: "changed during the scan (mode, owner or ACL changed while it was read, twice)"))
        }
    }

    /// A directory's record from its own descriptor: fstat, both ACLs, fstat again (an ACL or mode that
    /// changes while being read is read once more, then reported).
    func readDirectoryRecord(fd: FileDescriptor, listedDevice: UInt64? = nil) -> Result<FileRecord, WalkError> {
        listedCapability = nil
        if let listedDevice,
            case .read(.success(let record)?) = readListed(
                .descriptor(fd), device: listedDevice, mounts: .none,
                readStatus: { Syscalls.stat(fd: fd) })
        {
            return .success(record)
        }
        for _ in 0..<2 {
            let first: FileStatus
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
            if case .success(let second) = Syscalls.stat(fd: fd), second.hasSameChangeTime(as: first) {
                return .success(record)
            }
        }
        return .failure(
            WalkError(path: currentPath, message: "changed during the scan (mode, owner or ACL changed while it was read, twice)"))
    }
}
