import ArgumentParser
import Foundation
import PermDriftCore

/// `--config`, `--no-config` and `--state-dir` of the commands that read the state a scan left
/// (`notify`, `status`): the default configuration applies, as on the service's host.
struct StateOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The run configuration (default /etc/permdrift/config.yaml when it exists).", valueName: "file"))
    var config: String?

    @Flag(name: .customLong("no-config"), help: "Read no configuration file.")
    var noConfig = false

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("The state directory the scans write.", valueName: "dir"))
    var stateDirectory: String?

    func configuration() throws -> RunConfiguration {
        try loadRunConfiguration(config, noConfig: noConfig, defaultApplies: true)
    }
}

/// `--alertmanager`, `--alertmanager-timeout` and `--prometheus-textfile`, shared by `scan` and `notify`.
struct AlertOptions: ParsableArguments {
    @Option(name: .long,
            help: ArgumentHelp("Deliver alerts to this Alertmanager (its base URL, e.g. http://127.0.0.1:9093); needs --state-dir, where undelivered alerts wait for the next try. (A scan delivers only with this flag; the configuration's alertmanager: is for permdrift notify.)",
                               valueName: "url"))
    var alertmanager: String?

    @Option(name: .customLong("alertmanager-timeout"),
            help: ArgumentHelp("Give up on one delivery after this many seconds (default 10).", valueName: "seconds"))
    var alertmanagerTimeout: Double?

    @Option(name: .customLong("prometheus-textfile"),
            help: ArgumentHelp("Write metrics for node_exporter's textfile collector to this file (atomically; it must end in .prom).",
                               valueName: "file"))
    var prometheusTextfile: String?

    func validate() throws {
        if let t = alertmanagerTimeout, !(t > 0 && t <= 300) {
            throw ValidationError("--alertmanager-timeout must be between 0 and 300 seconds")
        }
        if let p = prometheusTextfile, !p.hasSuffix(".prom") {
            throw ValidationError("--prometheus-textfile must end in .prom (node_exporter's textfile collector reads only those)")
        }
        if let url = alertmanager {
            do { _ = try AlertmanagerEndpoint(url: url) } catch { throw ValidationError("--alertmanager: \(error)") }
        }
    }

    /// The textfile from the flag, else from the configuration.
    func textfile(_ settings: RunConfiguration) -> String? { prometheusTextfile ?? settings.prometheusTextfile }

    /// The endpoint, with its credential read from the file the configuration names (a trusted file,
    /// readable by nobody else). Exits 2 with a message when it cannot be built.
    func endpoint(_ settings: RunConfiguration) throws -> AlertmanagerEndpoint? {
        let configured = settings.alertmanager
        guard let url = alertmanager ?? configured?.url else { return nil }
        var authorization: String?
        if let file = configured?.bearerTokenFile {
            authorization = "Bearer " + (try secret(file, what: "bearer token"))
        } else if let user = configured?.username, let file = configured?.passwordFile {
            let password = try secret(file, what: "password")
            authorization = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        }
        do {
            return try AlertmanagerEndpoint(url: url, timeout: alertmanagerTimeout ?? configured?.timeout ?? AlertmanagerEndpoint.defaultTimeout,
                                            authorization: authorization)
        } catch {
            warn("permdrift: \(error)")
            throw ExitCode(ExitStatus.untrusted)
        }
    }

    private func secret(_ path: String, what: String) throws -> String {
        var st = stat()
        if lstat(path, &st) == 0, st.st_mode & 0o077 != 0 {
            warn("permdrift: the \(what) file \(TerminalText.escape(path)) has mode \(String(st.st_mode & 0o7777, radix: 8)); a secret must be readable by its owner only (0600 or 0400)")
            throw ExitCode(ExitStatus.untrusted)
        }
        switch TrustedFile.read(path: path, requireTrustedOwner: true, limit: 64 << 10) {
        case .success(let bytes):
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty, !text.contains(where: { $0.isNewline }) else {
                warn("permdrift: the \(what) file \(TerminalText.escape(path)) must hold one line")
                throw ExitCode(ExitStatus.untrusted)
            }
            return text
        case .failure(let e):
            warn("permdrift: cannot read the \(what): \(e)")
            throw ExitCode(ExitStatus.untrusted)
        }
    }
}

