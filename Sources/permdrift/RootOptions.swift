import ArgumentParser
import PermDriftCore

/// `--root DIR`, shared by the commands that read a host: `/` means DIR, and names resolve only in
/// DIR/etc/passwd and DIR/etc/group.
struct RootOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A directory that stands for / (a scratch root or a mounted image).", valueName: "dir"))
    var root: String?

    func validate() throws {
        if let problem = hostRoot.problem { throw ValidationError(problem) }
    }

    /// The host the flag names, for the library.
    var hostRoot: HostRoot { HostRoot(root: root) }
}
