import Foundation
import PermDriftTestSupport
import Testing

/// The parallel walk and the listed way of reading entries, through the real binary: a host with many
/// agents and every kind of drift gives the same report on 1, 2 and 4 threads; drift made while the scan
/// runs and entries too young for the listed read are still seen.
@Suite(.enabled(if: Harness.isRoot, "needs root: builds trees owned by other uids"))
struct ParallelScanTests {
    static let baseline =
        ScratchHost.head + """
            principals:
              agents: group:agents
            rules:
              - id: homes
                severity: critical
                match: /home/{a}
                types: [directory]
                expect: { owner: "{a}", mode: "0700", acl: none }
              - id: transcripts-private
                severity: critical
                match: /home/{a}/transcripts/**
                types: [file]
                expect: { owner: "{a}", mode: "0600", acl: none, links: 1 }
                access: { read: ["{a}"], write: ["{a}"] }
              - id: no-capabilities
                severity: high
                match: /home/**
                types: [file]
                expect: { capabilities: none }
              - id: shared-read-only
                severity: high
                match: /srv/shared/**
                access: { write: [user:svc] }

            """

    /// Builds 2 agents' trees wide and deep enough that the threads hand directories to each other, with
    /// drift of every kind the rules above look at.
    static func build(_ host: ScratchHost) throws {
        for (agent, uid) in ScratchHost.agents {
            for d in 0..<40 {
                let dir = "/home/\(agent)/transcripts/s\(d)"
                try host.directory(dir, mode: 0o700, uid: uid, gid: uid)
                try host.directory(dir + "/deep", mode: 0o700, uid: uid, gid: uid)
                for f in 0..<25 {
                    try host.write("\(dir)/t\(f).jsonl", "", mode: 0o600, uid: uid, gid: uid)
                    try host.write("\(dir)/deep/t\(f).jsonl", "", mode: 0o600, uid: uid, gid: uid)
                }
            }
        }
        host.setMode("/home/ann/transcripts/s3/t1.jsonl", 0o644)
        try host.setfacl("/home/ann/transcripts/s17/deep/t4.jsonl", "u:33101:r")
        // eve (33101) can search down to it, so the ACL lets her read the transcript.
        for dir in ["/home/ann", "/home/ann/transcripts", "/home/ann/transcripts/s17", "/home/ann/transcripts/s17/deep"] {
            try host.setfacl(dir, "u:33101:x")
        }
        try host.hardLink("/home/bob/transcripts/s30/t2.jsonl", at: "/home/bob/transcripts/s30/copy.jsonl")
        try host.setcap("/home/bob/transcripts/s8/deep/t9.jsonl", "cap_net_raw+ep")
        try host.setfacl("/srv/shared/facts.md", "g:33000:rw")
        host.setMode("/home/bob", 0o750)
    }

