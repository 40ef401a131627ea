public import Foundation

/// Runs one scan: walks the baseline's roots under the root directory, evaluates rules and pins, applies
/// exceptions, and returns a sorted, complete-or-not result.
public struct Scanner {
    public let baseline: Baseline
    public let accounts: AccountDatabase
    /// The directory that stands for `/` (`--root DIR`, or `/`).
    public let rootDirectory: String
    /// The root directory opened in advance, when the caller sandboxes the process before scanning.
    public var openRoot: RootDirectory?
    public var options: Walker.Options
    public var now: () -> Date = Date.init
    /// Set by `baseline lint` to learn what the baseline matches.
    public var lint: LintCollector?
    /// Progress for a terminal (`permdrift scan` sets it only when stderr is one).
    public var progress: ScanProgress?
    /// Whether rules are decided once per directory (tests compare with matching every entry).
    var decidesPerDirectory = true

    public init(baseline: Baseline, accounts: AccountDatabase, rootDirectory: String = "/") {
        self.baseline = baseline
        self.accounts = accounts
        self.rootDirectory = rootDirectory
        options = Walker.Options(oneFilesystem: baseline.oneFilesystem)
    }

    public init(baseline: Baseline, accounts: AccountDatabase, root: RootDirectory) {
        self.init(baseline: baseline, accounts: accounts, rootDirectory: root.path)
        openRoot = root
    }

    public enum ScanError: Error, CustomStringConvertible, Sendable {
        case cannotStart(String)

        public var description: String {
            switch self {
            case .cannotStart(let why): why
            }
        }
    }

    public func run() throws(ScanError) -> ScanResult {
        let started = now()
        let today = Self.utcDay(started)
        var visitor = ScanVisitor(baseline: baseline, accounts: accounts, decidesPerDirectory: decidesPerDirectory, today: today)
        visitor.rules.lint = lint
        visitor.progress = progress
        var options = options
        // What lint collects is not shared between threads.
        if lint != nil { options.threads = 1 }
        var walker = openRoot.map { Walker(root: $0, options: options) } ?? Walker(rootDirectory: rootDirectory, options: options)
        do {
            try walker.walk(roots: baseline.roots, visitor: &visitor)
        } catch {
            throw .cannotStart(error.description)
        }
        visitor.flushProgress()
        // Pins the walk did not meet (outside the roots, excluded, or missing) are looked up directly.
        for (i, pin) in baseline.pins.enumerated() where !visitor.pinsSeen.contains(i) {
            switch walker.lookUp(pin.path) {
            case .found(let record):
                if let f = visitor.rules.checkPin(pin, record: record) { visitor.rules.emitPin(f, into: &visitor.findings) }
            case .missing(let why):
                visitor.rules.emitPin(visitor.rules.missingPin(pin, why: why), into: &visitor.findings)
            case .failed(let error):
                visitor.findings.record(error)
            }
        }
        var notices = accounts.notices
        for (group, member) in accounts.unknownMembers {
            notices.append("group \(TerminalText.escape(group)) lists \(TerminalText.escape(member)), who has no account; ignored")
        }
        // Exceptions silenced findings as they were made (`RuleEvaluator.emit`).
        let used = visitor.findings.silenced
        for (i, exception) in baseline.exceptions.enumerated() {
            let what =
                "exception for rule '\(exception.rule)' on \(exception.pattern.source) (line \(exception.line), approved by \(exception.approvedBy))"
            if exception.isExpired(today: today) {
                notices.append("\(what) expired on \(exception.expires!); its findings are reported again")
            } else if used[i] == 0 {
                notices.append("\(what) silenced nothing; remove it if the drift it approved is gone")
            }
        }
        let collected = visitor.findings.finished()
        for (rule, more) in collected.omitted.sorted(by: { $0.key < $1.key }) {
            notices.append(
                "rule \(TerminalText.escape(rule)) has \(more) more finding\(more == 1 ? "" : "s") than the \(FindingCollector.listedPerRule) listed; they are counted, not listed"
            )
        }
        if collected.errorsOmitted > 0 {
            notices.append(
                "\(collected.errorsOmitted) more path\(collected.errorsOmitted == 1 ? "" : "s") could not be read than the \(FindingCollector.listedErrors) listed"
            )
        }
        let skipped = visitor.skipped.sorted { $0.path < $1.path }
        var result = ScanResult(
            host: Self.hostName(), rootDirectory: rootDirectory, startedAt: started, finishedAt: now(),
            baselineName: baseline.name, baselineOrigin: baseline.origin, entries: walker.entriesVisited,
            findings: collected.findings, errors: collected.errors, skipped: skipped, notices: notices, rules: baseline.rules,
            hasPins: !baseline.pins.isEmpty)
        result.omitted = collected.omitted
        result.errorsOmitted = collected.errorsOmitted
        return result
    }

    public static func utcDay(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }

    static func hostName() -> String { Syscalls.hostName() ?? "unknown" }
}
