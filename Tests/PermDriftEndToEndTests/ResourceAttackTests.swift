import Foundation
import PermDriftTestSupport
import Testing

/// The other ways an agent can spend the scanner's resources from its own home (issue 18): each scan
/// finishes, holds a bounded number of descriptors and bounded memory, and says what it could not read.
/// Memory is held against a bound (peak RSS from wait4's rusage, GNU time), never time.
@Suite(.enabled(if: Harness.isRoot, "needs root: mounts tmpfs of its own and gives trees to an agent"))
struct ResourceAttackTests {
    static let baseline =
        ScratchHost.head + """
            rules:
              - id: transcripts-private
                severity: critical
                match: /home/{a}/transcripts/**
                types: [file]
                expect: { owner: "{a}", mode: "0600", acl: none }
              - id: homes-private
                severity: critical
                match: /home/{a}/**
                access: { read: ["{a}"], write: ["{a}"] }

            """

    /// Runs `permdrift scan --format json` with at most `files` descriptors, returning the run, its report
    /// and its peak RSS in KiB.
    static func scan(_ host: ScratchHost, baseline: String, files: Int = 32, extra: [String] = []) throws
        -> (Harness.Run, [String: Any], Int)
    {
        let rss = host.base + "/rss-\(UUID().uuidString)"
        let run = try Harness.run(
            "/usr/bin/prlimit",
            [
                "--nofile=\(files)", "--", "/usr/bin/time", "-f", "%M", "-o", rss,
                Harness.binary, "scan", "--root", host.root, "--baseline", baseline,
                "--format", "json"
            ] + extra, timeout: 900)
        let lines = try String(contentsOfFile: rss, encoding: .utf8).split(separator: "\n")
        let kib = lines.last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? .max
        let report = (try? JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any]) ?? [:]
        return (run, report, kib)
    }

    @Test("a million directories of one entry each: every entry, at most 32 descriptors, bounded memory")
    func aMillionDirectoriesOfOneEntryEach() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let top = host.path("/home/ann/transcripts")
        // A tmpfs of the test's own: made in seconds, gone with the mount.
        try Harness.sh(
            "/bin/mount", "-t", "tmpfs", "-o", "size=256m,nr_inodes=2100000,mode=0700,uid=33001,gid=33001",
            "pd-test-million-dirs", top)
        defer { _ = try? Harness.run("/bin/umount", ["-l", top]) }
        let count = 1_000_000
        try top.withCString { dir in
            let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw HarnessError("cannot open \(top)") }
            defer { close(fd) }
            for i in 0..<count {
                let sub: Int32 = "d\(i)".withCString { n in
                    guard mkdirat(fd, n, 0o700) == 0 else { return -1 }
                    return openat(fd, n, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                }
                guard sub >= 0 else { throw HarnessError("cannot make directory \(i): \(String(cString: strerror(errno)))") }
                let file = openat(sub, "t.jsonl", O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
                guard file >= 0 else { close(sub); throw HarnessError("cannot make file \(i)") }
                fchown(file, 33001, 33001)
                fchown(sub, 33001, 33001)
                close(file)
                close(sub)
            }
        }
        chmod(top + "/d777777/t.jsonl", 0o644)
        // The tmpfs is the scan root (the walk does not cross into another mount below one).
        let baseline = try host.baseline(
            Self.baseline.replacingOccurrences(
                of: "roots: [/home, /srv/shared]",
                with: "roots: [/home/ann/transcripts]"))
        let (run, report, kib) = try Self.scan(host, baseline: baseline)
        #expect(run.status == 1, "\(run.stderr.prefix(2000))")
        let summary = report["summary"] as? [String: Any]
        // The million directories, their files, and the root.
        #expect(summary?["entries"] as? Int == 2 * count + 1, "\(summary ?? [:])")
        #expect(report.errors.isEmpty, "\(report.errors.prefix(3))")
        #expect(
            report.findings.count == 1 && report.hasFinding(rule: "transcripts-private", path: "/home/ann/transcripts/d777777/t.jsonl"),
            "\(report.findings.prefix(3))")
        #expect(kib < 160 * 1024, "peak RSS \(kib) KiB for a million directories")
    }

    @Test("names of 255 bytes everywhere: exactly the entries find lists, with exact paths")
    func namesOf255BytesEverywhere() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let top = host.path("/home/ann/transcripts")
        func name(_ tag: String) -> String { tag + String(repeating: "n", count: 255 - tag.utf8.count) }
        var deepest = ""
        for a in 0..<8 {
            for b in 0..<8 {
                for c in 0..<8 {
                    let dir = "\(top)/\(name("a\(a)"))/\(name("b\(b)"))/\(name("c\(c)"))"
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    for f in 0..<3 {
                        let file = "\(dir)/\(name("f\(f)"))"
                        close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600))
                    }
                    deepest = dir
                }
            }
        }
        _ = try Harness.run("/bin/chown", ["-R", "33001:33001", top])
        _ = try Harness.run("/bin/chmod", ["-R", "go-rwx", top])
        let drifted = "\(deepest)/\(name("f2"))"
        chmod(drifted, 0o644)
        let (run, report, _) = try Self.scan(host, baseline: try host.baseline(Self.baseline))
        #expect(run.status == 1, "\(run.stderr.prefix(2000))")
        #expect(report.errors.isEmpty, "\(report.errors.prefix(3))")
        // Every entry find lists under the root (the walk's roots are /home and /srv/shared), and no other.
        let find = try Harness.run("/usr/bin/find", [host.path("/home"), host.path("/srv/shared"), "-printf", "."])
        #expect((report["summary"] as? [String: Any])?["entries"] as? Int == find.stdout.count, "find lists \(find.stdout.count)")
        let expected = String(drifted.dropFirst(host.root.count))
        #expect(expected.utf8.count > 1000)
        #expect(report.hasFinding(rule: "transcripts-private", path: expected, kind: "mode"), "\(report.findings.prefix(2))")
    }

    /// A churner: a python3 process that keeps replacing the entries of a directory until it is killed;
    /// it prints "ready" once it has gone round every slot twice, so the scan starts on that event.
    /// Started with posix_spawn and reaped with waitpid (not Foundation's Process, whose termination
    /// notice was seen to go missing here).
    final class Churner {
        let pid: pid_t

        init(_ script: String, _ arguments: [String]) throws {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { throw HarnessError("pipe: \(String(cString: strerror(errno)))") }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
            posix_spawn_file_actions_addclose(&actions, fds[0])
            posix_spawn_file_actions_addclose(&actions, fds[1])
            let argv = (["/usr/bin/python3", "-c", script] + arguments).map { strdup($0) } + [nil]
            defer { for a in argv { free(a) } }
            var child: pid_t = 0
            let rc = posix_spawn(&child, "/usr/bin/python3", &actions, nil, argv, environ)
            close(fds[1])
            defer { close(fds[0]) }
            guard rc == 0 else { throw HarnessError("posix_spawn python3: \(String(cString: strerror(rc)))") }
            pid = child
            var seen = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 256)
            while !String(decoding: seen, as: UTF8.self).contains("ready") {
                let n = read(fds[0], &buffer, buffer.count)
                guard n > 0 else { stop(); throw HarnessError("the churner ended before it was ready") }
                seen += buffer[0..<n]
            }
        }

        func stop() {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
    }

    static let churn = """
        import os, sys, itertools
        top, uid, slots = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        os.makedirs(top, exist_ok=True)
        def clear(p):
            try:
                if os.path.islink(p) or not os.path.isdir(p): os.unlink(p)
                else:
                    for e in os.listdir(p): clear(os.path.join(p, e))
                    os.rmdir(p)
            except FileNotFoundError: pass
        for round in itertools.count():
            for i in range(slots):
                p = os.path.join(top, "s%d" % i)
                kind = (round + i) % 4
                tmp = p + ".new"
                clear(tmp)
                if kind == 0:
                    os.mkdir(tmp, 0o700); open(os.path.join(tmp, "t.jsonl"), "w").close()
                elif kind == 1:
                    open(tmp, "w").close(); os.chmod(tmp, 0o644)
                elif kind == 2:
                    os.symlink("/etc", tmp)
                else:
                    os.mkdir(tmp, 0o777)
                os.lchown(tmp, uid, uid)
                clear(p)
                os.rename(tmp, p)
            if round == 1:
                print("ready", flush=True)
        """

    @Test("a home whose entries are replaced faster than the walk reads them: it finishes, follows nothing, says what changed")
    func entriesReplacedFasterThanTheWalkReadsThem() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let churner = try Churner(Self.churn, [host.path("/home/ann/transcripts/churn"), "33001", "40"])
        defer { churner.stop() }
        let baseline = try host.baseline(Self.baseline)
        for threads in ["1", "2", "4"] {
            let (run, report, _) = try Self.scan(host, baseline: baseline, files: 1024, extra: ["--threads", threads])
            #expect([0, 1, 2].contains(run.status), "threads \(threads): \(run.status) \(run.stderr.prefix(2000))")
            try #require(!report.isEmpty, "threads \(threads): no JSON report: \(run.stderr.prefix(2000))")
            // Nothing loops: the tree never holds more than about 130 entries (40 slots, some with a child).
            let entries = (report["summary"] as? [String: Any])?["entries"] as? Int ?? .max
            #expect(entries < 400, "threads \(threads): \(entries) entries visited")
            // Nothing is followed: no path outside /home and /srv/shared (the symlinks point at /etc).
            let paths = report.findings.compactMap { $0["path"] as? String } + report.errors.compactMap { $0["path"] as? String }
            #expect(
                paths.allSatisfy { $0.hasPrefix("/home") || $0.hasPrefix("/srv/shared") },
                "threads \(threads): \(paths.filter { !$0.hasPrefix("/home") }.prefix(3))")
            // What it could not read it says, as changes.
            for e in report.errors {
                let message = e["message"] as? String ?? ""
                #expect(
                    message.contains("changed") || message.contains("moved") || message.contains("replaced")
                        || message.contains("vanished") || message.contains("No such file"), "threads \(threads): \(e)")
            }
        }
    }

    static let reshape = """
        import os, sys, itertools
        top, uid, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        os.makedirs(top, exist_ok=True)
        for i in range(width):
            d = os.path.join(top, "w%d" % i)
            os.makedirs(d, exist_ok=True)
            for f in range(3): open(os.path.join(d, "f%d" % f), "w").close()
        for round in itertools.count():
            # Deep: each directory moved into the one before it (a chain width deep) ...
            for i in range(width - 1, 0, -1):
                try: os.rename(os.path.join(top, "w%d" % i), os.path.join(top, "w%d" % (i - 1), "w%d" % i))
                except OSError: pass
            # ... and wide again: back out, from the bottom of the chain up.
            chain = [os.path.join(top, "w0")]
            for i in range(1, width): chain.append(os.path.join(chain[-1], "w%d" % i))
            for i in range(width - 1, 0, -1):
                try: os.rename(chain[i], os.path.join(top, "w%d" % i))
                except OSError: pass
            if round == 1:
                print("ready", flush=True)
        """

    @Test("a tree that turns from wide to deep and back while the parallel walk hands work between threads")
    func aTreeChangingFromWideToDeepUnderAParallelWalk() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let churner = try Churner(Self.reshape, [host.path("/home/ann/transcripts/ws"), "33001", "200"])
        defer { churner.stop() }
        let baseline = try host.baseline(Self.baseline)
        for _ in 0..<3 {
            let (run, report, _) = try Self.scan(host, baseline: baseline, files: 1024, extra: ["--threads", "4"])
            #expect([0, 1, 2].contains(run.status), "\(run.status) \(run.stderr.prefix(2000))")
            try #require(!report.isEmpty, "no JSON report: \(run.stderr.prefix(2000))")
            // Nothing loops. A tree that changes under the walk may show it a directory again where it moved
            // to (at most each of the 200 names of the top directory leading to the whole chain of 200
            // directories of 3 files), but never more: a walk that followed a directory moved below
            // itself would not end.
            let entries = (report["summary"] as? [String: Any])?["entries"] as? Int ?? .max
            #expect(entries <= 200 * 200 * 4 + 1000, "\(entries) entries visited")
            let paths = report.findings.compactMap { $0["path"] as? String } + report.errors.compactMap { $0["path"] as? String }
            #expect(paths.allSatisfy { $0.hasPrefix("/home") || $0.hasPrefix("/srv/shared") }, "\(paths.prefix(3))")
        }
    }
}
