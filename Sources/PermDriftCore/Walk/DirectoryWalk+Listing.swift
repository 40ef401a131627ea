/// Listing a directory: its entries read with getdents64, excluded ones and other scan roots left out,
/// subdirectories remembered for descent, every other entry read (the listed way or the careful way)
/// and visited.
extension DirectoryWalk {
    /// Lists the top directory: non-directories are read and visited at once; subdirectories are
    /// remembered (as bytes) to be descended into afterwards.
    func list(visitor: inout V) {
        let top = frames.count - 1
        // Called for the frame just pushed, which holds its descriptor; without one, the worker stops
        // rather than skip the directory's entries (see `descend`).
        guard let fd = frames[top].fd else { preconditionFailure("the walk's top frame holds no descriptor") }
        let context = frames[top].context
        let dirLength = path.count
        while true {
            let n: Int
            switch Syscalls.getdents(fd, into: listing) {
            case .success(let count): n = count
            case .failure(let e):
                path.removeSubrange(dirLength..<path.count)
                visitor.record(
                    WalkError(
                        path: currentPath, syscall: "getdents64", errno: e,
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
                    visitor.record(
                        WalkError(
                            path: currentPath, syscall: "getdents64", errno: .ioError,
                            message: "the kernel returned a malformed directory entry; the rest of the directory was not scanned"))
                    return
                }
                let dtype = listing[offset + 18]
                let nameStart = listing.baseAddress! + offset + 19
                let name = nameStart.assumingMemoryBound(to: CChar.self)
                let nameLength = Syscalls.cStringLength(name, limit: reclen - 19)
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
                if dtype == Syscalls.directoryEntryType {
                    remember(name: UnsafeRawBufferPointer(start: nameStart, count: nameLength), in: top)
                } else {
                    let nameBytes = UnsafeRawBufferPointer(start: nameStart, count: nameLength)
                    var careful = false
                    if frames[top].listed, reader.canList, let mountWatch {
                        let mountEvents = mountWatch.seen
                        switch readListed(
                            .entry(parent: fd, name: name), device: frames[top].device, mounts: .deferred,
                            readStatus: { Syscalls.stat(at: fd, name) })
                        {
                        case .read(nil): continue  // vanished
                        case .read(.failure(let e)?): visitor.record(e); continue
                        case .read(.success(let record)?):
                            // Visited once the mount table has been polled for the whole chunk (`visitPending`).
                            pending.append(
                                PendingEntry(
                                    record: record, capability: listedCapability, mountEvents: mountEvents,
                                    nameOffset: nameStart - listing.baseAddress!, nameLength: nameLength))
                            continue
                        case .careful:
                            careful = true
                        }
                    }
                    visitNonDirectory(
                        parent: fd, name: name, context: context, visitor: &visitor, directoryName: nameBytes,
                        frame: top, careful: careful)
                }
            }
        }
        path.removeSubrange(dirLength..<path.count)
    }

    private func remember(name: UnsafeRawBufferPointer, in frame: Int) {
        frames[frame].names.append(name)
    }

    /// Reads and visits an entry that is not opened. A directory found here (listed with an unknown type,
    /// or swapped in after the listing) is remembered for descent when `frame` is given.
    func visitNonDirectory(
        parent: FileDescriptor, name: UnsafePointer<CChar>, context: V.DirectoryContext,
        visitor: inout V, directoryName: UnsafeRawBufferPointer? = nil, frame: Int? = nil,
        careful: Bool = false
    ) {
        let listedDevice = careful ? nil : frame.flatMap { frames[$0].listed ? frames[$0].device : nil }
        switch readRecord(parent: parent, name: name, listedDevice: listedDevice) {
        case nil: return
        case .failure(let e)?: visitor.record(e)
        case .success(let record)?:
            visitRead(
                record, capability: listedCapability, parent: parent, name: name, context: context, visitor: &visitor,
                directoryName: directoryName, frame: frame)
        }
    }

    /// Visits an entry that is not opened, once read.
    func visitRead(
        _ record: FileRecord, capability: Bool?, parent: FileDescriptor, name: UnsafePointer<CChar>,
        context: V.DirectoryContext, visitor: inout V, directoryName: UnsafeRawBufferPointer?, frame: Int?
    ) {
        if record.type == .directory {
            if let directoryName, let frame {
                remember(name: directoryName, in: frame)
            } else {
                // It failed to open as a directory a moment ago and is one again: swapped back and forth.
                visitor.record(
                    WalkError(
                        path: currentPath,
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
            _ = visitor.visit(
                WalkEntry(
                    path: p, record: record, target: .entry(parent: parent, name: name), reader: reader,
                    capabilityListed: capability), in: context)
        }
    }
}
