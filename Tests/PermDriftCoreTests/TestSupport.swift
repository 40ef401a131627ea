import Glibc

/// What a tool run by `runTool` did: its exit status (128 + signal when killed), its standard output as
/// bytes (names in it need not be UTF-8) and its standard error for messages.
struct ToolResult {
    var status: Int32
    var stdout: [UInt8]
    var stderr: String
}

struct ToolError: Error, CustomStringConvertible {
    let description: String
}

/// Runs `argv[0]` (an absolute path) with byte arguments, in the C locale, and collects both outputs.
/// Arguments are bytes so that hostile file names (newlines, invalid UTF-8) reach the tool unchanged.
func runTool(_ argv: [[UInt8]]) throws(ToolError) -> ToolResult {
    precondition(!argv.isEmpty)
    var outPipe: [Int32] = [-1, -1]
    var errPipe: [Int32] = [-1, -1]
    guard pipe(&outPipe) == 0 else { throw ToolError(description: "pipe: errno \(errno)") }
    guard pipe(&errPipe) == 0 else {
        close(outPipe[0]); close(outPipe[1])
        throw ToolError(description: "pipe: errno \(errno)")
    }
    // Keep the pipes out of tools that other tests spawn meanwhile (Glibc's module lacks pipe2).
    for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var readEnds = [outPipe[0], errPipe[0]]
    defer { for fd in readEnds where fd >= 0 { close(fd) } }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)

    func cString(_ bytes: [UInt8]) -> UnsafeMutablePointer<CChar>? {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
        p[bytes.count] = 0
        return p
    }
    let cArgv = argv.map(cString) + [nil]
    let cEnv = ["LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"].map { cString(Array($0.utf8)) } + [nil]
    defer { for p in cArgv + cEnv { p?.deallocate() } }

    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, cArgv[0]!, &actions, nil, cArgv, cEnv)
    close(outPipe[1])
    close(errPipe[1])
    guard spawned == 0 else {
        throw ToolError(description: "posix_spawn \(String(decoding: argv[0], as: UTF8.self)): errno \(spawned)")
    }

    // Drain both pipes together so neither can fill up and stall the child.
    var output: [[UInt8]] = [[], []]
    var chunk = [UInt8](repeating: 0, count: 65536)
    while readEnds.contains(where: { $0 >= 0 }) {
        var fds = readEnds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let ready = poll(&fds, nfds_t(fds.count), -1)
        if ready < 0 {
            if errno == EINTR { continue }
            throw ToolError(description: "poll: errno \(errno)")
        }
        for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
            let n = chunk.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress, $0.count) }
            if n > 0 {
                output[i].append(contentsOf: chunk[0..<n])
            } else if n == 0 || errno != EINTR {
                close(readEnds[i])
                readEnds[i] = -1
            }
        }
    }

    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else { throw ToolError(description: "waitpid: errno \(errno)") }
    }
    // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
    let exit = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    return ToolResult(status: exit, stdout: output[0], stderr: String(decoding: output[1], as: UTF8.self))
}

func runTool(_ argv: [String]) throws(ToolError) -> ToolResult {
    try runTool(argv.map { Array($0.utf8) })
}

/// A fresh directory from `mkdtemp(3)`; the caller removes it with `removeTree`.
func makeTemporaryDirectory(_ prefix: String) throws(ToolError) -> String {
    var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    guard made != nil else { throw ToolError(description: "mkdtemp: errno \(errno)") }
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Removes a temporary tree whatever its modes, owners and names (`rm -rf` as the test's user).
func removeTree(_ path: String) {
    precondition(path.hasPrefix("/tmp/") && path.count > "/tmp/".count, "refusing to remove \(path)")
    _ = try? runTool(["/bin/rm", "-rf", "--", path])
}

/// A seeded generator, so a failing order or tree reproduces from its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
