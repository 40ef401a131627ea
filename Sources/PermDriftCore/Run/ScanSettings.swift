/// What `permdrift scan` was given on its command line (nil: not given).
public struct ScanOptions: Sendable {
    public var configuration = ConfigurationChoice(file: nil, none: false, defaultApplies: true)
    /// `--baseline`.
    public var baseline: String?
    public var host = HostRoot(root: nil)
    /// The report written to standard output.
    public var format: ReportFormat = .text
    /// `--fail-on`.
    public var failOn: FailOn?
    /// `--output` (replaces the configuration's outputs).
    public var outputs: [ReportOutput] = []
    /// `--state-dir`.
    public var stateDirectory: String?
    public var alerting = AlertFlags()
    public var requireSandbox = false
    public var requireSignature = false
    public var signers: String?
    /// `--deadline`, in seconds.
    public var deadline: Double?
    public var threads: Int?
    /// `--sandbox-probe` (tests): a path the scan tries to open once sandboxed, saying whether it could.
    public var sandboxProbe: String?

    public init() {}

    /// What is wrong with the options, if anything: a deadline that is not a positive number of seconds,
    /// a number of threads outside 1...64.
    public var problem: String? {
        if let deadline, !(deadline > 0) { return "--deadline must be a positive number of seconds" }
        if let threads, !(1...64).contains(threads) { return "--threads must be between 1 and 64" }
        return nil
    }

    /// The run's deadline in seconds.
    public var deadlineSeconds: Double { deadline ?? ScanRun.defaultDeadline }
}

/// A scan's settings resolved: the command line's flags over the configuration's.
public struct ScanSettings: Sendable {
    public let options: ScanOptions
    public let configuration: RunConfiguration
    /// The report files: `--output`, else the configuration's `outputs:`.
    public let outputs: [ReportOutput]
    /// The state directory: `--state-dir`, else the configuration's.
    public let statePath: String?
    /// Whether the state directory comes from the configuration (messages say how to run without it).
    public var stateFromConfiguration: Bool { options.stateDirectory == nil }
    /// Whether this scan delivers alerts itself: only with `--alertmanager` (the configuration's
    /// `alertmanager:` is for `permdrift notify`).
    public var delivers: Bool { options.alerting.alertmanager != nil }
    /// Whether the metrics count alerts waiting for delivery: only where delivery is configured (a
    /// metrics-only host has none).
    public var countsPendingAlerts: Bool { delivers || configuration.alertmanager != nil }
    public var textfile: String? { options.alerting.textfile(configuration) }
    public var failOn: FailOn { options.failOn ?? configuration.failOn ?? .anyDrift }
    /// Which findings the alerts page on: the configuration's `alert-on:`, else any finding.
    public var alertOn: FailOn { configuration.alertOn ?? .anyDrift }
    public var requireSandbox: Bool { options.requireSandbox || configuration.requireSandbox == true }
    public let baseline: BaselineSource

    public init(options: ScanOptions, configuration: RunConfiguration) {
        self.options = options
        self.configuration = configuration
        outputs = options.outputs.isEmpty ? configuration.outputs.compactMap(ReportOutput.init(argument:)) : options.outputs
        statePath = options.stateDirectory ?? configuration.stateDirectory
        let mustBeSigned = options.requireSignature || configuration.requireSignature == true
        baseline = BaselineSource(
            file: options.baseline, configured: configuration.baseline, mustBeSigned: mustBeSigned,
            signers: mustBeSigned ? (options.signers ?? configuration.signers) : nil)
    }

    /// The configuration's reports, which only a run that holds the lock may remove (a run's own
    /// `--output` reports are its to remove at any time).
    public var configuredReports: [ReportOutput] { options.outputs.isEmpty ? outputs : [] }

    /// The courier's flags: the same configuration, state directory and alerting.
    public func courierArguments(statePath: String) -> [String] {
        ["--state-dir", statePath] + options.configuration.arguments + options.alerting.arguments
    }
}
