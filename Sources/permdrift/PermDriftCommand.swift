import ArgumentParser
import Foundation
import PermDriftCore

@main
struct PermDriftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "permdrift",
        abstract: "Find permission drift on hosts that run autonomous coding agents.",
        discussion: """
            Exit codes: 0 no drift, 1 drift found, 2 the result cannot be trusted (baseline invalid, \
            scan incomplete), 64 usage error, 75 another run holds the lock.
            """,
        version: ScanResult.toolVersion,
        subcommands: [Scan.self, Notify.self, Status.self, Explain.self, BaselineCommand.self, Demo.self]
    )

    /// Runs the command; any error that is not a documented exit code becomes 2 ("cannot be trusted"), so
    /// the parser's own exit status 1 can never be mistaken for "drift found".
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .failure {
                Log.error("permdrift: \(error)")
                Foundation.exit(ExitStatus.untrusted)
            }
            exit(withError: error)
        }
    }
}

/// The documented exit codes.
enum ExitStatus {
    static let clean: Int32 = 0
    static let drift: Int32 = 1
    static let untrusted: Int32 = 2
    static let usage: Int32 = 64
    static let locked: Int32 = 75
}

/// Messages on standard error. Under systemd (`JOURNAL_STREAM` set) each line carries a syslog
/// priority prefix (`<3>` error, `<4>` warning, `<6>` info) so journald files it at the right level.
enum Log {
    static let journal = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil

    static func write(_ message: String, priority: Int) {
        var text = ""
        for line in message.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            text += (journal ? "<\(priority)>" : "") + line + "\n"
        }
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func error(_ message: String) { write(message, priority: 3) }
    static func warning(_ message: String) { write(message, priority: 4) }
    /// Only under systemd: on a terminal the report says it.
    static func info(_ message: String) { if journal { write(message, priority: 6) } }
}

/// Prints an error to standard error.
func warn(_ message: String) { Log.error(message) }
