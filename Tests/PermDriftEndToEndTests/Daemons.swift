import Foundation
import PermDriftTestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real server the tests start on a loopback port of their own (Debian's Alertmanager and
/// node_exporter, or a small fault-injecting HTTP server), stopped by `stop()`.
final class Daemon {
    let process = Process()
    let port: UInt16
    let directory: String
    var configDirectory: String?

    /// Starts `executable` with `arguments(port, directory)` and waits until the port accepts.
    init(_ executable: String, arguments: (UInt16, String) -> [String], port: UInt16? = nil) throws {
        self.port = try port ?? Self.freePort()
        directory = try makeTemporaryDirectory(prefix: "pd-daemon")
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments(self.port, directory)
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let log = directory + "/log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while !Self.accepts(self.port) {
            guard process.isRunning, Date() < deadline else {
                stop()
                throw HarnessError("\(executable) did not listen on 127.0.0.1:\(self.port): \(self.log)")
            }
            usleep(50_000)
        }
    }

    var log: String { (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? "" }
    var base: String { "http://127.0.0.1:\(port)" }

    /// SIGKILL: a child of the test runner may inherit a signal mask that blocks SIGTERM.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    func remove() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
        if let configDirectory { try? FileManager.default.removeItem(atPath: configDirectory) }
    }

    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw HarnessError("cannot find a free port") }
        return UInt16(bigEndian: address.sin_port)
    }

    static func accepts(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Debian's Alertmanager on a loopback port, with no cluster listener and a receiver that sends
    /// nowhere; its storage in the daemon's directory.
    /// `webConfig`: an exporter-toolkit web configuration (TLS, basic authentication), whose relative
    /// file names are in `directory` of the returned daemon's configuration.
    static func alertmanager(port: UInt16? = nil, webConfig: String? = nil, files: [String: String] = [:]) throws -> Daemon {
        let directory = try makeTemporaryDirectory(prefix: "pd-am-config")
        let config = directory + "/alertmanager.yml"
        try "route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n".write(toFile: config, atomically: true, encoding: .utf8)
        for (name, text) in files { try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8) }
        var web: [String] = []
        if let webConfig {
            try webConfig.write(toFile: directory + "/web.yml", atomically: true, encoding: .utf8)
            web = ["--web.config.file=\(directory)/web.yml"]
        }
        let daemon = try Daemon(
            "/usr/bin/prometheus-alertmanager",
            arguments: { port, dir in
                [
                    "--config.file=\(config)", "--storage.path=\(dir)/data", "--web.listen-address=127.0.0.1:\(port)",
                    "--cluster.listen-address="
                ] + web
            }, port: port)
        daemon.configDirectory = directory
        if webConfig != nil { return daemon }  // accepting connections is all that can be checked without its credentials
        // Ready once the API answers.
        let deadline = Date().addingTimeInterval(20)
        while (try? get(daemon.base + "/-/ready"))?.status != 200 {
            guard Date() < deadline else { throw HarnessError("Alertmanager not ready: \(daemon.log)") }
            usleep(50_000)
        }
        return daemon
    }

    /// The active alerts (`GET /api/v2/alerts`).
    func alerts(authorization: String? = nil) throws -> [[String: Any]] {
        let response = try Self.get(base + "/api/v2/alerts", authorization: authorization)
        guard response.status == 200, let list = try JSONSerialization.jsonObject(with: response.body) as? [[String: Any]] else {
            throw HarnessError("GET /api/v2/alerts: \(response.status)")
        }
        return list
    }

    /// A GET on loopback, synchronously.
    static func get(_ url: String, authorization: String? = nil) throws -> (status: Int, body: Data) {
        final class Box: @unchecked Sendable { var value: (Int, Data)?; var error: (any Error)? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 10
        if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error { box.error = error } else { box.value = ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()) }
            done.signal()
        }.resume()
        done.wait()
        if let error = box.error { throw error }
        return box.value!
    }

    /// A small HTTP server that fails every request the way `mode` says: `500`, `redirect` (to another
    /// path, which is never followed) or `hang` (accepts and never answers). Not a stand-in for
    /// Alertmanager: it produces the faults a real one cannot be made to produce on demand.
    static func faulty(_ mode: String) throws -> Daemon {
        let script = """
            import http.server, sys, time
            mode = sys.argv[1]
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    self.rfile.read(int(self.headers.get('Content-Length', 0)))
                    if mode == 'hang':
                        time.sleep(3600)
                    elif mode == 'redirect':
                        self.send_response(307); self.send_header('Location', '/elsewhere'); self.end_headers()
                    else:
                        self.send_response(500); self.end_headers(); self.wfile.write(b'internal error')
                def log_message(self, *args): pass
            http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[2])), H).serve_forever()
            """
        return try Daemon("/usr/bin/python3", arguments: { port, _ in ["-c", script, mode, String(port)] })
    }
}

/// A real hanging filesystem: a FUSE mount (Debian's fusepy) whose every getattr and readdir never
/// answers. A request its daemon has read waits uninterruptibly until `release()` kills the daemon,
/// which aborts the connection.
final class HangingFUSE {
    let mountPoint: String
    private let daemon = Process()
    private var released = false

    /// Mounts it at `mountPoint` (an empty directory), its script written in `scratch`.
    init(at mountPoint: String, scratch: String) throws {
        self.mountPoint = mountPoint
        let script = scratch + "/hang.py"
        try """
        import sys, time
        from fusepy import FUSE, Operations
        class Hang(Operations):
            def getattr(self, path, fh=None):
                time.sleep(3600)
            def readdir(self, path, fh):
                time.sleep(3600)
        FUSE(Hang(), sys.argv[1], foreground=True, allow_other=True)
        """.write(toFile: script, atomically: true, encoding: .utf8)
        daemon.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        daemon.arguments = [script, mountPoint]
        daemon.standardOutput = FileHandle.nullDevice
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        let mounted = Date().addingTimeInterval(20)
        while !((try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8))?.contains(" \(mountPoint) fuse") ?? false) {
            guard daemon.isRunning && Date() < mounted else {
                release()
                throw HarnessError("the FUSE filesystem did not mount at \(mountPoint)")
            }
            usleep(50_000)
        }
    }

    /// Whether the daemon still runs (and so still holds what it read).
    var isHanging: Bool { daemon.isRunning }

    /// Kills the daemon, which aborts the FUSE connection (nothing stays blocked), and unmounts.
    func release() {
        guard !released else { return }
        released = true
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
        _ = try? Harness.run("/bin/umount", ["-l", mountPoint])
    }

    deinit { release() }
}
