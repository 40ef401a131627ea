import ArgumentParser
import Foundation
import PermDriftCore

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the last scan's result and the alerts waiting for delivery, without scanning.",
        discussion:
            "Reads the state directory only (it takes no lock and changes nothing). Exit codes: 0 the state was read, 2 it is missing or cannot be trusted."
    )

    @OptionGroup var state: StateOptions

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        var status = StatusRun()
        status.configuration = state.configuration
        status.stateDirectory = state.stateDirectory
        status.json = json
        throw ExitCode(status.run())
    }
}
