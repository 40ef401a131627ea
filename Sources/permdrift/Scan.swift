public import ArgumentParser
import PermDriftCore

extension ReportOutput: ExpressibleByArgument {}
extension ReportFormat: ExpressibleByArgument {}
extension Severity: ExpressibleByArgument {}
extension FailOn: ExpressibleByArgument {
    init?(argument: String) { self.init(parsing: argument) }
}

struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan the baseline's roots and report every drift.",
        discussion: """
            Settings come from --config (default /etc/permdrift/config.yaml when it exists); flags override \
            them. Without a baseline from either, /etc/permdrift/baseline.yaml is used if it exists, else the \
            built-in agent-host baseline; the report says which. With --root DIR, / means DIR: baseline paths \
            and report paths are host paths, read under DIR, and names resolve in DIR/etc/passwd and \
            DIR/etc/group. Exit codes: 0 no drift, 1 drift, 2 the result cannot be trusted, 64 usage, 75 \
            another run holds the state directory's lock (2 when that run is stuck in the kernel).
            """
    )

    @OptionGroup var source: BaselineOptions

    @OptionGroup var host: RootOptions

    @Option(name: .long, help: ArgumentHelp("The report written to standard output: text, json, junit or sarif.", valueName: "format"))
    var format: ReportFormat = .text

    @Option(
        name: .customLong("fail-on"),
        help: ArgumentHelp(
            "Exit 1 only for findings at or above this severity (critical, high, medium, low), or only for widening ones (widening, or e.g. high,widening: both); the others are still reported.",
            valueName: "severity|widening"))
    var failOn: FailOn?

    @Option(
        name: .customLong("output"), parsing: .singleValue,
        help: ArgumentHelp(
            "Also write a report to a file, atomically (repeatable; replaces the configuration's outputs), e.g. json:/var/lib/permdrift/last.json.",
            valueName: "format:path"))
    var outputs: [ReportOutput] = []

    @Option(
        name: .customLong("state-dir"),
        help: ArgumentHelp(
            "The state directory (the service passes its StateDirectory): the account's own, 0700; holds the run lock.",
            valueName: "dir"))
    var stateDirectory: String?

    @OptionGroup var alerting: AlertOptions

    @Flag(name: .customLong("require-sandbox"), help: "Refuse to scan (exit 2) when the Landlock sandbox cannot be applied.")
    var requireSandbox = false

    @Flag(
        name: .customLong("require-signature"),
        help: "Enforce the baseline only if FILE.sig, made with ssh-keygen -Y sign, verifies against --signers (no built-in fallback).")
    var requireSignature = false

    @Option(name: .long, help: ArgumentHelp("The OpenSSH allowed_signers file that approves baselines.", valueName: "file"))
    var signers: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Give up after this many seconds (default 1500): a scan that does not finish, as on a hanging filesystem, is incomplete (exit 2).",
            valueName: "seconds"))
    var deadline: Double?

    @Option(
        name: .long,
        help: ArgumentHelp("Walk with this many threads (default: one per CPU this process may use, at most 8).", valueName: "n"))
    var threads: Int?

    @Option(name: .customLong("sandbox-probe"), help: .hidden)
    var sandboxProbe: String?

    /// The scan is a library run (`ScanRun`, `SupervisedScan`): the command maps its flags to options and
    /// the run's outcome to the exit status.
    func run() throws {
        if !Supervisor.enterWorker() {
            throw ExitCode(SupervisedScan(options: options, arguments: Array(CommandLine.arguments.dropFirst())).run())
        }
        throw ExitCode(ScanRun(options: options).run().status)
    }

    func validate() throws {
        if let problem = options.problem { throw ValidationError(problem) }
    }

    /// The flags as the library's options.
    var options: ScanOptions {
        var options = ScanOptions()
        options.configuration = source.configuration(host: host)
        options.baseline = source.baseline
        options.host = host.hostRoot
        options.format = format
        options.failOn = failOn
        options.outputs = outputs
        options.stateDirectory = stateDirectory
        options.alerting = alerting.flags
        options.requireSandbox = requireSandbox
        options.requireSignature = requireSignature
        options.signers = signers
        options.deadline = deadline
        options.threads = threads
        options.sandboxProbe = sandboxProbe
        return options
    }
}
