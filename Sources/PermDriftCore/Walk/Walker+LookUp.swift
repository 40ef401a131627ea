/// The result of looking one path up directly (for pins the walk did not meet).
public enum LookUpResult: Sendable {
    case found(FileRecord)
    case missing(String)
    case failed(WalkError)
}

extension Walker {
    /// Reads one path's record, opening each component relative to the last without following symlinks.
    public func lookUp(_ path: HostPath) -> LookUpResult {
        switch lookUpChain(path) {
        case .success(let chain): return .found(chain.last!.record)
        case .failure(.missing(let why)): return .missing(why)
        case .failure(.failed(let error)): return .failed(error)
        }
    }

    public enum ChainFailure: Error, Sendable {
        case missing(String)
        case failed(WalkError)
    }

    /// Reads the records of `/` and of every component down to `path`, each through its parent's
    /// descriptor, never following a symlink (a symlink may only be the last component).
    public func lookUpChain(_ path: HostPath) -> Result<[(path: HostPath, record: FileRecord)], ChainFailure> {
        var fd: FileDescriptor
        switch openRootDescriptor() {
        case .success(let opened): fd = opened
        case .failure(let e): return .failure(.failed(WalkError(path: path, syscall: "open", errno: e)))
        }
        defer { fd.close() }
        let method: EntryAttributeMethod
        do { method = try ExtendedAttributeReader.probe(directory: fd) } catch {
            return .failure(.failed(WalkError(path: path, message: error.description)))
        }
        let reader = ExtendedAttributeReader(method: method)
        var chain = [(path: HostPath, record: FileRecord)]()
        // `/` itself, from its descriptor.
        let rootStat: FileStatus
        switch Syscalls.stat(fd: fd) {
        case .success(let st): rootStat = st
        case .failure(let e): return .failure(.failed(WalkError(path: HostPath("/"), syscall: "statx", errno: e)))
        }
        var root = FileRecord(rootStat)
        for isDefault in [false, true] {
            switch reader.acl(.descriptor(fd), defaultACL: isDefault) {
            case .success(let acl) where isDefault: root.defaultACL = acl
            case .success(let acl): root.acl = (acl?.isMinimal ?? true) ? nil : acl
            case .failure(.system(let call, let e)): return .failure(.failed(WalkError(path: HostPath("/"), syscall: call, errno: e)))
            case .failure(.decoding(let d)): return .failure(.failed(WalkError(path: HostPath("/"), message: d.description)))
            }
        }
        chain.append((HostPath("/"), root))
        let components = path.segments
        var walked = [UInt8]()
        for (i, component) in components.enumerated() {
            var name = Array(component); name.append(0)
            walked.append(UInt8(ascii: "/")); walked.append(contentsOf: component)
            let here = HostPath(bytes: walked)
            let isLast = i == components.count - 1
            let step: Result<FileRecord, ChainFailure> = name.withUnsafeBufferPointer { buffer in
                let cname = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
                // Read as the walk reads an entry (CarefulEntryRead): a swap or a change between the statx
                // and the ACL read is read once more, then reported, never given as a record that mixes
                // two states.
                let record: FileRecord
                let outcome = CarefulEntryRead.read(
                    parent: fd, name: cname, reader: reader, path: { here },
                    beforeRecheck: {
                        #if DEBUG
                            here.bytes.withUnsafeBufferPointer { WalkHooks.reach(.beforeCarefulRecheck, $0) }
                        #endif
                    })
                switch outcome {
                case .record(let read): record = read
                case .vanished: return .failure(.missing("\(here.lossyString) does not exist"))
                case .failed(let error): return .failure(.failed(error))
                case .changedTwice: return .failure(.failed(WalkError(path: here, message: changedTwice)))
                }
                if !isLast && record.type != .directory {
                    return .failure(.missing("\(here.lossyString) is a \(record.type.rawValue), not a directory (never followed)"))
                }
                if !isLast {
                    switch Syscalls.openAt(fd, cname, [.pathOnly, .directory, .noFollow]) {
                    case .success(let next):
                        guard case .success(let check) = Syscalls.stat(fd: next), check.inode == record.inode, check.device == record.device
                        else {
                            next.close()
                            return .failure(.failed(WalkError(path: here, message: "replaced while it was being read")))
                        }
                        fd.close()
                        fd = next
                    case .failure(let e) where e == .noEntry: return .failure(.missing("\(here.lossyString) does not exist"))
                    case .failure(let e): return .failure(.failed(WalkError(path: here, syscall: "openat", errno: e)))
                    }
                }
                return .success(record)
            }
            switch step {
            case .success(let record): chain.append((here, record))
            case .failure(let f): return .failure(f)
            }
        }
        return .success(chain)
    }
}

/// What a look-up reports of an entry that changed while it was read, twice.
private let changedTwice = "changed while it was being read (mode, owner or ACL changed while it was read, twice)"  // not a system call
