import ArgumentParser
import Foundation
import PermDriftCore

/// `--root DIR`, shared by the commands that read a host: `/` means DIR, and names resolve only in
/// DIR/etc/passwd and DIR/etc/group.
struct RootOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A directory that stands for / (a scratch root or a mounted image).", valueName: "dir"))
    var root: String?

    func validate() throws {
        guard let root else { return }
        var st = stat()
        guard lstat(root, &st) == 0 else { throw ValidationError("--root \(root): no such directory") }
        guard (st.st_mode & S_IFMT) == S_IFDIR || (st.st_mode & S_IFMT) == S_IFLNK else {
            throw ValidationError("--root \(root): not a directory")
        }
    }

    /// The directory that stands for `/`; a DIR that is itself a symlink is refused (exit 2).
    func rootDirectory() throws -> String {
        do { return try HostRoot(root: root).directory(console: .standard) } catch { throw ExitCode(error.status) }
    }

    /// The scanned host's accounts: DIR's files under --root, else the system's (NSS).
    func accounts() throws -> AccountDatabase {
        do { return try HostRoot(root: root).accounts(console: .standard) } catch { throw ExitCode(error.status) }
    }
}
