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
            scan incomplete), 64 usage error.
            """,
        version: ScanResult.toolVersion,
        subcommands: [Scan.self, Explain.self, Demo.self]
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
                FileHandle.standardError.write(Data("permdrift: \(error)\n".utf8))
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
}

/// Prints to standard error.
func warn(_ message: String) {
    FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
}
