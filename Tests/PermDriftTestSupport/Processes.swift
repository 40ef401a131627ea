public import Foundation
import Testing

/// Runs programs for tests, the one way both test targets do it.
public enum Harness {
    /// The package's root directory (this file is Tests/PermDriftTestSupport/Processes.swift).
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    public static var isRoot: Bool { geteuid() == 0 }

    /// What a run did: its exit status (128 + the signal when a signal ended it), its standard output as
    /// bytes (names in it need not be UTF-8) and as text, and its standard error as text.
    public struct Run: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        public var stdoutBytes: Data
    }

    /// The environment a program runs with.
    public enum Environment: Sendable {
        /// The test process's environment, with these variables added or replaced.
        case inherited([String: String] = [:])
        /// Exactly these variables.
        case only([String: String])

        /// `LC_ALL=C` and a system `PATH`, nothing else: tool output in a fixed language.
        public static let cLocale = Environment.only(["LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])

        var variables: [String: String] {
            switch self {
            case .inherited(let added): ProcessInfo.processInfo.environment.merging(added) { $1 }
            case .only(let variables): variables
            }
        }
    }

    /// Runs `argv[0]` (an absolute path) with byte arguments, so that hostile names (newlines, invalid
    /// UTF-8) reach it unchanged, and waits for it.
    ///
    /// Standard input is /dev/null; standard output and error go to files (no pipe can fill up and stall
    /// it, and a daemon it leaves behind cannot hold the run open). The child starts in a process group
    /// of its own, with no signal blocked and no descriptor of the test process but those three (as
    /// Foundation's `Process` starts it). After `timeout` seconds it is sent SIGTERM and the test records
    /// an issue.
    public static func run(
        _ argv: [[UInt8]], environment: Environment = .inherited(),
        timeout: TimeInterval? = 120
    ) throws(HarnessError) -> Run {
        precondition(!argv.isEmpty)
        let name = String(decoding: argv[0], as: UTF8.self)
        let directory = try makeTemporaryDirectory(prefix: "pd-run")
        defer { rmdir(directory) }
        let outFile = directory + "/stdout", errFile = directory + "/stderr"
        let out = open(outFile, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        let err = open(errFile, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        unlink(outFile)
        unlink(errFile)
        defer { for fd in [out, err] where fd >= 0 { close(fd) } }
        guard out >= 0, err >= 0 else { throw HarnessError("cannot create \(directory)/std*: \(String(cString: strerror(errno)))") }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out, 1)
        posix_spawn_file_actions_adddup2(&actions, err, 2)
        // Every other descriptor open now (one opened meanwhile by another test has FD_CLOEXEC, or is
        // that test's business); a descriptor closed meanwhile is no error to glibc's posix_spawn.
        for fd in openDescriptors() where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        func cString(_ bytes: [UInt8]) -> UnsafeMutablePointer<CChar>? {
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
            p[bytes.count] = 0
            return p
        }
        let cArgv = argv.map(cString) + [nil]
        let cEnv = environment.variables.map { cString(Array("\($0.key)=\($0.value)".utf8)) } + [nil]
        defer { for p in cArgv + cEnv { p?.deallocate() } }

        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, cArgv[0]!, &actions, &attributes, cArgv, cEnv)
        guard spawned == 0 else { throw HarnessError("posix_spawn \(name): \(String(cString: strerror(spawned)))") }

        var status: Int32 = 0
        if let timeout {
            let deadline = Date().addingTimeInterval(timeout)
            var timedOut = false
            while true {
                let reaped = waitpid(pid, &status, WNOHANG)
                if reaped == pid { break }
                if reaped < 0 && errno != EINTR { throw HarnessError("waitpid \(name): \(String(cString: strerror(errno)))") }
                if !timedOut && Date() > deadline {
                    timedOut = true
                    Issue.record("\(argv.map { String(decoding: $0, as: UTF8.self) }) did not finish within \(timeout)s")
                    kill(pid, SIGTERM)
                }
                usleep(10_000)
            }
        } else {
            while waitpid(pid, &status, 0) < 0 {
                guard errno == EINTR else { throw HarnessError("waitpid \(name): \(String(cString: strerror(errno)))") }
            }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
        let exit = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let stdout = readAll(out), stderr = readAll(err)
        return Run(
            status: exit, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self), stdoutBytes: Data(stdout))
    }

    /// Runs `argv[0]` (an absolute path) with these arguments; see `run(_:environment:timeout:)`.
    public static func run(
        _ argv: [String], environment: Environment = .inherited(),
        timeout: TimeInterval? = 120
    ) throws(HarnessError) -> Run {
        try run(argv.map { Array($0.utf8) }, environment: environment, timeout: timeout)
    }

    /// Runs a program (an absolute path) with these arguments and waits for it; see `run(_:environment:timeout:)`.
    public static func run(
        _ executable: String, _ arguments: [String], environment: Environment = .inherited(),
        timeout: TimeInterval? = 120
    ) throws(HarnessError) -> Run {
        try run(([executable] + arguments).map { Array($0.utf8) }, environment: environment, timeout: timeout)
    }

    /// Runs a tool that must succeed (setfacl, setcap, mount …), or throws with its standard error.
    public static func sh(_ executable: String, _ arguments: String...) throws(HarnessError) {
        let r = try run(executable, arguments)
        guard r.status == 0 else {
            throw HarnessError("\(executable) \(arguments.joined(separator: " ")) failed (\(r.status)): \(r.stderr)")
        }
    }

    /// The descriptors this process has open (from /proc/self/fd).
    private static func openDescriptors() -> [Int32] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return [] }
        return names.compactMap { Int32($0) }
    }

    private static func readAll(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var offset: off_t = 0
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes.append(contentsOf: chunk[0..<n])
            offset += off_t(n)
        }
        return bytes
    }
}
