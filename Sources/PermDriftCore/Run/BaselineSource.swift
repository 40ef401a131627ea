/// Where a scan's baseline comes from, and when it is trusted:
///
/// - unsigned: `--baseline`, else the configuration's, else anything at `defaultPath` (even a dangling
///   symlink: it is refused if it is not a trusted regular file, never silently replaced), else the
///   built-in agent-host baseline;
/// - signed (`--require-signature`): the same file without the built-in fallback, its bytes read once,
///   verified against the signers (`ApprovedBaseline`) and those same bytes parsed; and its serial never
///   goes down on a host (`checkSerial`).
public struct BaselineSource: Sendable {
    /// The service's baseline.
    public static let standardPath = "/etc/permdrift/baseline.yaml"

    /// `--baseline FILE`.
    public var file: String?
    /// The configuration's `baseline:`.
    public var configured: String?
    /// `--require-signature` (or the configuration's `require-signature: true`).
    public var mustBeSigned: Bool
    /// The OpenSSH allowed_signers file that approves baselines, when they must be signed.
    public var signers: String?
    /// Where the default baseline is (a test's own file; otherwise `standardPath`).
    public var defaultPath = BaselineSource.standardPath

    public init(file: String?, configured: String?, mustBeSigned: Bool, signers: String?) {
        self.file = file
        self.configured = configured
        self.mustBeSigned = mustBeSigned
        self.signers = signers
    }

    /// What an unsigned run loads.
    public enum Choice: Sendable, Equatable {
        case file(String)
        case builtIn
    }

    /// The baseline an unsigned run loads: the one named, else whatever is at the default path (anything
    /// there, even a dangling symlink, is the baseline), else the built-in one.
    public func choice() -> Choice {
        if let named = file ?? configured { return .file(named) }
        return PathStatus.somethingIsAt(defaultPath) ? .file(defaultPath) : .builtIn
    }

    /// A signed baseline that was refused: it is reported (a critical `baseline-rejected` finding), not
    /// only printed, so whoever reads the reports learns that nothing was enforced.
    public struct Rejected: Error, Sendable {
        public let source: String
        public let bytes: [UInt8]?
        public let reason: String
    }

    /// Loads the baseline. Throws `Rejected` for a signed baseline that does not verify, `RunExit` when
    /// nothing can be enforced for another reason (said on the console).
    public func load(accounts: AccountDatabase, console: RunConsole) throws -> Baseline {
        let loader = BaselineLoader(accounts: accounts)
        if mustBeSigned {
            // The bytes are read once, verified, and the same bytes parsed; no built-in fallback.
            guard let signers else {
                console.error("permdrift: --require-signature needs --signers (or signers: in the configuration)")
                throw RunExit(ExitStatus.untrusted)
            }
            let path = file ?? configured ?? defaultPath
            switch ApprovedBaseline.read(path, signers: signers) {
            case .success(let approved):
                do {
                    var loaded = try loader.load(approved.bytes, file: path)
                    loaded.origin.signer = approved.signer.description
                    console.info(
                        "permdrift: baseline \(TerminalText.escape(path)) approved by \(TerminalText.escape(approved.signer.description))")
                    return loaded
                } catch {
                    console.error(error.description)
                    console.error("permdrift: the baseline does not load; nothing was scanned")
                    throw RunExit(ExitStatus.untrusted)
                }
            case .failure(let why):
                throw Rejected(source: path, bytes: nil, reason: why.description)
            }
        }
        do {
            guard case .file(let path) = choice() else {
                return try loader.load(Array(BuiltInBaseline.text.utf8), file: "built-in:agent-host.yaml", isBuiltIn: true)
            }
            switch TrustedFile.read(path: path, requireTrustedOwner: true) {
            case .success(let bytes):
                return try loader.load(bytes, file: path)
            case .failure(let e):
                console.error("permdrift: cannot use the baseline: \(e)")
                throw RunExit(ExitStatus.untrusted)
            }
        } catch let error as BaselineLoadError {
            console.error(error.description)
            console.error(
                "permdrift: the baseline does not load (\(error.diagnostics.count) error\(error.diagnostics.count == 1 ? "" : "s")); nothing was scanned"
            )
            throw RunExit(ExitStatus.untrusted)
        }
    }

    /// A signed baseline's serial never goes down on a host: an older signed baseline is not replayed.
    /// Records the serial as accepted when it is not lower than the highest the state holds.
    /// `record`: write the serial as the highest accepted (not where the directory is another account's).
    public static func checkSerial(_ baseline: Baseline, state: StateDirectory, record: Bool = true) throws(StateError) {
        let serial = baseline.serial ?? 0
        if let highest = try state.highestSerial(), serial < highest {
            throw .untrusted(
                path: baseline.origin.source,
                why:
                    "has serial \(serial), lower than \(highest), the highest this host has accepted: an older baseline is being replayed; rejected"
            )
        }
        if record { try state.recordSerial(serial) }
    }
}
