/// Where `permdrift fix` keeps its journals (`--journal-dir`, default `/var/lib/permdrift-fix`): root's
/// own directory, 0700, never a symlink, made on first use, with a lock that keeps two fix runs apart.
/// It is not the service's state directory: the service account owns that one, and a journal it could
/// edit would let it choose what `--undo` sets as root.
public enum JournalDirectory {
    public static let standardPath = "/var/lib/permdrift-fix"

    /// Opens (making it, 0700, when it does not exist) and locks the directory.
    public static func open(_ path: String, console: RunConsole) throws(RunExit) -> StateDirectory {
        // Every directory above it must be root's and closed to others (or sticky): else someone could
        // swap the journal directory for one of their own between the checks below and its use.
        if let why = TrustedFile.untrustedAncestor(of: path) {
            console.error(
                "permdrift fix: the journal directory \(TerminalText.escape(path)) cannot be trusted: \(TerminalText.escape(why)); nothing was changed"
            )
            throw RunExit(ExitStatus.untrusted)
        }
        if case .failure(let e) = Syscalls.makeDirectory(path, mode: 0o700), e.rawValue != 17 {  // EEXIST: there already
            console.error("permdrift fix: cannot make the journal directory \(TerminalText.escape(path)): \(e); nothing was changed")
            throw RunExit(ExitStatus.untrusted)
        }
        do {
            let directory = try StateDirectory(path: path)
            try directory.lock()
            return directory
        } catch .busy {
            console.error("permdrift fix: another permdrift fix run holds \(TerminalText.escape(path))/lock; this run does nothing")
            throw RunExit(ExitStatus.locked)
        } catch {
            console.error("permdrift fix: the journal directory cannot be used: \(error); nothing was changed")
            throw RunExit(ExitStatus.untrusted)
        }
    }
}
