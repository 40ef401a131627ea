import CPermDrift
import Glibc

/// Starting programs with `posix_spawn` (no helper thread, unlike Foundation's `Process`, so nothing in
/// this process escapes a Landlock restriction applied later). Each returns the child's pid, or the
/// errno value `posix_spawn` gave.
enum Spawn {
    /// A supervised worker: `output` becomes its standard output, `error` its standard error (nil:
    /// inherited), `status` its descriptor 3; every other descriptor from 4 up is closed in it.
    static func worker(
        _ path: String, arguments argv: [String], environment: [String], output: FileDescriptor,
        error: FileDescriptor?, status: FileDescriptor
    ) -> Result<Int32, Errno> {
        withCStrings(argv, environment) { argv, envp in
            var pid: pid_t = 0
            let rc = pd_spawn_worker(path, argv, envp, output.rawValue, error?.rawValue ?? -1, status.rawValue, &pid)
            return rc == 0 ? .success(pid) : .failure(Errno(rc))
        }
    }

    /// A program run to its end: `input`, `output` and `error` become its descriptors 0, 1 and 2 and
    /// every other descriptor is closed in it; it starts with no signal blocked and SIGPIPE at its
    /// default action.
    static func program(
        _ path: String, arguments argv: [String], environment: [String], input: FileDescriptor,
        output: FileDescriptor, error: FileDescriptor
    ) -> Result<Int32, Errno> {
        withCStrings(argv, environment) { argv, envp in
            var pid: pid_t = 0
            let rc = pd_spawn_program(path, argv, envp, input.rawValue, output.rawValue, error.rawValue, &pid)
            return rc == 0 ? .success(pid) : .failure(Errno(rc))
        }
    }

    /// A program with this process's environment, `input` as its standard input and the rest of its
    /// descriptors inherited (those not closed on exec).
    static func inheriting(_ path: String, arguments argv: [String], input: FileDescriptor) -> Result<Int32, Errno> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input.rawValue, 0)
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { for p in cArguments { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, cArguments, environ)
        return rc == 0 ? .success(pid) : .failure(Errno(rc))
    }

    /// Runs `body` with `argv` and `environment` as NULL-terminated C string arrays.
    private static func withCStrings<R>(
        _ argv: [String], _ environment: [String],
        _ body: ([UnsafeMutablePointer<CChar>?], [UnsafeMutablePointer<CChar>?]) -> R
    ) -> R {
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup($0) } + [nil]
        defer { for p in cArguments + cEnvironment { free(p) } }
        return body(cArguments, cEnvironment)
    }
}
