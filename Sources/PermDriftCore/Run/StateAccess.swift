/// The state directory as a run finds it: locked; or, when the lock is held by a worker its supervisor
/// gave up on as stuck in the kernel (it left a note), the directory unlocked, with that note.
public enum StateAccess {
    case locked(StateDirectory)
    case stuck(StateDirectory, lock: String, note: String)

    /// Opens and locks the state directory at `path`. Another run's lock ends this run with exit 75,
    /// having touched nothing; a directory that cannot be used ends it with exit 2. `fromConfiguration`:
    /// the path came from the configuration, and the message says how to run without it.
    public static func open(
        _ path: String, fromConfiguration: Bool, serviceOwned: Bool = false, console: RunConsole
    ) throws(RunExit) -> StateAccess {
        var opened: StateDirectory?
        do {
            let directory = try StateDirectory(path: path, serviceOwned: serviceOwned)
            opened = directory
            try directory.lock(keepStuckNote: serviceOwned)
            return .locked(directory)
        } catch .busy(let lock) {
            if let opened, let note = opened.stuckScan() { return .stuck(opened, lock: lock, note: note) }
            console.error("permdrift: another permdrift run holds \(TerminalText.escape(lock)); this run does nothing")
            throw RunExit(ExitStatus.locked)
        } catch {
            console.error(
                "permdrift: the state directory cannot be used: \(error)\(fromConfiguration ? " (it comes from the configuration; --no-config or --config FILE runs without the service's settings)" : "")"
            )
            throw RunExit(ExitStatus.untrusted)
        }
    }

    /// Opens and locks the state directory; a stuck scan's lock ends this run (exit 2), as does another
    /// run's (exit 75).
    /// `serviceOwned`: as `StateDirectory.init`'s; such a run (`fix`) also leaves a stuck scan's note.
    public static func lock(
        _ path: String, fromConfiguration: Bool, serviceOwned: Bool = false, console: RunConsole
    ) throws(RunExit) -> StateDirectory {
        switch try Self.open(path, fromConfiguration: fromConfiguration, serviceOwned: serviceOwned, console: console) {
        case .locked(let directory): return directory
        case .stuck(_, let lock, let note):
            console.error(
                "permdrift: a scan stuck in the kernel (\(note)) holds \(TerminalText.escape(lock)): no run can record anything until the filesystem it waits on answers or is aborted (fs.fuse.max_request_timeout, or kill its FUSE daemon); this run does nothing"
            )
            throw RunExit(ExitStatus.untrusted)
        }
    }
}
