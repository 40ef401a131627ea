import Foundation
import Glibc
import PermDriftCore
import PermDriftTestSupport
import Testing

/// The rules of the `baseline` tools that change nothing (`BaselineTools`), reached through the library:
/// what `init` refuses, lint's exit statuses, and what `diff` and `verify` say about files they cannot use.
struct BaselineToolRulesTests {
    @Test(
        arguments: [
            ([String](), "--roots needs at least one path"), (["home"], "--roots home: give an absolute path without . or .."),
            (["/home", "/srv/../etc"], "--roots /srv/../etc: give an absolute path without . or .."),
            (["/home/./ann"], "--roots /home/./ann: give an absolute path without . or .."), (["/home", "/srv"], nil)
        ]
            as [([String], String?)])
    func initTakesAbsoluteRootsOnly(roots: [String], problem: String?) {
        #expect(BaselineTools.rootsProblem(roots) == problem)
    }

    @Test func initNeverOverwritesAFile() throws {
        let (root, file) = try BaselineEditTests.makeHost()
        defer { removeTree(root) }
        let recorder = RunConsoleRecorder()
        let tools = BaselineTools(host: HostRoot(root: root), console: recorder.console)
        #expect(tools.draft(name: "first", roots: ["/home"], output: file) == ExitStatus.usage)
        #expect(recorder.said(.error) == ["permdrift baseline init: \(file) exists; refusing to overwrite it"])
        #expect(try BaselineEditTests.contents(file) == BaselineEditTests.baselineText)
        let output = root + "/drafted.yaml"
        #expect(tools.draft(name: "first", roots: ["/home"], output: output) == ExitStatus.clean, "\(recorder.said())")
        let drafted = try BaselineEditTests.contents(output)
        #expect(drafted.contains("name: \"first\""), "\(drafted)")
        #expect(recorder.reported.isEmpty, "written to the file, not to standard output")
    }

    @Test func aDraftWithoutAnOutputIsTheReport() throws {
        let (root, _) = try BaselineEditTests.makeHost()
        defer { removeTree(root) }
        let recorder = RunConsoleRecorder()
        #expect(
            BaselineTools(host: HostRoot(root: root), console: recorder.console).draft(name: "first", roots: ["/home"], output: nil)
                == ExitStatus.clean)
        #expect(recorder.reported.count == 1 && recorder.reported[0].contains("name: \"first\""), "\(recorder.reported)")
    }

    @Test func lintSaysCleanWithExitZeroAndWarningsWithExitOne() throws {
        let (root, file) = try BaselineEditTests.makeHost()
        defer { removeTree(root) }
        let recorder = RunConsoleRecorder()
        let tools = BaselineTools(host: HostRoot(root: root), console: recorder.console)
        #expect(tools.lint(file) == ExitStatus.clean, "\(recorder.said())")
        #expect(recorder.reported.last?.hasPrefix("\(file): no problems (") == true, "\(recorder.reported)")
        try AtomicFile.write(
            BaselineEditTests.baselineText + """
                  - id: nothing-here
                    match: /home/*/nope/**
                    expect: { mode: "0600" }

                """, to: file, mode: 0o644)
        #expect(tools.lint(file) == ExitStatus.drift)
        #expect(
            recorder.reported.contains { $0.contains("warning: rule 'nothing-here' matches nothing on this tree") }, "\(recorder.reported)")
        #expect(recorder.reported.last?.hasPrefix("\(file): 1 warning (") == true, "\(recorder.reported)")
    }

    @Test func diffNeedsTwoBaselinesThatLoad() throws {
        let (root, file) = try BaselineEditTests.makeHost()
        defer { removeTree(root) }
        let recorder = RunConsoleRecorder()
        let tools = BaselineTools(host: HostRoot(root: root), console: recorder.console)
        #expect(tools.diff(old: file, new: root + "/missing.yaml", json: false) == ExitStatus.untrusted)
        #expect(recorder.said(.error) == ["permdrift baseline diff: \(root)/missing.yaml: no such file"])
        #expect(recorder.reported.isEmpty)
        #expect(tools.diff(old: file, new: file, json: false) == ExitStatus.clean)
        #expect(recorder.reported.count == 1)
    }

    @Test func verifyRejectsABaselineWithoutASignature() throws {
        let (root, file) = try BaselineEditTests.makeHost()
        defer { removeTree(root) }
        try AtomicFile.write("alice@example.com ssh-ed25519 AAAA\n", to: root + "/signers", mode: 0o644)
        let recorder = RunConsoleRecorder()
        #expect(
            BaselineTools(host: HostRoot(root: nil), console: recorder.console).verify(file, signers: root + "/signers")
                == ExitStatus.untrusted)
        #expect(recorder.said(.error) == ["permdrift baseline verify: \(file) rejected: no signature: \(file).sig does not exist"])
        #expect(recorder.reported.isEmpty)
    }

    @Test func signNeedsAFileItCanRead() throws {
        let (root, _) = try BaselineEditTests.makeHost()
        defer { removeTree(root) }
        // sign reads the baseline as an ordinary file (the signature is what makes it trusted), so only
        // what cannot be read at all stops it: here, a directory.
        let recorder = RunConsoleRecorder()
        #expect(
            BaselineTools(host: HostRoot(root: nil), console: recorder.console).sign(root + "/home", key: root + "/key")
                == ExitStatus.untrusted)
        #expect(recorder.said(.error).first?.hasPrefix("permdrift baseline sign: \(root)/home: ") == true, "\(recorder.said())")
        #expect(!HostFiles.exists(root + "/home.sig"))
    }
}
