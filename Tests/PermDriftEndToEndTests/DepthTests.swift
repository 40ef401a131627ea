import Foundation
import Testing

/// Deep trees (issue 18): a chain of nested directories, which an agent builds in its own home in a
/// second with no privilege, costs the scan memory and time in proportion to the chain, not to the sum of
/// its path lengths. Measured as resources, never as time: the peak resident set of the scan (GNU time's
/// figure, from wait4's rusage of the child, which covers the worker it waits for), under a data limit
/// that makes a scan whose memory grows with the square of the depth fail at once instead of taking the
/// machine's memory.
@Suite(.enabled(if: Harness.isRoot, "needs root: gives the chain to an agent"))
struct DepthTests {
    /// The default baseline's kinds of rules for a scratch host: captures, `where`, `**`, access rules,
    /// an exclude, and a rule whose `**` is followed by a name (decided per directory all the way down).
    static let baseline = """
        version: 1
        name: depth
        scan:
          roots: [/home]
          exclude: ["/home/*/.cache/**"]
        rules:
          - id: transcripts-private
            severity: critical
            match: /home/{agent}/transcripts/**
            where: { agent: member-of agents }
            types: [file]
            expect: { owner: "{agent}", mode: "0600", acl: none, links: 1 }
          - id: transcript-dirs-private
            severity: critical
            match: /home/{agent}/transcripts/**
            where: { agent: member-of agents }
            types: [directory]
            expect: { owner: "{agent}", mode: "0700", acl: none, default-acl: none }
          - id: homes-private-to-their-agent
            severity: critical
            match: /home/{agent}/**
            where: { agent: member-of agents }
            access: { read: ["{agent}"], write: ["{agent}"], execute: ["{agent}"] }
          - id: homes-no-world-write
            severity: high
            match: /home/**
            expect: { mode: "<=0775" }

        """

    /// Builds a chain `depth` deep of `nameLength`-byte names under `top`, every directory 0700 and
    /// `uid`'s; each `driftEvery`-th one (if any) 0777 instead.
    static func chain(under top: String, depth: Int, nameLength: Int = 255, uid: UInt32, driftEvery: Int? = nil) throws {
        var fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw HarnessError("cannot open \(top)") }
        let name = String(repeating: "d", count: nameLength)
        for level in 1...depth {
            let child: Int32 = name.withCString { n in
                guard mkdirat(fd, n, 0o700) == 0 else { return -1 }
                return openat(fd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            close(fd)
            guard child >= 0 else { throw HarnessError("cannot make level \(level): \(String(cString: strerror(errno)))") }
            let mode: mode_t = driftEvery.map { level % $0 == 0 } == true ? 0o777 : 0o700
            guard fchown(child, uid, uid) == 0, fchmod(child, mode) == 0 else {
                close(child)
                throw HarnessError("cannot give level \(level) to uid \(uid)")
            }
            fd = child
        }
        close(fd)
    }

    /// Removes a chain made by `chain` (GNU rm walks by descriptor: no path is too long for it).
    static func removeChain(under top: String) {
        _ = try? Harness.run("/bin/sh", ["-c", "rm -rf -- \"$1\"/*", "sh", top], timeout: 600)
    }

    /// Runs the scan under a data limit, returning the run and its peak RSS in KiB.
    static func scan(_ host: ScratchHost, baseline: String, extra: [String] = []) throws -> (Harness.Run, Int) {
        let rss = host.base + "/rss"
        let run = try Harness.run("/usr/bin/prlimit", ["--data=\(512 * 1024 * 1024)", "--", "/usr/bin/time", "-f", "%M", "-o", rss,
                                                       Harness.binary, "scan", "--root", host.root, "--baseline", baseline,
                                                       "--format", "json"] + extra, timeout: 600)
        // GNU time writes "Command exited with non-zero status N" before the figure.
        let lines = try String(contentsOfFile: rss, encoding: .utf8).split(separator: "\n")
        return (run, lines.last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? .max)
    }

    @Test("a chain 20,000 directories deep with 255-byte names (paths of 5 MB) scans completely in bounded memory")
    func aChainTwentyThousandDeep() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let transcripts = host.path("/home/ann/transcripts")
        defer { Self.removeChain(under: transcripts) }
        let depth = 20_000
        try Self.chain(under: transcripts, depth: depth, uid: 33001)
        let baseline = try host.baseline(Self.baseline)
        let (run, kib) = try Self.scan(host, baseline: baseline)
        #expect(run.status == 0, "\(run.stderr.prefix(2000))")
        let report = try #require(try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any])
        let summary = report["summary"] as? [String: Any]
        // Every level of the chain was walked, and nothing is in error.
        #expect((summary?["entries"] as? Int ?? 0) > depth, "\(summary ?? [:])")
        #expect((report["errors"] as? [Any])?.isEmpty == true, "\(String(describing: report["errors"]).prefix(2000))")
        #expect(report.findings.isEmpty, "\(report.findings.prefix(3))")
        // The landed code before issue 18 held a copy of the path per level: 51 GB here.
        #expect(kib < 80 * 1024, "peak RSS \(kib) KiB for a chain \(depth) deep")
    }
}
