import ArgumentParser
import Foundation
import PermDriftCore

/// One more report written to a file: `FORMAT:PATH`.
struct OutputSpec: ExpressibleByArgument {
    let format: ReportFormat
    let path: String

    init?(argument: String) {
        guard let colon = argument.firstIndex(of: ":"),
              let format = ReportFormat(rawValue: String(argument[..<colon])) else { return nil }
        let path = String(argument[argument.index(after: colon)...])
        guard !path.isEmpty else { return nil }
        self.format = format
        self.path = path
    }
}

extension ReportFormat: ExpressibleByArgument {}
extension Severity: ExpressibleByArgument {}

struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan the baseline's roots and report every drift.",
        discussion: """
            Without --baseline, /etc/permdrift/baseline.yaml is used if it exists, else the built-in \
            agent-host baseline; the report says which. With --root DIR, / means DIR: baseline paths and \
            report paths are host paths, read under DIR, and names resolve in DIR/etc/passwd and DIR/etc/group.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The baseline to enforce.", valueName: "file"))
    var baseline: String?

    @OptionGroup var host: RootOptions

    @Option(name: .long, help: ArgumentHelp("The report written to standard output: text, json, junit or sarif.", valueName: "format"))
    var format: ReportFormat = .text

    @Option(name: .customLong("fail-on"),
            help: ArgumentHelp("Exit 1 only for findings at or above this severity (critical, high, medium, low); the others are still reported.",
                               valueName: "severity"))
    var failOn: Severity = .low

    @Option(name: .customLong("output"), parsing: .singleValue,
            help: ArgumentHelp("Also write a report to a file, atomically (repeatable), e.g. json:/var/lib/permdrift/last.json.",
                               valueName: "format:path"))
    var outputs: [OutputSpec] = []

    static let defaultBaselinePath = "/etc/permdrift/baseline.yaml"

    func run() throws {
        let status: Int32
        do {
            status = try scan()
        } catch let code as ExitCode where code.rawValue == ExitStatus.untrusted {
            removeStaleOutputs()
            throw code
        }
        throw ExitCode(status)
    }

    /// No result could be produced: reports from an earlier run must not stand in for this one.
    func removeStaleOutputs() {
        for output in outputs where unlink(output.path) == 0 {
            warn("permdrift: removed \(TerminalText.escape(output.path)), which held an earlier run's report")
        }
    }

    /// Scans and writes the reports; returns the exit status, or throws when no result could be produced.
    func scan() throws -> Int32 {
        let rootDirectory = try host.rootDirectory()
        let accounts = try host.accounts()
        let baseline = try loadBaseline(accounts: accounts)
        var result: ScanResult
        do {
            result = try Scanner(baseline: baseline, accounts: accounts, rootDirectory: rootDirectory).run()
            result.failOn = failOn
        } catch {
            warn("permdrift: cannot scan: \(error)")
            throw ExitCode(ExitStatus.untrusted)
        }
        var status = result.exitCode
        for output in outputs {
            // Written even for an incomplete scan: the report itself says it cannot be trusted.
            do {
                try AtomicFile.write(output.format.render(result), to: output.path)
            } catch {
                warn("permdrift: cannot write the \(output.format.rawValue) report: \(error)")
                status = ExitStatus.untrusted
            }
        }
        FileHandle.standardOutput.write(Data(format.render(result).utf8))
        if !result.isComplete {
            warn("permdrift: the scan is incomplete (\(result.errors.count) path\(result.errors.count == 1 ? "" : "s") could not be read); the result cannot be trusted")
        }
        return status
    }

    func loadBaseline(accounts: AccountDatabase) throws -> Baseline {
        let loader = BaselineLoader(accounts: accounts)
        // Anything at the default path (even a dangling symlink) is the baseline: it is refused if it is not
        // a trusted regular file, never silently replaced by the built-in one.
        var st = stat()
        let path = baseline ?? (lstat(Self.defaultBaselinePath, &st) == 0 || errno != ENOENT ? Self.defaultBaselinePath : nil)
        do {
            guard let path else {
                return try loader.load(Array(BuiltInBaseline.text.utf8), file: "built-in:agent-host.yaml", isBuiltIn: true)
            }
            switch TrustedFile.read(path: path, requireTrustedOwner: true) {
            case .success(let bytes):
                return try loader.load(bytes, file: path)
            case .failure(let e):
                warn("permdrift: cannot use the baseline: \(e)")
                throw ExitCode(ExitStatus.untrusted)
            }
        } catch let error as BaselineLoadError {
            warn(error.description)
            warn("permdrift: the baseline does not load (\(error.diagnostics.count) error\(error.diagnostics.count == 1 ? "" : "s")); nothing was scanned")
            throw ExitCode(ExitStatus.untrusted)
        }
    }
}
