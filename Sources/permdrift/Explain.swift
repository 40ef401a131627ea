import ArgumentParser
import Foundation
import PermDriftCore

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every user who can read, write or execute a path, and the entries that let them.",
        discussion: """
            Write includes replacing: write and search on the parent directory let a user delete or rename \
            the entry, unless the directory is sticky and the user owns neither. With --root DIR, PATH is a \
            host path read under DIR and names resolve in DIR/etc/passwd and DIR/etc/group.
            """
    )

    @Argument(help: ArgumentHelp("The path to explain (absolute, as it stands on the host).", valueName: "path"))
    var path: String

    @OptionGroup var host: RootOptions

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: ExplainFormat = .text

    enum ExplainFormat: String, ExpressibleByArgument {
        case text, json
    }

    func validate() throws {
        guard path.hasPrefix("/") else { throw ValidationError("\(path): give an absolute path, as it stands on the host") }
        guard !path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else {
            throw ValidationError("\(path): '.' and '..' are not allowed; give the path they mean")
        }
    }

    func run() throws {
        let rootDirectory = try host.rootDirectory()
        let accounts = try host.accounts()
        switch Explanation.explain(HostPath(path), rootDirectory: rootDirectory, accounts: accounts) {
        case .success(let explanation):
            FileHandle.standardOutput.write(Data((format == .json ? explanation.json : explanation.text).utf8))
        case .failure(.missing(let why)):
            warn("permdrift explain: \(TerminalText.escape(why))")
            throw ExitCode(ExitStatus.untrusted)
        case .failure(.failed(let error)):
            warn("permdrift explain: cannot read \(error)")
            throw ExitCode(ExitStatus.untrusted)
        }
    }
}
