import Foundation
import PermDriftTestSupport
import Testing

/// Progress on standard error: on a terminal (a pty from util-linux's script) only; never when stderr is a
/// file or a pipe, and never under systemd. The tests set the progress line's timing
/// (`PERMDRIFT_PROGRESS_TIMING=0,0,1`: drawn from the first entry, on every entry) so that what they see
/// does not depend on how fast the machine scans.
@Suite(.enabled(if: Harness.isRoot, "needs root: builds trees owned by other uids"))
struct ProgressTests {
    static let eager = "PERMDRIFT_PROGRESS_TIMING=0,0,1"

    /// A small transcripts tree, clean against its baseline.
    static func host() throws -> (ScratchHost, String) {
        let host = try ScratchHost()
        let dir = host.path("/home/ann/transcripts/2026")
        for i in 0..<40 {
            let p = dir + "/s\(i).jsonl"
            close(open(p, O_CREAT | O_WRONLY, 0o600))
            chown(p, 33001, 33001)
        }
        return (host, try host.baseline(ScratchHost.transcriptsRule))
    }

    static func command(_ host: ScratchHost, _ baseline: String, environment: String = eager) -> String {
        "\(environment) '\(Harness.binary)' scan --root '\(host.root)' --baseline '\(baseline)' --format json > /dev/null"
    }

    @Test func drawnOnATerminalAndClearedAtTheEnd() throws {
        let (host, file) = try Self.host()
        defer { host.remove() }
        let terminal = try Harness.run("/usr/bin/script", ["-qec", Self.command(host, file), "/dev/null"])
        #expect(terminal.status == 0, "\(terminal.stdout)")
        let out = terminal.stdout
        #expect(out.contains("\r\u{1B}[Kpermdrift: ") && out.contains(" entries, ") && out.contains("/s, in /home"), "\(out)")
        // The last thing written is the clearing: the line does not stay on the terminal.
        let lastLine = try #require(out.range(of: "\r\u{1B}[Kpermdrift: ", options: .backwards), "\(out)")
        let rest = out[lastLine.upperBound...]
        #expect(rest.contains("\r\u{1B}[K"), "the line is cleared at the end, not left: \(out.debugDescription)")
        #expect(!rest.hasSuffix("permdrift: "), "\(out.debugDescription)")
        // The count reaches the tree's entries (40 transcripts and the directories above them).
        let counts = out.components(separatedBy: "permdrift: ").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
        #expect((counts.max() ?? 0) >= 40, "\(counts)")
    }

    @Test func neverUnderSystemd() throws {
        let (host, file) = try Self.host()
        defer { host.remove() }
        let journal = try Harness.run(
            "/usr/bin/script", ["-qec", Self.command(host, file, environment: Self.eager + " JOURNAL_STREAM=8:1"), "/dev/null"])
        #expect(journal.status == 0, "\(journal.stdout)")
        #expect(!journal.stdout.contains(" entries, "), "none under systemd: \(journal.stdout)")
    }

    @Test func neverIntoAFileOrAPipe() throws {
        let (host, file) = try Self.host()
        defer { host.remove() }
        // Standard error a pipe (Harness.permdrift reads it through one).
        let piped = try Harness.permdrift(
            ["scan", "--root", host.root, "--baseline", file, "--format", "json"],
            environment: ["PERMDRIFT_PROGRESS_TIMING": "0,0,1"])
        #expect(piped.status == 0)
        #expect(!piped.stderr.contains(" entries, "), "none when stderr is a pipe: \(piped.stderr)")
        // Standard error a file, from a terminal session.
        let log = host.root + "-stderr.log"
        defer { unlink(log) }
        let toFile = try Harness.run("/usr/bin/script", ["-qec", Self.command(host, file) + " 2> '\(log)'", "/dev/null"])
        #expect(toFile.status == 0, "\(toFile.stdout)")
        let written = (try? String(contentsOfFile: log, encoding: .utf8)) ?? "<unreadable>"
        #expect(!written.contains(" entries, ") && !toFile.stdout.contains(" entries, "), "none into a file: \(written)")
    }

    @Test func aBadTimingIsNamedAndTheUsualOneKept() throws {
        let (host, file) = try Self.host()
        defer { host.remove() }
        let terminal = try Harness.run(
            "/usr/bin/script", ["-qec", Self.command(host, file, environment: "PERMDRIFT_PROGRESS_TIMING=soon"), "/dev/null"])
        #expect(terminal.status == 0, "\(terminal.stdout)")
        #expect(terminal.stdout.contains("PERMDRIFT_PROGRESS_TIMING is not DELAY,INTERVAL,BATCH"), "\(terminal.stdout)")
    }
}
