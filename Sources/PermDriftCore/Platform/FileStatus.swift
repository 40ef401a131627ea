import CPermDrift
import Glibc

/// What statx(2) says of one entry: the fields permdrift keeps, with Swift names (the C shim fills a
/// `pd_stat`; nothing outside `Platform/` sees it).
struct FileStatus: Hashable, Sendable {
    var device: UInt64 = 0
    var inode: UInt64 = 0
    var links: UInt64 = 0
    /// The mount the entry is on (`stx_mnt_id`, 0 when the kernel does not say).
    var mountID: UInt64 = 0
    var ctimeSeconds: Int64 = 0
    var ctimeNanoseconds: UInt32 = 0
    /// `st_mode`: the type bits and the permission bits.
    var mode: UInt32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    /// Whether the entry is the root of its mount.
    var isMountRoot = false

    init() {}

    init(_ st: pd_stat) {
        device = st.dev
        inode = st.ino
        links = st.nlink
        mountID = st.mnt_id
        ctimeSeconds = st.ctime_sec
        ctimeNanoseconds = st.ctime_nsec
        mode = st.mode
        uid = st.uid
        gid = st.gid
        isMountRoot = st.is_mount_root == 1
    }

    var type: FileType { FileType(mode: mode) }

    /// Whether both name the same inode.
    func isSameInode(as other: FileStatus) -> Bool { inode == other.inode && device == other.device }

    /// Whether both have the same ctime (every change of mode, owner, ACL, link count or name sets it).
    func hasSameChangeTime(as other: FileStatus) -> Bool {
        ctimeSeconds == other.ctimeSeconds && ctimeNanoseconds == other.ctimeNanoseconds
    }
}

extension FileType {
    /// The kind of entry the type bits of `st_mode` name.
    init(mode: UInt32) {
        switch mode & UInt32(S_IFMT) {
        case UInt32(S_IFDIR): self = .directory
        case UInt32(S_IFLNK): self = .symlink
        case UInt32(S_IFIFO): self = .fifo
        case UInt32(S_IFSOCK): self = .socket
        case UInt32(S_IFCHR), UInt32(S_IFBLK): self = .device
        default: self = .file
        }
    }
}

/// How a file is opened: the `open(2)` flags by name.
struct OpenFlags: OptionSet, Sendable {
    let rawValue: Int32

    static let readOnly = OpenFlags(rawValue: O_RDONLY)
    static let readWrite = OpenFlags(rawValue: O_RDWR)
    static let create = OpenFlags(rawValue: O_CREAT)
    static let directory = OpenFlags(rawValue: O_DIRECTORY)
    static let noFollow = OpenFlags(rawValue: O_NOFOLLOW)
    static let nonBlocking = OpenFlags(rawValue: O_NONBLOCK)
    static let closeOnExec = OpenFlags(rawValue: O_CLOEXEC)
    /// `O_PATH | O_CLOEXEC`: a handle on the inode that reads nothing (for `*at` calls and rules).
    static let pathOnly = OpenFlags(rawValue: pd_path_open_flags())
    /// `O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC`: a directory of a scanned tree, never
    /// through a symlink and never blocking on a FIFO or device swapped in for it.
    static let scannedDirectory = OpenFlags(rawValue: pd_directory_open_flags())
}
