import Foundation

/// `--alertmanager`, `--alertmanager-timeout` and `--prometheus-textfile` as given to `scan` and `notify`,
/// and what they make with the configuration.
public struct AlertFlags: Sendable, Equatable {
    public var alertmanager: String?
    public var alertmanagerTimeout: Double?
    public var prometheusTextfile: String?

    public init(alertmanager: String? = nil, alertmanagerTimeout: Double? = nil, prometheusTextfile: String? = nil) {
        self.alertmanager = alertmanager
        self.alertmanagerTimeout = alertmanagerTimeout
        self.prometheusTextfile = prometheusTextfile
    }

    /// What is wrong with the flags, if anything: a timeout outside (0, 300] seconds, a textfile whose
    /// name node_exporter would not read, an Alertmanager URL that cannot be used.
    public var problem: String? {
        if let t = alertmanagerTimeout, !(t > 0 && t <= 300) {
            return "--alertmanager-timeout must be between 0 and 300 seconds"
        }
        if let p = prometheusTextfile, !p.hasSuffix(".prom") {
            return "--prometheus-textfile must end in .prom (node_exporter's textfile collector reads only those)"
        }
        if let url = alertmanager {
            do { _ = try AlertmanagerEndpoint(url: url) } catch { return "--alertmanager: \(error)" }
        }
        return nil
    }

    /// The textfile from the flag, else from the configuration.
    public func textfile(_ settings: RunConfiguration) -> String? { prometheusTextfile ?? settings.prometheusTextfile }

    /// The endpoint, with its credential read from the file the configuration names (`SecretFile`); nil
    /// when no Alertmanager is named. Exits 2 with a message when it cannot be built.
    public func endpoint(_ settings: RunConfiguration, console: RunConsole) throws(RunExit) -> AlertmanagerEndpoint? {
        let configured = settings.alertmanager
        guard let url = alertmanager ?? configured?.url else { return nil }
        var authorization: String?
        if let file = configured?.bearerTokenFile {
            authorization = "Bearer " + (try SecretFile.read(file, what: "bearer token", console: console))
        } else if let user = configured?.username, let file = configured?.passwordFile {
            let password = try SecretFile.read(file, what: "password", console: console)
            authorization = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        }
        do {
            return try AlertmanagerEndpoint(
                url: url, timeout: alertmanagerTimeout ?? configured?.timeout ?? AlertmanagerEndpoint.defaultTimeout,
                authorization: authorization)
        } catch {
            console.error("permdrift: \(error)")
            throw RunExit(ExitStatus.untrusted)
        }
    }

    /// The same flags, for another permdrift process (the courier).
    public var arguments: [String] {
        var arguments = [String]()
        if let url = alertmanager { arguments += ["--alertmanager", url] }
        if let timeout = alertmanagerTimeout { arguments += ["--alertmanager-timeout", String(timeout)] }
        if let textfile = prometheusTextfile { arguments += ["--prometheus-textfile", textfile] }
        return arguments
    }
}
