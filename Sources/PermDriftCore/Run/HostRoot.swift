/// The host a command reads: the live one, or with `--root DIR` a directory that stands for `/`, where
/// names resolve only in DIR/etc/passwd and DIR/etc/group.
public struct HostRoot: Sendable, Equatable {
    /// DIR, or nil for the live host.
    public var root: String?

    public init(root: String?) { self.root = root }

    /// What is wrong with `--root DIR` before anything is read, if anything: it must be there, and be a
    /// directory (or a symlink, which `directory` refuses with its own message).
    public var problem: String? {
        guard let root else { return nil }
        guard case .success(let status) = PathStatus.of(root) else { return "--root \(root): no such directory" }
        guard status.kind == .directory || status.kind == .symlink else { return "--root \(root): not a directory" }
        return nil
    }

    /// The directory that stands for `/`; a DIR that is itself a symlink is refused (exit 2).
    public func directory(console: RunConsole) throws(RunExit) -> String {
        guard let root else { return "/" }
        if case .success(let status) = PathStatus.of(root), status.kind == .symlink {
            console.error(
                "permdrift: --root \(TerminalText.escape(root)) is a symlink; give the directory itself (permdrift never follows a symlink into a scanned tree)"
            )
            throw RunExit(ExitStatus.untrusted)
        }
        return root
    }

    /// The scanned host's accounts: DIR's files under --root, else the system's (NSS).
    public func accounts(console: RunConsole) throws(RunExit) -> AccountDatabase {
        guard root != nil else { return AccountDatabase.loadSystem() }
        let root = try directory(console: console)
        switch AccountDatabase.load(root: root) {
        case .success(let db): return db
        case .failure(.malformed(let lines)):
            console.error(lines.joined(separator: "\n"))
            console.error(
                "permdrift: the account files of \(TerminalText.escape(root)) have \(lines.count) bad line\(lines.count == 1 ? "" : "s"); names cannot be trusted to resolve, so nothing was scanned"
            )
            throw RunExit(ExitStatus.untrusted)
        case .failure(.unreadable(let e)):
            console.error(
                "permdrift: cannot read the accounts of \(TerminalText.escape(root)): \(e); under --root, names resolve only in DIR/etc/passwd and DIR/etc/group"
            )
            throw RunExit(ExitStatus.untrusted)
        }
    }
}
