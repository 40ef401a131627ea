import ArgumentParser
import PermDriftCore

struct Fix: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan, then show the plan that would restore the baseline. This version only shows the plan: it changes nothing.",
        discussion: """
            Runs a scan with scan's settings and prints, per path, the exact change for each finding it \
            could repair (mode, ACL entries, owner, group, file capabilities), the inode facts a repair \
            will check first (device, inode, ctime), the owner and group changes it refuses (an inode with \
            more than one link, a type the rule does not name), and for each finding it cannot repair the \
            reason and what an admin would do. Nothing on disk is changed: there is no --apply yet. Root \
            only. Exit codes: 0 no drift, 1 drift (a plan was shown), 2 the scan cannot be trusted (an \
            incomplete scan's plan is shown and says so), 64 usage or not root, 75 another run holds the \
            state directory's lock.
            """
    )

    @OptionGroup var source: BaselineOptions

    @OptionGroup var host: RootOptions

    @Option(
        name: .customLong("state-dir"),
        help: ArgumentHelp("The state directory; its lock keeps a scan from running at the same time.", valueName: "dir"))
    var stateDirectory: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Walk with this many threads (default: one per CPU this process may use, at most 8).", valueName: "n"))
    var threads: Int?

    func validate() throws {
        if let problem = options.problem { throw ValidationError(problem) }
    }

    func run() throws {
        throw ExitCode(FixRun(options: options).run())
    }

    /// The flags as the library's options (scan's, without reports, alerts or a sandbox).
    var options: ScanOptions {
        var options = ScanOptions()
        options.configuration = source.configuration(host: host)
        options.baseline = source.baseline
        options.host = host.hostRoot
        options.stateDirectory = stateDirectory
        options.threads = threads
        return options
    }
}
