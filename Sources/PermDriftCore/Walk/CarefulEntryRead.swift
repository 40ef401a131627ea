/// How an entry that is not opened is read, by the walk and by look-ups (pins, `explain`) alike:
/// statx, its ACL (and a directory's default ACL), statx again. Another inode swapped in, or a change
/// in between (mode, owner, ACL: the ctime moves), makes it read once more; changed again, it is
/// reported, never given as a record that mixes two states (docs/design.md, "Walking hostile trees").
enum CarefulEntryRead {
    enum Outcome {
        case record(FileRecord)
        /// The name is gone (ENOENT at any step).
        case vanished
        case failed(WalkError)
        /// It changed while it was read, twice.
        case changedTwice
    }

    /// Reads `name` in `parent`. `path` names it in errors (made only when one is reported);
    /// `beforeRecheck` runs just before the second statx (the tests' race hook).
    static func read(
        parent: FileDescriptor, name: UnsafePointer<CChar>, reader: ExtendedAttributeReader,
        path: () -> HostPath, beforeRecheck: () -> Void
    ) -> Outcome {
        for _ in 0..<2 {
            let first: FileStatus
            switch Syscalls.stat(at: parent, name) {
            case .success(let s): first = s
            case .failure(let e) where e == .noEntry: return .vanished
            case .failure(let e): return .failed(WalkError(path: path(), syscall: "statx", errno: e))
            }
            var record = FileRecord(first)
            if record.type == .symlink { return .record(record) }
            switch reader.acl(.entry(parent: parent, name: name), defaultACL: false) {
            case .success(let acl): record.acl = (acl?.isMinimal ?? true) ? nil : acl
            case .failure(.system(_, let e)) where e == .noEntry: return .vanished
            case .failure(.system(let call, let e)): return .failed(WalkError(path: path(), syscall: call, errno: e))
            case .failure(.decoding(let d)): return .failed(WalkError(path: path(), message: d.description))
            }
            if record.type == .directory {
                switch reader.acl(.entry(parent: parent, name: name), defaultACL: true) {
                case .success(let acl): record.defaultACL = acl
                case .failure(.system(_, let e)) where e == .noEntry: return .vanished
                case .failure(.system(let call, let e)): return .failed(WalkError(path: path(), syscall: call, errno: e))
                case .failure(.decoding(let d)): return .failed(WalkError(path: path(), message: "default ACL: \(d.description)"))
                }
            }
            beforeRecheck()
            switch Syscalls.stat(at: parent, name) {
            case .success(let second) where second.isSameInode(as: first) && second.hasSameChangeTime(as: first):
                return .record(record)
            case .success: continue
            case .failure(let e) where e == .noEntry: return .vanished
            case .failure(let e): return .failed(WalkError(path: path(), syscall: "statx", errno: e))
            }
        }
        return .changedTwice
    }
}
