import Foundation
import PermDriftTestSupport
import Testing

/// Issue 20's hostile cases for `permdrift fix --apply`: between the plan and its changes an agent swaps
/// what the scan saw. A debug build's PERMDRIFT_TEST_FIX_STOP_BEFORE_APPLY makes fix stop itself
/// (SIGSTOP) at that moment; the test makes the swap on that event and lets it go on. Each test fails
/// without the check that stops the attack: no symlink followed (O_NOFOLLOW on every component), the
/// inode's type, device, inode number and ctime compared with the scan's.
@Suite(
    .enabled(if: Harness.isRoot, "needs root: builds trees owned by other uids"),
    .enabled(if: Harness.binary.contains("/debug/"), "needs a debug build's PERMDRIFT_TEST_FIX_STOP_BEFORE_APPLY"))
struct FixRaceTests {
    /// Runs `fix --apply --yes` on the host, makes `swap` while fix is stopped before its changes, and
    /// returns what fix said.
    static func applyWithSwap(_ host: ScratchHost, state: String, swap: () throws -> Void) throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.binary)
        process.arguments = [
            "fix", "--root", host.root, "--baseline", try host.baseline(FixPlanTests.homes), "--no-config", "--apply", "--yes",
            "--journal-dir", state
        ]
        process.environment = ProcessInfo.processInfo.environment.merging(["PERMDRIFT_TEST_FIX_STOP_BEFORE_APPLY": "1"]) { $1 }
        let out = try makeTemporaryDirectory(prefix: "pd-fix-out")
        defer { removeTree(out) }
        _ = FileManager.default.createFile(atPath: out + "/stdout", contents: nil)
        let stdout = try FileHandle(forWritingTo: URL(fileURLWithPath: out + "/stdout"))
        process.standardOutput = stdout
        process.standardError = stdout
        try process.run()
        let pid = process.processIdentifier
        let give = Date().addingTimeInterval(120)  // a safety net, not a measure
        var stopped = false
        while !stopped, Date() < give, process.isRunning {
            if AlertingTests.state(of: pid) == "T" { stopped = true } else { usleep(10_000) }
        }
        if stopped { try swap() }
        kill(pid, SIGCONT)
        process.waitUntilExit()
        try stdout.close()
        let said = (try? String(contentsOfFile: out + "/stdout", encoding: .utf8)) ?? ""
        try #require(stopped, "fix never stopped before its changes: \(said)")
        return (process.terminationStatus, said)
    }

    static func mode(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : 0
    }

    @Test func aSymlinkSwappedInIsNotFollowed() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try FixApplyTests.stateDirectory()
        defer { removeTree(state) }
        let outside = host.base + "/outside"
        _ = FileManager.default.createFile(atPath: outside, contents: nil)
        chmod(outside, 0o644)
        host.setMode(ScratchHost.transcript, 0o644)
        let t = host.path(ScratchHost.transcript)
        let run = try Self.applyWithSwap(host, state: state) {
            try FileManager.default.moveItem(atPath: t, toPath: t + ".old")
            try #require(symlink(outside, t) == 0)
        }
        #expect(Self.mode(outside) == 0o644, "fix followed the symlink: \(run.stdout)")
        #expect(run.stdout.contains("SKIPPED \(ScratchHost.transcript): changed since the scan: it is a symlink"), "\(run.stdout)")
        #expect(run.status == 1)
    }

    @Test func aFIFOSwappedInIsNotChangedAndDoesNotBlock() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try FixApplyTests.stateDirectory()
        defer { removeTree(state) }
        host.setMode(ScratchHost.transcript, 0o644)
        let t = host.path(ScratchHost.transcript)
        let run = try Self.applyWithSwap(host, state: state) {
            try FileManager.default.moveItem(atPath: t, toPath: t + ".old")
            try #require(mkfifo(t, 0o644) == 0)
            chmod(t, 0o644)
        }
        #expect(Self.mode(t) == 0o644, "fix changed the FIFO: \(run.stdout)")
        #expect(run.stdout.contains("SKIPPED \(ScratchHost.transcript): changed since the scan: it is a fifo"), "\(run.stdout)")
    }

    @Test func aFileThatVanishedIsSkippedAndSaysSo() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try FixApplyTests.stateDirectory()
        defer { removeTree(state) }
        host.setMode(ScratchHost.transcript, 0o644)
        let run = try Self.applyWithSwap(host, state: state) {
            try FileManager.default.removeItem(atPath: host.path(ScratchHost.transcript))
        }
        #expect(
            run.stdout.contains("SKIPPED \(ScratchHost.transcript): changed since the scan: \(ScratchHost.transcript) no longer exists"),
            "\(run.stdout)")
        #expect(run.status == 1)
    }

    @Test func anotherInodeSwappedInIsNotChanged() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try FixApplyTests.stateDirectory()
        defer { removeTree(state) }
        host.setMode(ScratchHost.transcript, 0o644)
        let t = host.path(ScratchHost.transcript)
        let run = try Self.applyWithSwap(host, state: state) {
            try FileManager.default.moveItem(atPath: t, toPath: t + ".old")
            try host.write(ScratchHost.transcript, "", mode: 0o644, uid: 33001, gid: 33001)
        }
        #expect(Self.mode(t) == 0o644, "fix changed an inode the scan never saw: \(run.stdout)")
        #expect(run.stdout.contains("SKIPPED \(ScratchHost.transcript): changed since the scan: another inode"), "\(run.stdout)")
    }

    @Test func aChangeToTheSameInodeSinceTheScanIsNotOverwritten() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try FixApplyTests.stateDirectory()
        defer { removeTree(state) }
        host.setMode(ScratchHost.transcript, 0o664)
        let t = host.path(ScratchHost.transcript)
        let run = try Self.applyWithSwap(host, state: state) { chmod(t, 0o606) }
        #expect(Self.mode(t) == 0o606, "fix changed an inode whose ctime moved since the scan: \(run.stdout)")
        #expect(run.stdout.contains("SKIPPED \(ScratchHost.transcript): changed since the scan: its ctime is"), "\(run.stdout)")
    }

    @Test func aDirectorySwappedForASymlinkIsNotFollowed() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try FixApplyTests.stateDirectory()
        defer { removeTree(state) }
        let outside = host.base + "/elsewhere"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
        _ = FileManager.default.createFile(atPath: outside + "/t1.jsonl", contents: nil)
        chmod(outside + "/t1.jsonl", 0o644)
        host.setMode(ScratchHost.transcript, 0o644)
        let dir = host.path("/home/ann/transcripts")
        let run = try Self.applyWithSwap(host, state: state) {
            try FileManager.default.moveItem(atPath: dir, toPath: dir + ".old")
            try #require(symlink(outside, dir) == 0)
        }
        #expect(Self.mode(outside + "/t1.jsonl") == 0o644, "fix followed a symlinked directory: \(run.stdout)")
        #expect(
            run.stdout.contains(
                "SKIPPED \(ScratchHost.transcript): changed since the scan: /home/ann/transcripts is no longer a directory"),
            "\(run.stdout)")
    }

    @Test func aHardLinkMadeAfterThePlanStopsTheOwnerChange() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = try FixApplyTests.stateDirectory()
        defer { removeTree(state) }
        try host.changeOwner(ScratchHost.notes, uid: 33002, gid: 33002)
        let run = try Self.applyWithSwap(host, state: state) {
            try host.hardLink(ScratchHost.notes, at: "/srv/shared/notes-link")
        }
        var st = stat()
        #expect(lstat(host.path(ScratchHost.notes), &st) == 0 && st.st_uid == 33002, "fix chowned an inode with two names: \(run.stdout)")
        #expect(run.stdout.contains("SKIPPED \(ScratchHost.notes): changed since the scan"), "\(run.stdout)")
    }
}
