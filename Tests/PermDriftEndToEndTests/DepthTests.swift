import Foundation
import PermDriftTestSupport
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
    /// an exclude, and a rule whose `**` is followed by a name (decided per directory all the way down,
    /// from the parent's segments and one name). One with a second `**` (`/home/**/cache/**`) looks at
    /// every level above once per directory: BENCHMARKS.md has its figures; here it would only make
    /// the debug build slow.
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
          - id: keys-private
            severity: low
            match: /home/**/*.pem
            expect: { mode: "0600" }

        """

    /// Builds a chain `depth` deep of `nameLength`-byte names under `top`, every directory 0700 and
    /// `uid`'s; each `driftEvery`-th one (if any) 0777 instead; with `file`, a file of that name (0644)
    /// in every directory of the chain.
    static func chain(
        under top: String, depth: Int, nameLength: Int = 255, uid: UInt32, driftEvery: Int? = nil,
        file: String? = nil
    ) throws {
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
            if let file {
                let f = openat(child, file, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
                guard f >= 0 else { close(child); throw HarnessError("cannot make the file of level \(level)") }
                fchown(f, uid, uid)
                fchmod(f, 0o644)
                close(f)
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
        let run = try Harness.run(
            "/usr/bin/prlimit",
            [
                "--data=\(512 * 1024 * 1024)", "--", "/usr/bin/time", "-f", "%M", "-o", rss,
                Harness.binary, "scan", "--root", host.root, "--baseline", baseline,
                "--format", "json"
            ] + extra, timeout: 600)
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
        #expect(kib < 96 * 1024, "peak RSS \(kib) KiB for a chain \(depth) deep")
    }

    /// A file's size, or every file under a directory, summed (the state directory).
    static func bytes(under dir: String) -> Int {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: dir, isDirectory: &isDirectory), !isDirectory.boolValue {
            return ((try? fm.attributesOfItem(atPath: dir))?[.size] as? Int) ?? 0
        }
        var total = 0
        for name in (try? fm.subpathsOfDirectory(atPath: dir)) ?? [] {
            total += ((try? fm.attributesOfItem(atPath: dir + "/" + name))?[.size] as? Int) ?? 0
        }
        return total
    }

    @Test("drift on every level of a chain 10,000 deep (paths of megabytes) gives bounded reports, state and alerts")
    func driftDeepInAChainIsBounded() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let transcripts = host.path("/home/ann/transcripts")
        defer { Self.removeChain(under: transcripts) }
        let depth = 10_000
        // Every directory 0777 with a file everyone can read, in a home others can enter: access findings
        // at every level, explained through thousands of directories. The file is named "z": a deeper
        // one comes first in report order ("ddd…/ddd…/z" < "ddd…/z"), so every finding the walk makes is
        // one the report would list until it is cut, and each is explained.
        chmod(host.path("/home/ann"), 0o755)
        chmod(transcripts, 0o755)
        try Self.chain(under: transcripts, depth: depth, uid: 33001, driftEvery: 1, file: "z")
        let baseline = try host.baseline(Self.baseline)
        let state = host.base + "/state"
        let reports = host.base + "/reports"
        mkdir(state, 0o700)
        mkdir(reports, 0o700)
        let run = try Harness.run(
            "/usr/bin/prlimit",
            [
                "--data=\(1024 * 1024 * 1024)", "--", Harness.binary, "scan", "--root", host.root,
                "--baseline", baseline, "--state-dir", state, "--format", "text",
                "--output", "json:\(reports)/last.json", "--output", "junit:\(reports)/junit.xml",
                "--output", "sarif:\(reports)/last.sarif"
            ], timeout: 600)
        #expect(run.status == 1, "\(run.stderr.prefix(2000))")
        // Stated bounds: 64 MiB for every report, 64 MiB for the state directory.
        for report in ["last.json", "junit.xml", "last.sarif"] {
            let size = Self.bytes(under: reports + "/" + report)
            #expect(size > 0 && size < 64 << 20, "\(report): \(size) bytes")
        }
        let stateBytes = Self.bytes(under: state)
        #expect(stateBytes < 64 << 20, "state directory: \(stateBytes) bytes")
        #expect(run.stdout.utf8.count < 4 << 20, "text report: \(run.stdout.utf8.count) bytes")

        let data = try Data(contentsOf: URL(fileURLWithPath: reports + "/last.json"))
        try Harness.validateAgainstSchema(data)
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let summary = try #require(report["summary"] as? [String: Any])
        let findings = report.findings
        let omitted = report["omitted"] as? [String: Int] ?? [:]
        // Every finding is counted; at most 1,000 a rule are listed, the first in report order.
        #expect(summary["findings_listed"] as? Int == findings.count)
        #expect(summary["findings"] as? Int == findings.count + omitted.values.reduce(0, +))
        #expect((summary["findings"] as? Int ?? 0) >= 3 * depth, "\(summary)")
        #expect(
            findings.contains { ($0["via"] as? [String] ?? []).contains { $0.contains("more directories") } },
            "no explanation counts the directories it skips")
        var perRule = [String: Int]()
        for f in findings { perRule[f["rule"] as? String ?? "", default: 0] += 1 }
        for (rule, listed) in perRule { #expect(listed <= 1000, "\(rule): \(listed) listed") }
        #expect(omitted["homes-no-world-write"] == depth - perRule["homes-no-world-write", default: 0], "\(omitted)")
        // Paths: exact up to 4 KiB, longer ones their two ends with their length; steps at most 17.
        for f in findings {
            let path = f["path"] as? String ?? ""
            #expect(path.utf8.count <= 4096 + 3, "a listed path of \(path.utf8.count) bytes")
            if path.utf8.count > 4096 { #expect(f["path_length"] as? Int ?? 0 > 4096) }
            #expect((f["via"] as? [String] ?? []).count <= 17)
            #expect((f["via"] as? [String] ?? []).allSatisfy { $0.utf8.count < 1024 })
        }
        #expect(run.stdout.contains("more finding"), "\(run.stdout.suffix(3000))")
    }

    @Test("a finding on a path of 5 MB is shown by its two ends, says it was shortened, and its alert sample is short")
    func aFiveMegabytePathIsShortenedReadably() throws {
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        let host = try ScratchHost()
        defer { host.remove() }
        let transcripts = host.path("/home/ann/transcripts")
        defer { Self.removeChain(under: transcripts) }
        let depth = 20_000
        // One drifting directory, at the bottom.
        try Self.chain(under: transcripts, depth: depth, uid: 33001, driftEvery: depth)
        let baseline = try host.baseline(Self.baseline)
        let state = host.base + "/state"
        mkdir(state, 0o700)
        let run = try Harness.permdrift([
            "scan", "--root", host.root, "--baseline", baseline, "--state-dir", state,
            "--format", "text", "--output", "json:\(host.base)/last.json", "--alertmanager", am.base
        ])
        #expect(run.status == 1, "\(run.stderr.prefix(2000))")
        let length = "/home/ann/transcripts".utf8.count + depth * 256
        // Text: the beginning … the end, and what it stands for.
        #expect(run.stdout.contains("/home/ann/transcripts/ddd"), "\(run.stdout.prefix(500))")
        #expect(run.stdout.contains("ddd…ddd"))
        #expect(run.stdout.contains("(a path of \(length) bytes, shortened to its beginning and end)"), "\(run.stdout.prefix(300))")
        #expect(run.stdout.utf8.count < 64 * 1024, "\(run.stdout.utf8.count) bytes of text")
        // JSON: the two ends and the exact length.
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: host.base + "/last.json"))) as? [String: Any])
        let finding = try #require(report.findings.first { $0["rule"] as? String == "homes-no-world-write" })
        #expect(finding["path_length"] as? Int == length)
        #expect((finding["path"] as? String)?.utf8.count == 4096 + 2)  // 2048 + "…" (3 bytes) + 2047; JSON decodes "…" to one character
        // The alert Alertmanager holds: one sample, at most 240 characters, head … tail, saying it was shortened.
        let alerts = try am.alerts().filter { ($0["labels"] as? [String: String])?["rule"] == "homes-no-world-write" }
        let annotations = try #require(alerts.first?["annotations"] as? [String: String], "\(alerts)")
        let sample = annotations["samples"] ?? ""
        #expect(annotations["count"] == "1")
        #expect(
            sample.count <= 240 && sample.hasPrefix("/home/ann/transcripts/ddd") && sample.contains("…") && sample.contains("shortened"),
            "\(sample)")
    }
}
