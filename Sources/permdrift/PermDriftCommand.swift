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
        } catch let end as RunExit {
            Foundation.exit(end.status)
        } catch {
            let code = exitCode(for: error)
            if code == .failure {
                warn("permdrift: \(error)")
                Foundation.exit(ExitStatus.untrusted)
            }
            exit(withError: error)
        }
    }
}

/// Prints an error to standard error (with its journal priority under systemd).
func warn(_ message: String) { RunConsole.standard.error(message) }
