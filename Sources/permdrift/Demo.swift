import ArgumentParser
import PermDriftCore

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a throwaway agent host with a few drifts, scan it with the built-in baseline, and show the report.",
        discussion: "Needs root: the demo host has agents with their own uids, and only root can give files to them."
    )

    @Flag(name: .long, help: "Keep the demo host instead of removing it.")
    var keep = false

    @Option(name: .long, help: ArgumentHelp("The report format: text, json or junit.", valueName: "format"))
    var format: ReportFormat = .text

    func run() throws {
        var demo = DemoRun()
        demo.keep = keep
        demo.format = format
        throw ExitCode(demo.run())
    }
}