/// Writes the metrics file (0644: node_exporter runs as its own user). A failure is reported and makes
/// the run exit 2: a stale metrics file must not stand in for this run, so it is removed.
func writeTextfile(_ path: String, run: RunSummary, lastSuccess: Date?, pending: Int?) -> Bool {
    do {
        try AtomicFile.write(PrometheusTextfile.render(run: run, lastSuccess: lastSuccess, pendingAlerts: pending), to: path, mode: 0o644)
        return true
    } catch {
        warn("permdrift: cannot write the metrics file: \(error)")
        if unlink(path) == 0 { warn("permdrift: removed \(TerminalText.escape(path)), which held an earlier run's metrics") }
        return false
    }
}

/// Records what Alertmanager accepted in the ledger and says what is left; false when anything is.
func report(accepted: [OutboxAlert], failure: DeliveryError?, into ledger: inout FindingLedger,
            endpoint: AlertmanagerEndpoint) -> Bool {
    AlertBuilder.markDelivered(&ledger, accepted)
    if let failure {
        let left = ledger.pendingAlerts.count
        warn("permdrift: cannot deliver alerts to \(endpoint.display): \(failure); \(left) alert\(left == 1 ? "" : "s") wait\(left == 1 ? "s" : "") in the state directory for the next delivery")
        return false
    }
    let firing = accepted.filter { !$0.resolved }.count
    if !accepted.isEmpty {
        Log.info("permdrift: delivered \(accepted.count) alert\(accepted.count == 1 ? "" : "s") to \(endpoint.display) (\(firing) firing, \(accepted.count - firing) resolved)")
    }
    return true
}

/// Reads `--config FILE`, or the default configuration when it exists and `defaultApplies`; nothing
/// with `--no-config`. A configuration that is not trusted or does not load ends the run (exit 2).
/// `quiet`: for `permdrift scan`'s supervisor, whose worker loads the same file and says what is wrong.
func loadRunConfiguration(_ config: String?, noConfig: Bool, defaultApplies: Bool, quiet: Bool = false) throws -> RunConfiguration {
    guard !noConfig, config != nil || defaultApplies else { return RunConfiguration() }
    var st = stat()
    let path = config ?? (lstat(RunConfiguration.defaultPath, &st) == 0 || errno != ENOENT ? RunConfiguration.defaultPath : nil)
    guard let path else { return RunConfiguration() }
    switch TrustedFile.read(path: path, requireTrustedOwner: true) {
    case .success(let bytes):
        do { return try RunConfiguration.load(bytes, file: path) } catch {
            if quiet { throw ExitCode(ExitStatus.untrusted) }
            warn(error.description)
            warn("permdrift: the configuration does not load (\(error.diagnostics.count) error\(error.diagnostics.count == 1 ? "" : "s")); nothing was done")
            throw ExitCode(ExitStatus.untrusted)
        }
    case .failure(let e):
        if !quiet { warn("permdrift: cannot use the configuration: \(e)") }
        throw ExitCode(ExitStatus.untrusted)
    }
}

/// Opens and locks the state directory; a second run exits 75 having touched nothing.
func openStateDirectory(_ path: String, fromConfiguration: Bool) throws -> StateDirectory {
    switch try openStateDirectoryOrStuck(path, fromConfiguration: fromConfiguration) {
    case .locked(let directory): return directory
    case .stuck(_, let lock, let note):
        Log.error("permdrift: a scan stuck in the kernel (\(note)) holds \(TerminalText.escape(lock)): no run can record anything until the filesystem it waits on answers or is aborted (fs.fuse.max_request_timeout, or kill its FUSE daemon); this run does nothing")
        throw ExitCode(ExitStatus.untrusted)
    }
}

/// The state directory, locked; or, when the lock is held by a worker its supervisor gave up on as
/// stuck in the kernel (it left a note), the directory unlocked, with that note.
enum StateAccess {
    case locked(StateDirectory)
    case stuck(StateDirectory, lock: String, note: String)
}

func openStateDirectoryOrStuck(_ path: String, fromConfiguration: Bool) throws -> StateAccess {
    var opened: StateDirectory?
    do {
        let directory = try StateDirectory(path: path)
        opened = directory
        try directory.lock()
        return .locked(directory)
    } catch .busy(let lock) {
        if let opened, let note = opened.stuckScan() { return .stuck(opened, lock: lock, note: note) }
        Log.error("permdrift: another permdrift run holds \(TerminalText.escape(lock)); this run does nothing")
        throw ExitCode(ExitStatus.locked)
    } catch {
        warn("permdrift: the state directory cannot be used: \(error)\(fromConfiguration ? " (it comes from the configuration; --no-config or --config FILE runs without the service's settings)" : "")")
        throw ExitCode(ExitStatus.untrusted)
    }
}
