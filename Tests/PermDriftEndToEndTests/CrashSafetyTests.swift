import Foundation
import PermDriftTestSupport
import Testing

/// SIGKILL at any moment leaves the previous or the new version of the state and of every report,
/// never a torn file (atomic writes: temporary file, fsync, rename, fsync of the directory).
struct CrashSafetyTests {
    @Test func sigkillInTheMiddleOfWritingLeavesWholeFiles() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let state = host.base + "/state"
        mkdir(state, 0o700)
        let reports = host.base + "/reports"
        mkdir(reports, 0o755)
        for i in 0..<3000 {
            let p = host.path("/home/ann/transcripts/2026/s\(i).jsonl")
            close(open(p, O_CREAT | O_WRONLY, 0o644))
            chmod(p, 0o644)
        }
        let baseline = try host.baseline(ScratchHost.transcriptsRule)
        let arguments = [
            "scan", "--root", host.root, "--baseline", baseline, "--state-dir", state,
            "--output", "json:\(reports)/last.json", "--output", "sarif:\(reports)/last.sarif",
            "--prometheus-textfile", "\(reports)/permdrift.prom", "--format", "json"
        ]
        let first = try Harness.permdrift(arguments)
        #expect(first.status == 1, "\(first.stderr)")
        // Reports say who can reach what: only their owner reads them (the metrics are node_exporter's).
        for (name, mode) in [("last.json", 0o600), ("last.sarif", 0o600), ("permdrift.prom", 0o644)] {
            var st = stat()
            #expect(
                stat("\(reports)/\(name)", &st) == 0 && Int(st.st_mode & 0o7777) == mode,
                "\(name): \(String(st.st_mode & 0o7777, radix: 8))")
        }
        var generator = SystemRandomNumberGenerator()
        var killed = 0
        for round in 0..<25 {
            // Alternate the drift so each run has something new to write.
            host.setMode(ScratchHost.transcript, round % 2 == 0 ? 0o600 : 0o644)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Harness.binary)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Kill on the event, not after a guessed time: when a write is under way (an AtomicFile
            // temporary in the state or the reports directory), at a random point within it, odd rounds
            // in the state directory and even rounds in the reports'. Round 0 is killed at once.
            let watched = round % 2 == 1 ? state : reports
            while round > 0, process.isRunning,
                !((try? FileManager.default.contentsOfDirectory(atPath: watched)) ?? []).contains(where: { $0.contains(".tmp-") })
            {
                usleep(500)
            }
            usleep(UInt32.random(in: 0...2_000, using: &generator))
            var workers = [Int32]()
            if process.isRunning {
                // `permdrift scan` runs the scan in a worker process that dies with it (PR_SET_PDEATHSIG).
                let pid = process.processIdentifier
                let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
                workers = children.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                kill(pid, SIGKILL)
                killed += 1
            }
            process.waitUntilExit()
            let gone = Date().addingTimeInterval(10)
            while workers.contains(where: { kill($0, 0) == 0 && !Self.isZombie($0) }) && Date() < gone { usleep(10_000) }
            #expect(!workers.contains { kill($0, 0) == 0 && !Self.isZombie($0) }, "round \(round): the worker outlived the killed scan")
            // The state loads (its checksum holds) and every report is a whole document.
            let status = try Harness.permdrift(["status", "--no-config", "--state-dir", state, "--json"])
            #expect(status.status == 0, "round \(round): \(status.stderr)")
            for report in ["last.json", "last.sarif"] {
                let data = try Data(contentsOf: URL(fileURLWithPath: "\(reports)/\(report)"))
                #expect((try? JSONSerialization.jsonObject(with: data)) != nil, "round \(round): \(report) is torn")
            }
            let metrics = try String(contentsOfFile: "\(reports)/permdrift.prom", encoding: .utf8)
            #expect(metrics.hasSuffix("\n") && metrics.contains("permdrift_scan_complete"), "round \(round): the metrics file is torn")
        }
        #expect(killed > 0, "no run was killed mid-way; the test proved nothing")
        // A whole run afterwards clears what killed writes left in the state directory: every temporary
        // whose writer is gone when it runs. (A killed worker that is a zombie not yet reaped by its new
        // parent still has its pid; its file goes with a later run. Waiting for the reaping here would
        // wait on the machine's init, not on permdrift.)
        func staleTemporaries() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: state).filter { name in
                guard let range = name.range(of: ".tmp-") else { return false }
                let pid = Int32(name[range.upperBound...].prefix { $0 != "-" }) ?? 0
                return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH
            }
        }
        let stale = try staleTemporaries()
        #expect(try Harness.permdrift(arguments).status == 1)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: state).filter { stale.contains($0) }
        #expect(leftovers.isEmpty, "temporaries of writers that are gone: \(leftovers)")
    }

    /// A process that has exited but is not yet reaped by its new parent.
    static func isZombie(_ pid: Int32) -> Bool {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }
}
