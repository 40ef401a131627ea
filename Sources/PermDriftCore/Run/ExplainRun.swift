/// `permdrift explain PATH`: every user who can read, write or execute a path on the host, and the
/// entries that let them (`Explanation`), as text or JSON.
public struct ExplainRun {
    /// The path as it stands on the host (absolute, without `.` or `..`: see `pathProblem`).
    public var path: String
    public var host: HostRoot
    /// JSON instead of text.
    public var json = false
    public let console: RunConsole

    public init(path: String, host: HostRoot, console: RunConsole = .standard) {
        self.path = path
        self.host = host
        self.console = console
    }

    /// What is wrong with the path given, if anything: it must be absolute, as it stands on the host,
    /// without `.` or `..` (the path they mean is given instead).
    public static func pathProblem(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "\(path): give an absolute path, as it stands on the host" }
        guard !path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else {
            return "\(path): '.' and '..' are not allowed; give the path they mean"
        }
        return nil
    }

    /// Prints the explanation; returns the exit status: 0, or 2 when the path is missing or cannot be
    /// read (or the host cannot be).
    public func run() -> Int32 {
        do throws(RunExit) {
            let rootDirectory = try host.directory(console: console)
            let accounts = try host.accounts(console: console)
            switch Explanation.explain(HostPath(path), rootDirectory: rootDirectory, accounts: accounts) {
            case .success(let explanation):
                console.report(json ? explanation.json : explanation.text)
                return ExitStatus.clean
            case .failure(.missing(let why)):
                console.error("permdrift explain: \(TerminalText.escape(why))")
            case .failure(.failed(let error)):
                console.error("permdrift explain: cannot read \(error)")
            }
            return ExitStatus.untrusted
        } catch {
            return error.status
        }
    }
}
