import Glibc

/// A path's own status (`lstat`: a symlink is described, never followed), for paths named on the
/// command line or in the configuration.
public struct PathStatus: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case directory, symlink, regularFile, other
    }

    public let kind: Kind
    /// The permission bits, with set-id and sticky (`mode & 0o7777`).
    public let permissions: UInt32

    /// The status of `path` itself; `Errno.noEntry` when nothing is there.
    public static func of(_ path: String) -> Result<PathStatus, Errno> {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .failure(.current) }
        let kind: Kind =
            switch st.st_mode & S_IFMT {
            case S_IFDIR: .directory
            case S_IFLNK: .symlink
            case S_IFREG: .regularFile
            default: .other
            }
        return .success(PathStatus(kind: kind, permissions: UInt32(st.st_mode & 0o7777)))
    }

    /// Whether anything is at `path`, even a dangling symlink; a lookup that fails for another reason
    /// than "no such file" counts as something there (it is refused when it is used, never replaced).
    public static func somethingIsAt(_ path: String) -> Bool {
        if case .failure(let e) = of(path), e == .noEntry { return false }
        return true
    }
}
