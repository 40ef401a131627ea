import ArgumentParser
import Foundation
import PermDriftCore

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the last scan's result and the alerts waiting for delivery, without scanning.",
        discussion: "Reads the state directory only (it takes no lock and changes nothing). Exit codes: 0 the state was read, 2 it is missing or cannot be trusted."
    )

    @OptionGroup var state: StateOptions

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let settings = try state.configuration()
        guard let path = state.stateDirectory ?? settings.stateDirectory else {
            warn("permdrift: status needs --state-dir (or state-directory: in the configuration)")
            throw ExitCode(ExitStatus.usage)
        }
        let directory: StateDirectory
        do { directory = try StateDirectory(path: path) } catch {
            warn("permdrift: the state directory cannot be used: \(error)")
            throw ExitCode(ExitStatus.untrusted)
        }
        let ledger: FindingLedger
        switch directory.loadLedger(setAside: false) {
        case .missing:
            warn("permdrift: \(TerminalText.escape(path)) holds no scan result yet")
            throw ExitCode(ExitStatus.untrusted)
        case .corrupt(let why, _):
            warn("permdrift: the state cannot be trusted: \(why)")
            throw ExitCode(ExitStatus.untrusted)
        case .loaded(let l): ledger = l
        }
        let text = json ? StatusReport.json(ledger) : StatusReport.text(ledger, directory: path)
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
