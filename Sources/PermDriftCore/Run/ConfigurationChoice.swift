/// Which run configuration a command reads: `--config FILE`, none (`--no-config`), or the default
/// (/etc/permdrift/config.yaml) when it exists and `defaultApplies` (`permdrift scan --root DIR` reads a
/// configuration only when one is named: the default is the service's, for the live host).
public struct ConfigurationChoice: Sendable, Equatable {
    public var file: String?
    public var none: Bool
    public var defaultApplies: Bool
    /// Where the default configuration is (a test's own file; otherwise `RunConfiguration.defaultPath`).
    public var defaultPath = RunConfiguration.defaultPath

    public init(file: String?, none: Bool, defaultApplies: Bool) {
        self.file = file
        self.none = none
        self.defaultApplies = defaultApplies
    }

    /// Reads the configuration. One that is not trusted or does not load ends the run (exit 2).
    /// `quiet`: for `permdrift scan`'s supervisor, whose worker loads the same file and says what is wrong.
    public func load(quiet: Bool = false, console: RunConsole) throws(RunExit) -> RunConfiguration {
        guard !none, file != nil || defaultApplies else { return RunConfiguration() }
        let path = file ?? (PathStatus.somethingIsAt(defaultPath) ? defaultPath : nil)
        guard let path else { return RunConfiguration() }
        switch TrustedFile.read(path: path, requireTrustedOwner: true) {
        case .success(let bytes):
            do { return try RunConfiguration.load(bytes, file: path) } catch {
                if quiet { throw RunExit(ExitStatus.untrusted) }
                console.error(error.description)
                console.error(
                    "permdrift: the configuration does not load (\(error.diagnostics.count) error\(error.diagnostics.count == 1 ? "" : "s")); nothing was done"
                )
                throw RunExit(ExitStatus.untrusted)
            }
        case .failure(let e):
            if !quiet { console.error("permdrift: cannot use the configuration: \(e)") }
            throw RunExit(ExitStatus.untrusted)
        }
    }

    /// The same choice, as flags for another permdrift process (the courier).
    public var arguments: [String] {
        if none || (file == nil && !defaultApplies) { return ["--no-config"] }
        if let file { return ["--config", file] }
        return []
    }
}
