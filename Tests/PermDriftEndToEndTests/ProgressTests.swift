import Foundation
import Testing

/// Progress on standard error: on a terminal (a pty from util-linux's script) for a scan longer than a
/// second; never when stderr is a file, and never under systemd.
@Suite(.enabled(if: Harness.isRoot, "needs root: builds trees owned by other uids"))
struct ProgressTests {
    @Test func progressOnATerminalOnly() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let dir = host.path("/home/ann/transcripts/2026")
        for i in 0..<150_000 {
            let p = dir + "/s\(i).jsonl"
            close(open(p, O_CREAT | O_WRONLY, 0o600))
            chown(p, 33001, 33001)
        }
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let command = "'\(Harness.binary)' scan --root '\(host.root)' --baseline '\(file)' --format json > /dev/null"
        let terminal = try Harness.run("/usr/bin/script", ["-qec", command, "/dev/null"])
        #expect(terminal.status == 0, "\(terminal.stdout)")
        #expect(terminal.stdout.contains(" entries, ") && terminal.stdout.contains("/s, in /home"), "\(terminal.stdout)")
        #expect(terminal.stdout.contains("\r\u{1B}[K"), "the line is cleared, not scrolled")
        let journal = try Harness.run("/usr/bin/script", ["-qec", "JOURNAL_STREAM=8:1 " + command, "/dev/null"])
        #expect(!journal.stdout.contains(" entries, "), "none under systemd: \(journal.stdout)")
        let file2 = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--format", "json"])
        #expect(file2.status == 0)
        #expect(!file2.stderr.contains(" entries, "), "none when stderr is not a terminal")
    }
}
