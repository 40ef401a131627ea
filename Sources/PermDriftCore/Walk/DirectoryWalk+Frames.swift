/// The walk's frames: the stack of directories held open from a scan root (or a directory handed over
/// by another thread) down to the one being listed, pushed when entered and popped when done. At most
/// `frameLimit` of them hold a descriptor; the oldest is released and reopened through `..` when the
/// walk climbs back to it.
extension DirectoryWalk {
    struct Frame {
        /// Nil while released (see `frameLimit`).
        var fd: FileDescriptor?
        let device: UInt64
        let inode: UInt64
        let pathLength: Int
        /// Its subdirectories, remembered while it was listed; `next` is the first not yet entered.
        var names = NameStore()
        var next = 0
        let context: V.DirectoryContext
        /// Whether entries of this directory may be read the listed way (see `readListed`).
        let listed: Bool
    }

    func push(fd: FileDescriptor, id: DirectoryID, context: V.DirectoryContext, visitor: inout V) {
        frames.append(
            Frame(
                fd: fd, device: id.device, inode: id.inode, pathLength: path.count, context: context,
                listed: isListedFilesystem(device: id.device, fd: fd)))
        openDirectories.insert(id)
        openFrames += 1
        if openFrames > frameLimit, let oldest = oldestOpenFrame(), oldest < frames.count - 1 {
            // Bound the descriptors held: the oldest directory is reopened through `..` when the walk
            // climbs back to it.
            frames[oldest].fd?.close()
            frames[oldest].fd = nil
            openFrames -= 1
        }
        list(visitor: &visitor)
    }

    /// The open frames are the top `openFrames` ones (a descriptor is released from the bottom of them
    /// and taken again only for the frame below the one popped), so the oldest is found without a search
    /// of every frame; the loop only steps over frames a failed reopening left behind.
    private func oldestOpenFrame() -> Int? {
        var i = max(0, frames.count - openFrames)
        while i < frames.count, frames[i].fd == nil { i += 1 }
        return i < frames.count ? i : nil
    }

    func pop(visitor: inout V) {
        let frame = frames.removeLast()
        openDirectories.remove(DirectoryID(device: frame.device, inode: frame.inode))
        guard let parentIndex = frames.indices.last else {
            if let fd = frame.fd { fd.close(); openFrames -= 1 }
            return
        }
        if frames[parentIndex].fd == nil {
            reopenParent(index: parentIndex, from: frame.fd, visitor: &visitor)
        }
        if let fd = frame.fd { fd.close(); openFrames -= 1 }
        if let parent = frames.last { path.removeSubrange(parent.pathLength..<path.count) }
    }

    /// Reopens a directory whose descriptor was released, through `..` of its child, and checks that it
    /// is still the same directory (an ancestor renamed away or replaced mid-walk is not followed).
    private func reopenParent(index: Int, from child: FileDescriptor?, visitor: inout V) {
        let expected = frames[index]
        let dotdot: [CChar] = [46, 46, 0]
        var reopened: FileDescriptor?
        if let child, case .success(let fd) = Syscalls.openDirectory(child, dotdot) {
            if case .success(let st) = Syscalls.stat(fd: fd), st.device == expected.device, st.inode == expected.inode {
                reopened = fd
            } else {
                fd.close()
            }
        }
        if let reopened {
            frames[index].fd = reopened
            openFrames += 1
            return
        }
        // Everything below the released descriptors is abandoned: it moved during the scan.
        for i in stride(from: index, through: 0, by: -1) where frames[i].fd == nil {
            let frame = frames[i]
            if frame.next < frame.names.count {
                let p = path.withUnsafeBufferPointer { HostPath(reporting: UnsafeBufferPointer(rebasing: $0[0..<frame.pathLength])) }
                visitor.record(
                    WalkError(
                        path: p,
                        message: "directory moved during the scan; \(frame.names.count - frame.next) of its subdirectories were not scanned"
                    ))
            }
            frames[i].next = frames[i].names.count
        }
        // Unwind the abandoned frames without reopening them.
        while let last = frames.last, last.fd == nil {
            frames.removeLast()
            openDirectories.remove(DirectoryID(device: last.device, inode: last.inode))
        }
    }
}
