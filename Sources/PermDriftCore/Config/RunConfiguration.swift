import Yams

/// `/etc/permdrift/config.yaml`: what the service scans with and where it writes. Flags override it.
/// Secrets are never in it: only paths to files that hold them (systemd's `LoadCredential=`).
public struct RunConfiguration: Sendable, Equatable {
    public var baseline: String?
    public var stateDirectory: String?
    /// Reports to write, as `FORMAT:PATH`.
    public var outputs: [String] = []
    public var failOn: Severity?
    public var requireSandbox: Bool?
    /// The OpenSSH allowed_signers file that approves baselines.
    public var signers: String?
    public var requireSignature: Bool?

    public init() {}

    public static let defaultPath = "/etc/permdrift/config.yaml"

    static let keys = ["baseline", "state-directory", "outputs", "fail-on", "require-sandbox",
                       "signers", "require-signature", "alertmanager", "prometheus-textfile"]
    /// Keys of the format that later versions act on; this one refuses to ignore them silently.
    static let notYetSupported: [String: String] = [
        "alertmanager": "alert delivery",
        "prometheus-textfile": "Prometheus metrics",
    ]

    /// Parses the file's bytes; every problem is a `FILE:LINE:COLUMN` diagnostic.
    public static func load(_ bytes: [UInt8], file: String) throws(BaselineLoadError) -> RunConfiguration {
        let context = LoadContext(file: file, accounts: AccountDatabase(source: .files(root: "/")))
        let root = try BaselineLoader.document(bytes, context: context, what: "configuration")
        var config = RunConfiguration()
        if let pairs = context.mapping(root, "the configuration") {
            let f = context.fields(pairs, allowed: keys, in: "the configuration")
            for (key, what) in notYetSupported.sorted(by: { $0.key < $1.key }) {
                if let entry = f[key] {
                    context.error(entry.key, "'\(key)' (\(what)) is not supported by this version of permdrift; remove it rather than have it ignored")
                }
            }
            if let v = f["baseline"]?.value, let text = context.scalar(v, "baseline") {
                if text.hasPrefix("/") { config.baseline = text } else { context.error(v, "baseline must be an absolute path") }
            }
            if let v = f["state-directory"]?.value, let text = context.scalar(v, "state-directory") {
                if text.hasPrefix("/") { config.stateDirectory = text } else { context.error(v, "state-directory must be an absolute path") }
            }
            if let v = f["outputs"]?.value, let items = context.scalars(v, "outputs") {
                for (node, text) in items {
                    if let colon = text.firstIndex(of: ":"), ReportFormat(rawValue: String(text[..<colon])) != nil,
                       text[text.index(after: colon)...].hasPrefix("/") {
                        config.outputs.append(text)
                    } else {
                        context.error(node, "an output is FORMAT:/ABSOLUTE/PATH with FORMAT one of \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                }
            }
            if let v = f["fail-on"]?.value, let text = context.scalar(v, "fail-on") {
                if let s = Severity(rawValue: text) { config.failOn = s } else {
                    context.error(v, "fail-on '\(text)' is not one of critical, high, medium, low")
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
