import Foundation
import PermDriftTestSupport
import Testing

/// Wide trees: a directory with a million entries is walked with a handful of descriptors and bounded
/// memory, and the one drifted file among them is found.
@Suite(.enabled(if: Harness.isRoot, "needs root: mounts a tmpfs of its own"))
struct ScaleTests {
    @Test func aDirectoryWithAMillionEntries() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let big = host.path("/home/ann/transcripts")
        // A tmpfs of the test's own makes creating a million files take seconds, not a minute.
        try Harness.sh("/bin/mount", "-t", "tmpfs", "-o", "size=1g,nr_inodes=1100000,mode=0700", "pd-test-million", big)
        defer { _ = try? Harness.run("/bin/umount", ["-l", big]) }
        let count = 1_000_000
        try big.withCString { dir in
            let fd = open(dir, O_RDONLY | O_DIRECTORY)
            guard fd >= 0 else { throw HarnessError("cannot open \(big)") }
            defer { close(fd) }
            for i in 0..<count {
                let made = "s\(i).jsonl".withCString { openat(fd, $0, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600) }
                guard made >= 0 else { throw HarnessError("cannot create file \(i): \(String(cString: strerror(errno)))") }
                close(made)
            }
        }
        chmod(big + "/s777777.jsonl", 0o644)
        let baseline = try host.baseline(
            """
            version: 1
            name: million
            scan:
              roots: [/home/ann/transcripts]
            rules:
              - id: transcripts-private
                severity: critical
                match: /home/ann/transcripts/*
                types: [file]
                expect: { mode: "0600", acl: none }

            """)
        let rss = host.base + "/rss"
        // At most 32 descriptors, and the peak resident set measured by GNU time.
        let run = try Harness.run(
            "/usr/bin/prlimit",
            [
                "--nofile=32", "--", "/usr/bin/time", "-f", "%M", "-o", rss,
                Harness.binary, "scan", "--root", host.root, "--baseline", baseline,
                "--format", "json"
            ], timeout: 600)
        #expect(run.status == 1, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any])
        #expect((report["summary"] as? [String: Any])?["entries"] as? Int == count + 1)
        #expect(report.findings.count == 1)
        #expect(report.hasFinding(rule: "transcripts-private", path: "/home/ann/transcripts/s777777.jsonl", kind: "mode"))
        // GNU time writes "Command exited with non-zero status 1" before the figure.
        let lines = try String(contentsOfFile: rss, encoding: .utf8).split(separator: "\n")
        let kib = lines.last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? .max
        #expect(kib < 128 * 1024, "peak RSS \(kib) KiB for a million entries")
    }
}
