import Foundation
import Glibc
import PermDriftCore
import PermDriftTestSupport
import Testing

/// The checks the commands make on their flags before anything runs, and `explain`, reached through the
/// library: the parser shows each problem with the usage and exits 64.
struct CommandRulesTests {
    @Test(
        arguments: [
            ("/etc/passwd", nil), ("etc/passwd", "etc/passwd: give an absolute path, as it stands on the host"),
            ("/etc/../root", "/etc/../root: '.' and '..' are not allowed; give the path they mean"),
            ("/./etc", "/./etc: '.' and '..' are not allowed; give the path they mean"), ("/", nil)
        ] as [(String, String?)])
    func explainTakesAHostPath(path: String, problem: String?) {
        #expect(ExplainRun.pathProblem(path) == problem)
    }

    @Test func aRootMustBeADirectoryOrASymlinkThatIsRefusedLater() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-root")
        defer { removeTree(dir) }
        try AtomicFile.write("x", to: dir + "/file", mode: 0o644)
        #expect(symlink(dir + "/nowhere", dir + "/dangling") == 0)
        #expect(HostRoot(root: nil).problem == nil)
        #expect(HostRoot(root: dir).problem == nil)
        #expect(HostRoot(root: dir + "/missing").problem == "--root \(dir)/missing: no such directory")
        #expect(HostRoot(root: dir + "/file").problem == "--root \(dir)/file: not a directory")
        #expect(HostRoot(root: dir + "/dangling").problem == nil, "a symlink is refused by directory(console:), with its own message")
        let recorder = RunConsoleRecorder()
        #expect(throws: RunExit(ExitStatus.untrusted)) { try HostRoot(root: dir + "/dangling").directory(console: recorder.console) }
        #expect(recorder.said(.error).first?.contains("is a symlink; give the directory itself") == true)
    }

    @Test func alertFlagsAreCheckedBeforeAnythingRuns() {
        #expect(AlertFlags().problem == nil)
        #expect(
            AlertFlags(alertmanager: "http://127.0.0.1:9093", alertmanagerTimeout: 300, prometheusTextfile: "/x/permdrift.prom").problem
                == nil)
        for timeout in [0, -1, 300.5, .nan] {
            #expect(AlertFlags(alertmanagerTimeout: timeout).problem == "--alertmanager-timeout must be between 0 and 300 seconds")
        }
        #expect(
            AlertFlags(prometheusTextfile: "/x/permdrift.txt").problem
                == "--prometheus-textfile must end in .prom (node_exporter's textfile collector reads only those)")
        #expect(AlertFlags(alertmanager: "ftp://example.com").problem?.hasPrefix("--alertmanager: ") == true)
    }

    @Test func scanOptionsAreCheckedBeforeAnythingRuns() {
        var options = ScanOptions()
        #expect(options.problem == nil)
        options.deadline = 0
        #expect(options.problem == "--deadline must be a positive number of seconds")
        options.deadline = 10
        options.threads = 65
        #expect(options.problem == "--threads must be between 1 and 64")
        options.threads = 64
        #expect(options.problem == nil)
    }

    @Test func explainSaysWhatIsMissing() throws {
        let (root, _) = try BaselineEditTests.makeHost()
        defer { removeTree(root) }
        let recorder = RunConsoleRecorder()
        #expect(ExplainRun(path: "/home/nobody", host: HostRoot(root: root), console: recorder.console).run() == ExitStatus.untrusted)
        #expect(recorder.said(.error).first?.hasPrefix("permdrift explain: ") == true, "\(recorder.said())")
        #expect(recorder.reported.isEmpty)
        var explain = ExplainRun(path: "/home/ann", host: HostRoot(root: root), console: recorder.console)
        explain.json = true
        #expect(explain.run() == ExitStatus.clean)
        let report = try #require(recorder.reported.first)
        #expect((try? JSONSerialization.jsonObject(with: Data(report.utf8))) != nil, "\(report)")
    }
}
