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
        guard let root else { return "/" }
        var st = stat()
        if lstat(root, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK {
            warn("permdrift: --root \(TerminalText.escape(root)) is a symlink; give the directory itself (permdrift never follows a symlink into a scanned tree)")
            throw ExitCode(ExitStatus.untrusted)
        }
        return root
    }

    /// The scanned host's accounts: DIR's files under --root, else the system's (NSS).
    func accounts() throws -> AccountDatabase {
        guard let root = try root.map({ _ in try rootDirectory() }) else { return AccountDatabase.loadSystem() }
        switch AccountDatabase.load(root: root) {
        case .success(let db): return db
        case .failure(.malformed(let lines)):
            warn(lines.joined(separator: "\n"))
            warn("permdrift: the account files of \(TerminalText.escape(root)) have \(lines.count) bad line\(lines.count == 1 ? "" : "s"); names cannot be trusted to resolve, so nothing was scanned")
            throw ExitCode(ExitStatus.untrusted)
        case .failure(.unreadable(let e)):
            warn("permdrift: cannot read the accounts of \(TerminalText.escape(root)): \(e); under --root, names resolve only in DIR/etc/passwd and DIR/etc/group")
            throw ExitCode(ExitStatus.untrusted)
        }
    }
}
