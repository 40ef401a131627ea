import Foundation

/// `permdrift status`: the last scan's result and the alerts waiting for delivery, read from the state
/// directory without a lock and without changing anything.
public struct StatusRun {
    public var configuration = ConfigurationChoice(file: nil, none: false, defaultApplies: true)
    /// `--state-dir`.
    public var stateDirectory: String?
    /// JSON instead of text.
    public var json = false
    public let console: RunConsole

    public init(console: RunConsole = .standard) { self.console = console }

    /// Prints the status; returns the exit status: 0 the state was read, 2 it is missing or cannot be
    /// trusted, 64 no state directory was named.
    public func run() -> Int32 {
        do { return try show() } catch { return error.status }
    }

    private func show() throws(RunExit) -> Int32 {
        let settings = try configuration.load(console: console)
        guard let path = stateDirectory ?? settings.stateDirectory else {
            console.error("permdrift: status needs --state-dir (or state-directory: in the configuration)")
            throw RunExit(ExitStatus.usage)
        }
        let directory: StateDirectory
        do { directory = try StateDirectory(path: path) } catch {
            console.error("permdrift: the state directory cannot be used: \(error)")
            throw RunExit(ExitStatus.untrusted)
        }
        let ledger: FindingLedger
        switch directory.loadLedger(setAside: false) {
        case .missing:
            console.error("permdrift: \(TerminalText.escape(path)) holds no scan result yet")
            throw RunExit(ExitStatus.untrusted)
        case .corrupt(let why, _):
            console.error("permdrift: the state cannot be trusted: \(why)")
            throw RunExit(ExitStatus.untrusted)
        case .loaded(let l): ledger = l
        }
        console.report(json ? StatusReport.json(ledger) : StatusReport.text(ledger, directory: path))
        return ExitStatus.clean
    }
}
