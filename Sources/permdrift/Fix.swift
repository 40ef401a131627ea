import ArgumentParser
import PermDriftCore

struct Fix: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan, then show the plan that restores the baseline; with --apply, make its changes.",
        discussion: """
            Runs a scan with scan's settings and prints, per path, the exact change for each finding it \
            can repair (mode, ACL entries, owner, group, file capabilities), the inode facts checked \
            before a change (device, inode, ctime), the owner and group changes it refuses (an inode with \
            more than one link, a type the rule does not name), and for each finding it cannot repair the \
            reason and what an admin would do. Without --apply nothing on disk is changed. With --apply \
            (asking first, unless --yes) it makes the changes through descriptors opened from the scan root \
            without following symlinks, on inodes whose device, inode and ctime are still those the scan \
            saw (anything else is skipped), journals each change (--journal-dir), and scans again. \
            --undo RUN reverts one fix run with the same checks. Root only. Exit codes: 0 no drift (after \
            --apply: none left; after --undo: every change reverted), 1 drift (left, or a change skipped), \
            2 the scan cannot be trusted (incomplete: nothing is applied), 64 usage or not root, 75 \
            another run holds the state directory's lock.
            """
    )

    @OptionGroup var source: BaselineOptions

    @OptionGroup var host: RootOptions

    @Option(
        name: .customLong("state-dir"),
        help: ArgumentHelp(
            "The service's state directory: fix takes its lock, so that no scan runs while it changes the tree.", valueName: "dir"))
    var stateDirectory: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Walk with this many threads (default: one per CPU this process may use, at most 8).", valueName: "n"))
    var threads: Int?

    @Option(
        name: .customLong("journal-dir"),
        help: ArgumentHelp(
            "Where --apply journals its changes and --undo finds them: root's own 0700 directory, made on first use (default /var/lib/permdrift-fix).",
            valueName: "dir"))
    var journalDirectory: String = JournalDirectory.standardPath

    @Flag(name: .long, help: "Make the plan's changes (asks first unless --yes), journal them, and scan again.")
    var apply = false

    @Flag(name: .long, help: "With --apply: do not ask (for automation).")
    var yes = false

    @Option(name: .long, help: ArgumentHelp("Revert the fix run RUN (its name is printed by --apply) from its journal.", valueName: "run"))
    var undo: String?

    func validate() throws {
        if let problem = options.problem { throw ValidationError(problem) }
        if yes && !apply { throw ValidationError("--yes only goes with --apply") }
        if apply && undo != nil { throw ValidationError("--apply and --undo cannot be combined") }
    }

    func run() throws {
        let mode: FixRun.Mode = undo.map { .undo($0) } ?? (apply ? .apply(confirmed: yes) : .plan)
        throw ExitCode(FixRun(options: options, mode: mode, journalDirectory: journalDirectory).run())
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
