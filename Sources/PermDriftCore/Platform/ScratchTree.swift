import CACL
import Glibc

/// Builds small trees that permdrift itself creates (the demo host): directories, files, owners, modes
/// and ACLs on paths in a fresh private temporary directory. Never used on a scanned tree.
public struct ScratchTree: Sendable {
    public let root: String

    /// Creates a new private directory under `parent` (mode 0700 until `setMode` widens it).
    public static func create(prefix: String, in parent: String = "/tmp") throws(SystemCallError) -> ScratchTree {
        var template = Array("\(parent)/\(prefix).XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw SystemCallError("mkdtemp", path: parent, errno: .current) }
        let path = template.withUnsafeBufferPointer { buffer in
            String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return ScratchTree(root: path)
    }

    public init(root: String) { self.root = root }

    func full(_ path: String) -> String { root + path }

    public func directory(_ path: String, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0) throws(SystemCallError) {
        let p = full(path)
        if mkdir(p, 0o700) != 0, errno != EEXIST { throw SystemCallError("mkdir", path: p, errno: .current) }
        try own(path, mode: mode, uid: uid, gid: gid)
    }

    public func file(_ path: String, contents: String = "", mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0) throws(SystemCallError) {
        let p = full(path)
        let raw = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard raw >= 0 else { throw SystemCallError("open", path: p, errno: .current) }
        let fd = FileDescriptor(rawValue: raw)
        defer { fd.close() }
        let written = Array(contents.utf8).withUnsafeBytes { Syscalls.write(fd, $0) }
        if case .failure(let e) = written { throw SystemCallError("write", path: p, errno: e) }
        try own(path, mode: mode, uid: uid, gid: gid)
    }

    public func own(_ path: String, mode: UInt32, uid: UInt32, gid: UInt32) throws(SystemCallError) {
        let p = full(path)
        if lchown(p, uid, gid) != 0 { throw SystemCallError("lchown", path: p, errno: .current) }
        try setMode(path, mode)
    }

    public func setMode(_ path: String, _ mode: UInt32) throws(SystemCallError) {
        let p = full(path)
        if chmod(p, mode) != 0 { throw SystemCallError("chmod", path: p, errno: .current) }
    }

    public func hardLink(_ existing: String, _ new: String) throws(SystemCallError) {
        if link(full(existing), full(new)) != 0 { throw SystemCallError("link", path: full(new), errno: .current) }
    }

    /// Sets an access or default ACL from getfacl-style text with numeric qualifiers (libacl).
    public func setACL(_ path: String, _ text: String, isDefault: Bool = false) throws(SystemCallError) {
        let p = full(path)
        guard let acl = acl_from_text(text) else { throw SystemCallError("acl_from_text", path: p, errno: .current) }
        defer { acl_free(UnsafeMutableRawPointer(acl)) }
        if acl_set_file(p, acl_type_t(isDefault ? ACL_TYPE_DEFAULT : ACL_TYPE_ACCESS), acl) != 0 {
            throw SystemCallError("acl_set_file", path: p, errno: .current)
        }
    }

    /// Removes the whole tree (bottom-up, never following symlinks).
    public func remove() {
        removeTree(root)
    }

    private func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if let dir = opendir(path) {
                var names = [String]()
                while let entry = readdir(dir) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(dir)
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
