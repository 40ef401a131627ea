import ArgumentParser
import PermDriftCore

/// `--config`, `--no-config` and `--state-dir` of the commands that read the state a scan left
/// (`notify`, `status`): the default configuration applies, as on the service's host.
struct StateOptions: ParsableArguments {
    @Option(
        name: .long, help: ArgumentHelp("The run configuration (default /etc/permdrift/config.yaml when it exists).", valueName: "file"))
    var config: String?

    @Flag(name: .customLong("no-config"), help: "Read no configuration file.")
    var noConfig = false

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("The state directory the scans write.", valueName: "dir"))
    var stateDirectory: String?

    var configuration: ConfigurationChoice { ConfigurationChoice(file: config, none: noConfig, defaultApplies: true) }
}

/// `--alertmanager`, `--alertmanager-timeout` and `--prometheus-textfile`, shared by `scan` and `notify`.
struct AlertOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Deliver alerts to this Alertmanager (its base URL, e.g. http://127.0.0.1:9093); needs --state-dir, where undelivered alerts wait for the next try. (A scan delivers only with this flag; the configuration's alertmanager: is for permdrift notify.)",
            valueName: "url"))
    var alertmanager: String?

    @Option(
        name: .customLong("alertmanager-timeout"),
        help: ArgumentHelp("Give up on one delivery after this many seconds (default 10).", valueName: "seconds"))
    var alertmanagerTimeout: Double?

    @Option(
        name: .customLong("prometheus-textfile"),
        help: ArgumentHelp(
            "Write metrics for node_exporter's textfile collector to this file (atomically; it must end in .prom).",
            valueName: "file"))
    var prometheusTextfile: String?

    func validate() throws {
        if let problem = flags.problem { throw ValidationError(problem) }
    }

    var flags: AlertFlags {
        AlertFlags(alertmanager: alertmanager, alertmanagerTimeout: alertmanagerTimeout, prometheusTextfile: prometheusTextfile)
    }
}
