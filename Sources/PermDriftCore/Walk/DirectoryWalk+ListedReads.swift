/// Reading an entry the listed way (one listing of its attribute names, one statx), on filesystems
/// known to keep ctime so, and only while this thread's `MountWatch` sees no mount made or removed:
/// entries read so by name wait in `pending` for one poll of the mount table per listing chunk.
extension DirectoryWalk {
    struct PendingEntry {
        let record: FileRecord
        let capability: Bool?
        /// Mount events this thread had seen before the entry was read (`MountWatch.seen`).
        let mountEvents: Int
        /// The name, in `listing`.
        let nameOffset: Int
        let nameLength: Int
    }

    /// Visits the entries of the chunk read the listed way, after one poll of the mount table for all of
    /// them. A mount made or removed since the previous poll (a FUSE mount over an entry, lazily unmounted
    /// between its attribute listing and statx) sends every one of them the careful way instead.
    func visitPending(parent: FileDescriptor, context: V.DirectoryContext, dirLength: Int, frame: Int, visitor: inout V) {
        guard !pending.isEmpty else { return }
        let mountEvents = mountWatch?.poll() ?? -1
        for i in pending.indices {
            let entry = pending[i]
            let nameStart = listing.baseAddress! + entry.nameOffset
            let name = nameStart.assumingMemoryBound(to: CChar.self)
            let nameBytes = UnsafeRawBufferPointer(start: nameStart, count: entry.nameLength)
            path.removeSubrange(dirLength..<path.count)
            if dirLength > 1 { path.append(UInt8(ascii: "/")) }
            path.append(contentsOf: nameBytes)
            if entry.mountEvents != mountEvents {
                listedReads -= 1
                visitNonDirectory(
                    parent: parent, name: name, context: context, visitor: &visitor, directoryName: nameBytes, frame: frame,
                    careful: true)
            } else {
                visitRead(
                    entry.record, capability: entry.capability, parent: parent, name: name, context: context,
                    visitor: &visitor, directoryName: nameBytes, frame: frame)
            }
        }
        pending.removeAll(keepingCapacity: true)
        path.removeSubrange(dirLength..<path.count)
    }

    /// When a listed read by name is checked against mount events: at once, or by the caller for a
    /// chunk of entries; reads through a descriptor need no check (the descriptor is the inode).
    enum MountCheck { case now, deferred, none }

    enum ListedRead {
        /// The record (nil: the entry vanished).
        case read(Result<FileRecord, WalkError>?)
        /// Read it the careful way (statx, attributes, statx again).
        case careful
    }

    /// Reads an entry with one listing of its attribute names, the values of those permdrift reads
    /// (usually none), then statx (and a poll of the mount table, which costs no path walk). The result holds only if the entry's ctime is older than the moment
    /// these reads began, with two seconds to spare for filesystems that keep whole seconds: every change
    /// of mode, owner, ACL, capability, link count or name (rename, link) sets ctime to the current time,
    /// so an older ctime means nothing changed while they were made. Otherwise, or on any error, the
    /// careful path reads it again and reports what it must. Used only on filesystems known to keep ctime
    /// that way and to list ACLs (`isListedFilesystem`), only when statx finds the entry on the same
    /// device as its directory and not a mount point, only when no mount was made or removed in the
    /// process's namespace meanwhile (`MountWatch`), and only when the clock did not go back meanwhile.
    func readListed(
        _ target: AttributeTarget, device: UInt64, mounts: MountCheck,
        readStatus: () -> Result<FileStatus, Errno>
    ) -> ListedRead {
        guard let mountWatch else { return .careful }
        let mountEvents = mountWatch.seen
        let began = SystemClock.coarseRealtimeSeconds()
        // Filesystems clamp ctime at their maximum (2038 for some): past it every ctime would look old.
        guard began < Int64(Int32.max) - 3 else { return .careful }
        let presence: ExtendedAttributeReader.Presence
        switch reader.presence(target) {
        case .success(let p): presence = p
        case .failure(let e) where e == .noEntry: return .read(nil)
        case .failure: return .careful
        }
        var acl: PosixACL?
        var defaultACL: PosixACL?
        if presence.accessACL {
            guard case .success(let a) = reader.acl(target, defaultACL: false), a != nil else { return .careful }
            acl = a
        }
        if presence.defaultACL {
            guard case .success(let a) = reader.acl(target, defaultACL: true), a != nil else { return .careful }
            defaultACL = a
        }
        #if DEBUG
            path.withUnsafeBufferPointer { WalkHooks.reach(.beforeListedStat, $0) }
        #endif
        let st: FileStatus
        switch readStatus() {
        case .success(let s): st = s
        case .failure(let e) where e == .noEntry: return .read(nil)
        case .failure: return .careful
        }
        // The clock did not go back while reading; and a mount made or removed meanwhile (a FUSE mount
        // over the entry, lazily unmounted between the listing and statx) sends the entry the careful way.
        guard st.ctimeSeconds + 2 < began, st.device == device, !st.isMountRoot,
            SystemClock.coarseRealtimeSeconds() >= began
        else { return .careful }
        if mounts == .now, mountWatch.poll() != mountEvents { return .careful }
        var record = FileRecord(st)
        if record.type != .symlink { record.acl = (acl?.isMinimal ?? true) ? nil : acl }
        if record.type == .directory { record.defaultACL = defaultACL }
        listedCapability = presence.capability
        listedReads += 1
        return .read(.success(record))
    }

    func isListedFilesystem(device: UInt64, fd: FileDescriptor) -> Bool {
        guard reader.canList, mountWatch != nil else { return false }
        if let known = listedFilesystems[device] { return known }
        let listed = listedFilesystemTypes.contains(Syscalls.filesystemType(fd))
        listedFilesystems[device] = listed
        return listed
    }
}

/// Filesystems that set ctime on every change of an inode's metadata and name (rename included), with
/// nanosecond or one-second granularity, and list POSIX ACLs among its attribute names: ext2/3/4, XFS,
/// Btrfs and tmpfs. Entries of others are read the careful way.
private let listedFilesystemTypes: Set<Int64> = [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994]
