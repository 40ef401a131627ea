import ArgumentParser
import PermDriftCore

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every user who can read, write or execute a path, and the entries that let them.",
        discussion: """
            Write includes replacing: write and search on the parent directory let a user delete or rename \
            the entry, unless the directory is sticky and the user owns neither. With --root DIR, PATH is a \
            host path read under DIR and names resolve in DIR/etc/passwd and DIR/etc/group.
            """
    )

    @Argument(help: ArgumentHelp("The path to explain (absolute, as it stands on the host).", valueName: "path"))
    var path: String

    @OptionGroup var host: RootOptions

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: ExplainFormat = .text

    enum ExplainFormat: String, ExpressibleByArgument {
        case text, json
    }

    func validate() throws {
        if let problem = ExplainRun.pathProblem(path) { throw ValidationError(problem) }
    }

    func run() throws {
        var explain = ExplainRun(path: path, host: host.hostRoot)
        explain.json = format == .json
        throw ExitCode(explain.run())
    }
}
