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
        subcommands: [Scan.self, Fix.self, Notify.self, Status.self, Explain.self, BaselineCommand.self, Demo.self]
    )

    /// Runs the command; any error that is not a documented exit code becomes 2 ("cannot be trusted"), so
    /// the parser's own exit status 1 can never be mistaken for "drift found", and so does output that
    /// could not be written (a report lost to a full disk is not a result). (`exit(withError:)` is the
    /// parser's: it prints what the error says, nothing for an `ExitCode`, and exits with its code.)
    static func main() {
        let code: ExitCode
        do {
            var command = try parseAsRoot()
            try command.run()
            code = .success
        } catch let exit as ExitCode {
            code = exit
        } catch let end as RunExit {
            code = ExitCode(end.status)
        } catch {
            guard exitCode(for: error) == .failure else {
                exit(withError: error)  // not a system call
            }
            RunConsole.standard.error("permdrift: \(error)")
            code = ExitCode(ExitStatus.untrusted)
        }
        if let failure = StandardStreams.outputFailure {
            RunConsole.standard.error("permdrift: standard output could not be written (\(failure)); what it should have shown is lost")
            exit(withError: ExitCode(ExitStatus.untrusted))  // not a system call
        }
        exit(withError: code)  // not a system call
    }
}