    /// The report without what differs between two runs of the same scan (times).
    static func comparable(_ report: [String: Any]) -> String {
        var report = report
        report["started_at"] = nil
        report["finished_at"] = nil
        if var summary = report["summary"] as? [String: Any] {
            summary["duration_seconds"] = nil
            report["summary"] = summary
        }
        let data = try? JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    @Test func everyThreadCountGivesTheSameReport() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try Self.build(host)
        let file = try host.baseline(Self.baseline)
        // Old enough for the listed read (ctime two seconds before the reads), so both ways are compared.
        sleep(3)
        let listing = try Harness.run("/usr/bin/find", [host.path("/home"), host.path("/srv/shared")])
        let expected = listing.stdout.split(separator: "\n").count
        #expect(expected > 4000)
        var reports = [String]()
        for threads in [1, 2, 4] {
            let (run, report) = try host.scanJSON(file, extra: ["--threads", String(threads)])
            #expect(run.status == 1, "threads \(threads): \(run.stderr)")
            #expect(report.errors.isEmpty, "threads \(threads): \(report.errors)")
            #expect(report.hasFinding(rule: "transcripts-private", path: "/home/ann/transcripts/s3/t1.jsonl", kind: "mode"))
            #expect(report.hasFinding(rule: "transcripts-private", path: "/home/ann/transcripts/s17/deep/t4.jsonl", kind: "acl"))
            #expect(
                report.findings.contains {
                    $0["path"] as? String == "/home/ann/transcripts/s17/deep/t4.jsonl"
                        && $0["kind"] as? String == "access" && $0["principal"] as? String == "user:eve"
                }, "eve can read ann's transcript")
            #expect(report.hasFinding(rule: "homes", path: "/home/ann", kind: "acl"))
            #expect(report.hasFinding(rule: "transcripts-private", path: "/home/bob/transcripts/s30/copy.jsonl", kind: "links"))
            #expect(report.hasFinding(rule: "no-capabilities", path: "/home/bob/transcripts/s8/deep/t9.jsonl", kind: "capabilities"))
            #expect(report.hasFinding(rule: "shared-read-only", path: "/srv/shared/facts.md", kind: "access"))
            #expect(report.hasFinding(rule: "homes", path: "/home/bob", kind: "mode"))
            // Files nobody gave capabilities are not reported (the listing says so without a read).
            #expect(report.findings.filter { $0["rule"] as? String == "no-capabilities" }.count == 1)
            let summary = try #require(report["summary"] as? [String: Any])
            #expect(summary["entries"] as? Int == expected, "threads \(threads): every entry find lists, once")
            reports.append(Self.comparable(report))
        }
        #expect(reports[0] == reports[1], "1 and 2 threads differ")
        #expect(reports[0] == reports[2], "1 and 4 threads differ")
    }

    @Test func driftYoungerThanTheListedReadIsSeen() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try Self.build(host)
        let file = try host.baseline(Self.baseline)
        sleep(3)
        // Changed just now: these entries' ctime is too young for the listed read, so they are read the
        // careful way, and the change is seen either way.
        host.setMode("/home/ann/transcripts/s5/deep/t7.jsonl", 0o640)
        try host.setfacl("/home/bob/transcripts/s11/t3.jsonl", "u:33001:rw")
        try host.setcap("/home/ann/transcripts/s20/t0.jsonl", "cap_sys_admin+ep")
        let (run, report) = try host.scanJSON(file)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(report.hasFinding(path: "/home/ann/transcripts/s5/deep/t7.jsonl", kind: "mode"))
        #expect(report.hasFinding(path: "/home/bob/transcripts/s11/t3.jsonl", kind: "acl"))
        #expect(report.hasFinding(path: "/home/ann/transcripts/s20/t0.jsonl", kind: "capabilities"))
    }

    @Test func anIncompleteScanIsIncompleteOnEveryThreadCount() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try Self.build(host)
        let file = try host.baseline(Self.baseline)
        var reports = [String]()
        for threads in ["1", "2"] {
            // Without the capability, the agents' 0700 homes cannot be listed.
            let run = try Harness.permdrift(
                asUID: 61999,
                [
                    "scan", "--root", host.root, "--baseline", file,
                    "--format", "json", "--threads", threads
                ])
            #expect(run.status == 2, "threads \(threads): \(run.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any])
            #expect(report.errors.contains { $0["path"] as? String == "/home/ann" }, "threads \(threads)")
            reports.append(Self.comparable(report))
        }
        #expect(reports[0] == reports[1])
    }

    /// The report reaches the caller through the supervisor's relay whole, however long it is.
    @Test func aLargeReportComesThroughTheSupervisorWhole() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let dir = host.path("/home/ann/transcripts/2026")
        // Long names: the 1,000 findings listed (of 2,000, see FindingCollector) make a report of megabytes.
        let pad = String(repeating: "x", count: 200)
        for i in 0..<2000 {
            let p = dir + "/loose-\(i)-\(pad).jsonl"
            close(open(p, O_CREAT | O_WRONLY, 0o644))
            chmod(p, 0o644)
            chown(p, 33001, 33001)
        }
        let (run, report) = try host.scanJSON(try host.baseline(ScratchHost.transcriptsRule))
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stdoutBytes.count > 256 * 1024, "\(run.stdoutBytes.count) bytes: the relay must carry more than a pipe holds")
        #expect(report.findings.count == 1000)
        #expect((report["summary"] as? [String: Any])?["findings"] as? Int == 2000)
        #expect((report["omitted"] as? [String: Int])?["transcripts-private"] == 1000)
    }

    @Test func aBadThreadCountIsAUsageError() throws {
        for bad in ["0", "65", "-1", "x"] {
            let run = try Harness.permdrift(["scan", "--no-config", "--baseline", "/nonexistent", "--threads", bad])
            #expect(run.status == 64, "--threads \(bad): \(run.status) \(run.stderr)")
            #expect(run.stderr.contains("threads"), "\(run.stderr)")
        }
    }
}
