import Yams

/// `/etc/permdrift/config.yaml`: what the service scans with and where it writes. Flags override it.
/// Secrets are never in it: only paths to files that hold them (systemd's `LoadCredential=`).
public struct RunConfiguration: Sendable, Equatable {
    public var baseline: String?
    public var stateDirectory: String?
    /// Reports to write, as `FORMAT:PATH`.
    public var outputs: [String] = []
    /// Which findings fail the run (`fail-on:`); `--fail-on` overrides it.
    public var failOn: FailOn?
    /// Which findings the recorded alerts page on (`alert-on:`); the default is any finding.
    public var alertOn: FailOn?
    public var requireSandbox: Bool?
    /// The OpenSSH allowed_signers file that approves baselines.
    public var signers: String?
    public var requireSignature: Bool?
    /// node_exporter's textfile collector file (`--prometheus-textfile`).
    public var prometheusTextfile: String?
    public var alertmanager: AlertmanagerSettings?

    /// `alertmanager:` — where alerts go, and the files that hold credentials (never the secrets).
    public struct AlertmanagerSettings: Sendable, Equatable {
        public var url: String
        public var timeout: Double?
        /// A file holding a bearer token (systemd's `LoadCredential=`).
        public var bearerTokenFile: String?
        /// HTTP basic authentication: the user name, and a file holding the password.
        public var username: String?
        public var passwordFile: String?

        public init(url: String) { self.url = url }
    }

    public init() {}

    public static let defaultPath = "/etc/permdrift/config.yaml"

    static let keys = [
        "baseline", "state-directory", "outputs", "fail-on", "alert-on", "require-sandbox",
        "signers", "require-signature", "alertmanager", "prometheus-textfile"
    ]
    static let alertmanagerKeys = ["url", "timeout", "bearer-token-file", "username", "password-file"]

    /// Parses the file's bytes; every problem is a `FILE:LINE:COLUMN` diagnostic.
    public static func load(_ bytes: [UInt8], file: String) throws(BaselineLoadError) -> RunConfiguration {
        let context = LoadContext(file: file, accounts: AccountDatabase(source: .files(root: "/")))
        let root = try BaselineLoader.document(bytes, context: context, what: "configuration")
        var config = RunConfiguration()
        if let pairs = context.mapping(root, "the configuration") {
            let f = context.fields(pairs, allowed: keys, in: "the configuration")
            if let v = f["prometheus-textfile"]?.value, let text = context.scalar(v, "prometheus-textfile") {
                if text.hasPrefix("/") && text.hasSuffix(".prom") {
                    config.prometheusTextfile = text
                } else {
                    context.error(v, "prometheus-textfile must be an absolute path ending in .prom (node_exporter reads only those)")
                }
            }
            if let v = f["alertmanager"]?.value, let pairs = context.mapping(v, "alertmanager") {
                let a = context.fields(pairs, allowed: alertmanagerKeys, in: "alertmanager")
                var settings: AlertmanagerSettings?
                if let u = a["url"]?.value, let text = context.scalar(u, "url") {
                    do { _ = try AlertmanagerEndpoint(url: text); settings = AlertmanagerSettings(url: text) } catch {
                        context.error(u, error.description)
                    }
                } else if a["url"] == nil {
                    context.error(v, "alertmanager needs a url")
                }
                if let t = a["timeout"]?.value, let text = context.scalar(t, "timeout") {
                    if let seconds = Double(text), seconds > 0, seconds <= 300 {
                        settings?.timeout = seconds
                    } else {
                        context.error(t, "timeout must be a number of seconds between 0 and 300")
                    }
                }
                for (key, assign) in [
                    ("bearer-token-file", \AlertmanagerSettings.bearerTokenFile), ("password-file", \AlertmanagerSettings.passwordFile)
                ] {
                    if let n = a[key]?.value, let text = context.scalar(n, key) {
                        if text.hasPrefix("/") {
                            settings?[keyPath: assign] = text
                        } else {
                            context.error(n, "\(key) must be an absolute path")
                        }
                    }
                }
                if let n = a["username"]?.value, let text = context.scalar(n, "username") {
                    if text.isEmpty || text.contains(":") {
                        context.error(n, "username must be non-empty and have no ':'")
                    } else {
                        settings?.username = text
                    }
                }
                if let s = settings, (s.username == nil) != (s.passwordFile == nil) {
                    context.error(v, "username and password-file go together")
                } else if let s = settings, s.username != nil, s.bearerTokenFile != nil {
                    context.error(v, "give either bearer-token-file or username and password-file, not both")
                }
                config.alertmanager = settings
            }
            if let v = f["baseline"]?.value, let text = context.scalar(v, "baseline") {
                if text.hasPrefix("/") { config.baseline = text } else { context.error(v, "baseline must be an absolute path") }
            }
            if let v = f["state-directory"]?.value, let text = context.scalar(v, "state-directory") {
                if text.hasPrefix("/") {
                    config.stateDirectory = text
                } else {
                    context.error(v, "state-directory must be an absolute path")
                }
            }
            if let v = f["outputs"]?.value, let items = context.scalars(v, "outputs") {
                for (node, text) in items {
                    if let colon = text.firstIndex(of: ":"), ReportFormat(rawValue: String(text[..<colon])) != nil,
                        text[text.index(after: colon)...].hasPrefix("/")
                    {
                        config.outputs.append(text)
                    } else {
                        context.error(
                            node,
                            "an output is FORMAT:/ABSOLUTE/PATH with FORMAT one of \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", "))"
                        )
                    }
                }
            }
            for (key, assign) in [("fail-on", \RunConfiguration.failOn), ("alert-on", \RunConfiguration.alertOn)] {
                if let v = f[key]?.value, let text = context.scalar(v, key) {
                    if let value = FailOn(parsing: text) {
                        config[keyPath: assign] = value
                    } else {
                        context.error(v, "\(key) '\(text)' is not one of \(FailOn.accepted)")
                    }
                }
            }
            if let v = f["signers"]?.value, let text = context.scalar(v, "signers") {
                if text.hasPrefix("/") { config.signers = text } else { context.error(v, "signers must be an absolute path") }
            }
            if let v = f["require-signature"]?.value, let text = context.scalar(v, "require-signature") {
                switch text {
                case "true": config.requireSignature = true
                case "false": config.requireSignature = false
                default: context.error(v, "require-signature must be true or false")
                }
            }
            if let v = f["require-sandbox"]?.value, let text = context.scalar(v, "require-sandbox") {
                switch text {
                case "true": config.requireSandbox = true
                case "false": config.requireSandbox = false
                default: context.error(v, "require-sandbox must be true or false")
                }
            }
        }
        if !context.diagnostics.isEmpty {
            throw BaselineLoadError(diagnostics: context.diagnostics.sorted { ($0.line, $0.column) < ($1.line, $1.column) })
        }
        return config
    }
}
