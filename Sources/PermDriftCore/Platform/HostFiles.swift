import Foundation
import Glibc

/// Files the commands and the run name by path (reports, metrics, outputs, ssh-keygen).
public enum HostFiles {
    /// Removes the file at `path` (`unlink`); true when one was removed.
    @discardableResult
    public static func remove(_ path: String) -> Bool {
        unlink(path) == 0
    }

    /// Whether `path` names an existing file, following symlinks.
    public static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }

    /// Whether the caller may execute `path`.
    public static func isExecutable(_ path: String) -> Bool {
        access(path, X_OK) == 0
    }
}
