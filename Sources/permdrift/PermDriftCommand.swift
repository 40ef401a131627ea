import ArgumentParser
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
    /// the parser's own exit status 1 can never be mistaken for "drift found". (`exit(withError:)` is the
    /// parser's: it prints what the error says, nothing for an `ExitCode`, and exits with its code.)
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            exit(withError: code)  // not a system call
        } catch let end as RunExit {
            exit(withError: ExitCode(end.status))  // not a system call
        } catch {
            if exitCode(for: error) == .failure {
                RunConsole.standard.error("permdrift: \(error)")
                exit(withError: ExitCode(ExitStatus.untrusted))  // not a system call
            }
            exit(withError: error)  // not a system call
        }
    }
}
