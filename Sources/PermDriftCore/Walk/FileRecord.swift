/// The kind of a filesystem entry, in the baseline's vocabulary.
public enum FileType: String, CaseIterable, Sendable, Comparable {
    case file, directory, symlink, fifo, socket, device

    public static func < (a: FileType, b: FileType) -> Bool { a.rawValue < b.rawValue }
}

/// What permdrift knows of one entry: its kind, owner, group, permission bits, link count and ACLs.
public struct FileRecord: Hashable, Sendable {
    public var type: FileType
    /// The 12 permission bits of `st_mode` (with an extended ACL the group bits are the mask).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var links: UInt64
    public var device: UInt64
    public var inode: UInt64
    public var ctimeSeconds: Int64
    public var ctimeNanoseconds: UInt32
    /// The access ACL when it has extended entries; `nil` when the mode bits are the whole ACL.
    public var acl: PosixACL?
    /// The default ACL of a directory, `nil` when it has none.
    public var defaultACL: PosixACL?
    /// The mount the entry is on (statx `stx_mnt_id`, 0 when unknown) and whether it is that mount's root.
    var mountID: UInt64 = 0
    var isMountRoot = false

    public init(
        type: FileType, mode: UInt32, uid: UInt32, gid: UInt32, links: UInt64 = 1,
        device: UInt64 = 0, inode: UInt64 = 0, ctimeSeconds: Int64 = 0, ctimeNanoseconds: UInt32 = 0,
        acl: PosixACL? = nil, defaultACL: PosixACL? = nil
    ) {
        self.type = type
        self.mode = mode & 0o7777
        self.uid = uid
        self.gid = gid
        self.links = links
        self.device = device
        self.inode = inode
        self.ctimeSeconds = ctimeSeconds
        self.ctimeNanoseconds = ctimeNanoseconds
        self.acl = acl
        self.defaultACL = defaultACL
    }

    /// The ACL the kernel enforces: the extended one, or the one the mode bits amount to.
    public var effectiveACL: PosixACL { acl ?? PosixACL(mode: mode) }
}

extension FileRecord {
    /// The record of what statx said (its ACLs not yet read).
    init(_ st: FileStatus) {
        self.init(
            type: st.type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid,
            links: st.links, device: st.device, inode: st.inode,
            ctimeSeconds: st.ctimeSeconds, ctimeNanoseconds: st.ctimeNanoseconds)
        mountID = st.mountID
        isMountRoot = st.isMountRoot
    }
}
