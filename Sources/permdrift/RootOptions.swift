import ArgumentParser
import PermDriftCore

/// `--root DIR`, shared by the commands that read a host: `/` means DIR, and names resolve only in
/// DIR/etc/passwd and DIR/etc/group.
struct RootOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A directory that stands for / (a scratch root or a mounted image).", valueName: "dir"))
    var root: String?

    func validate() throws {
        if let problem = hostRoot.problem { throw ValidationError(problem) }
    }

    /// The host the flag names, for the library.
    var hostRoot: HostRoot { HostRoot(root: root) }
}

/// Where the settings and the baseline come from, shared by the commands that run a scan (`scan`, `fix`).
struct BaselineOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The run configuration (default /etc/permdrift/config.yaml when it exists and --root is not given).", valueName: "file"))
    var config: String?

    @Flag(name: .customLong("no-config"), help: "Read no configuration file, not even /etc/permdrift/config.yaml.")
    var noConfig = false

    @Option(name: .long, help: ArgumentHelp("The baseline to enforce.", valueName: "file"))
    var baseline: String?

    /// The configuration the flags choose; the default file applies only to the host itself (no --root).
    func configuration(host: RootOptions) -> ConfigurationChoice {
        ConfigurationChoice(file: config, none: noConfig, defaultApplies: host.root == nil)
    }
}
