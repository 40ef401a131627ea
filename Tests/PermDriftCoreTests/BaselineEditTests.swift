import Foundation
import Glibc
import PermDriftCore
import PermDriftTestSupport
import Testing

/// What `baseline accept` and `baseline pin` refuse and why, reached through the library (`BaselineEdit`):
/// the baseline must be a trusted file that loads, the changed baseline must load too (or the file is
/// left byte for byte), pins need absolute paths that exist, and a signature the file had is said to
/// no longer match.
struct BaselineEditTests {
    static let baselineText = """
        version: 1
        name: edit
        scan:
          roots: [/home]
        rules:
          - id: homes
            match: /home/{a}
            expect: { mode: "0700" }

        """

    /// A host root with account files and /home/ann, and a baseline in it (0644, root's).
    static func makeHost() throws -> (root: String, baseline: String) {
        let root = try makeTemporaryDirectory(prefix: "permdrift-edit")
        for directory in ["/etc", "/home", "/home/ann"] { #expect(mkdir(root + directory, 0o755) == 0) }
        try AtomicFile.write("root:x:0:0::/root:/bin/sh\nann:x:33001:33001::/home/ann:/bin/sh\n", to: root + "/etc/passwd", mode: 0o644)
        try AtomicFile.write("root:x:0:\nann:x:33001:\n", to: root + "/etc/group", mode: 0o644)
        let baseline = root + "/baseline.yaml"
        try AtomicFile.write(baselineText, to: baseline, mode: 0o644)
        return (root, baseline)
    }

    static func exception(rule: String = "homes", expires: String? = "2999-01-01") -> BaselineEditor.AcceptedException {
        BaselineEditor.AcceptedException(rule: rule, path: "/home/ann", approvedBy: "alice", reason: "review", expires: expires)
    }

    static func contents(_ path: String) throws -> String {
        String(decoding: try TrustedFile.read(path: path, requireTrustedOwner: false).get(), as: UTF8.self)
    }

    @Test func anAcceptedDriftIsAddedAndSummarised() throws {
        let (root, file) = try Self.makeHost()
        defer { removeTree(root) }
        let recorder = RunConsoleRecorder()
        let status = BaselineEdit(file: file, host: HostRoot(root: root), console: recorder.console).accept(Self.exception())
        #expect(status == ExitStatus.clean, "\(recorder.said())")
        #expect(try Self.contents(file).contains("accepted:\n  - { rule: \"homes\", path: \"/home/ann\", approved-by: \"alice\""))
        #expect(recorder.reported == ["accepted findings of homes on /home/ann, approved by alice until 2999-01-01\n"])
        #expect(recorder.said().isEmpty)
    }

    @Test func anUntrustedBaselineIsNotEdited() throws {
        let (root, file) = try Self.makeHost()
        defer { removeTree(root) }
        #expect(chmod(file, 0o666) == 0)
        let recorder = RunConsoleRecorder()
        let status = BaselineEdit(file: file, host: HostRoot(root: root), console: recorder.console).accept(Self.exception())
        #expect(status == ExitStatus.untrusted)
        #expect(recorder.said(.error).count == 1)
        #expect(recorder.said(.error).first?.hasPrefix("permdrift baseline edit: \(file): ") == true, "\(recorder.said())")
        #expect(try Self.contents(file) == Self.baselineText)
        #expect(recorder.reported.isEmpty)
    }

    @Test func aBaselineThatDoesNotLoadIsNotEdited() throws {
        let (root, file) = try Self.makeHost()
        defer { removeTree(root) }
        let broken = Self.baselineText.replacingOccurrences(of: "version: 1", with: "version: 7")
        try AtomicFile.write(broken, to: file, mode: 0o644)
        let recorder = RunConsoleRecorder()
        let status = BaselineEdit(file: file, host: HostRoot(root: root), console: recorder.console).accept(Self.exception())
        #expect(status == ExitStatus.untrusted)
        #expect(recorder.said(.error).first?.hasPrefix("\(file):") == true, "a compiler-like message: \(recorder.said())")
        #expect(try Self.contents(file) == broken)
    }

    @Test(arguments: [(rule: "no-such-rule", expires: "2999-01-01"), (rule: "homes", expires: "next week")])
    func aChangeThatWouldNotLoadLeavesTheFileAsItWas(rule: String, expires: String) throws {
        let (root, file) = try Self.makeHost()
        defer { removeTree(root) }
        let recorder = RunConsoleRecorder()
        let status = BaselineEdit(file: file, host: HostRoot(root: root), console: recorder.console)
            .accept(Self.exception(rule: rule, expires: expires))
        #expect(status == ExitStatus.untrusted)
        #expect(recorder.said(.error).last == "permdrift baseline: the change would not load; \(file) is unchanged", "\(recorder.said())")
        #expect(try Self.contents(file) == Self.baselineText)
        #expect(recorder.reported.isEmpty, "no summary for a change that was not made")
    }

    @Test func aSignedBaselineIsSaidToNeedSigningAgain() throws {
        let (root, file) = try Self.makeHost()
        defer { removeTree(root) }
        try AtomicFile.write("not really a signature\n", to: SSHSignature.signaturePath(for: file), mode: 0o644)
        let recorder = RunConsoleRecorder()
        let status = BaselineEdit(file: file, host: HostRoot(root: root), console: recorder.console).accept(Self.exception(expires: nil))
        #expect(status == ExitStatus.clean)
        #expect(
            recorder.reported == [
                "accepted findings of homes on /home/ann, approved by alice with no expiry (lint warns about that)\n",
                "\(file).sig no longer matches: review the change, then re-sign with `permdrift baseline sign \(file) --key KEY`\n"
            ])
    }

    @Test func aPinNeedsAnAbsolutePathThatExists() throws {
        let (root, file) = try Self.makeHost()
        defer { removeTree(root) }
        let recorder = RunConsoleRecorder()
        let edit = BaselineEdit(file: file, host: HostRoot(root: root), console: recorder.console)
        #expect(edit.pin(["home/ann"]) == ExitStatus.usage)
        #expect(recorder.said(.error) == ["permdrift baseline pin: home/ann: give an absolute path"])
        #expect(edit.pin(["/home/nobody"]) == ExitStatus.untrusted)
        #expect(recorder.said(.error).last?.hasPrefix("permdrift baseline pin: ") == true)
        #expect(try Self.contents(file) == Self.baselineText, "nothing pinned")
        #expect(edit.pin(["/home/ann"]) == ExitStatus.clean)
        #expect(try Self.contents(file).contains("pinned:"))
        #expect(recorder.reported == ["pinned /home/ann\n"])
    }

    @Test func aPinUnderARootThatIsASymlinkIsRefused() throws {
        let (root, file) = try Self.makeHost()
        defer { removeTree(root) }
        #expect(symlink(root, root + "/link") == 0)
        let recorder = RunConsoleRecorder()
        #expect(
            BaselineEdit(file: file, host: HostRoot(root: root + "/link"), console: recorder.console).pin(["/home/ann"])
                == ExitStatus.untrusted)
        #expect(recorder.said(.error).first?.contains("is a symlink; give the directory itself") == true, "\(recorder.said())")
    }

    @Test(
        arguments: [
            ("review", "alice", nil), ("", "alice", "--reason must not be empty"), ("  ", "alice", "--reason must not be empty"),
            ("review", " ", "--by must not be empty")
        ] as [(String, String, String?)])
    func anAcceptanceNeedsAReasonAndAnApprover(reason: String, approvedBy: String, problem: String?) {
        #expect(BaselineEdit.acceptanceProblem(reason: reason, approvedBy: approvedBy) == problem)
    }
}
