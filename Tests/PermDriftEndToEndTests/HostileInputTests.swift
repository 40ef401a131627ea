import Foundation
import PermDriftTestSupport
import Testing

/// Bad input from the scanned tree: hostile names, symlinks, FIFOs, unreadable or symlinked scan roots.
@Suite(.enabled(if: Harness.isRoot, "needs root: builds trees owned by other uids"))
struct HostileInputTests {
    static let anyFile =
        ScratchHost.head + """
            rules:
              - id: files-0600
                match: /home/**
                types: [file]
                expect: { mode: "0600" }

            """

    @Test func namesWithControlCharactersAreEscapedInTextAndExactInJSON() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let names: [[UInt8]] = [
            Array("new\nline".utf8),
            [0x1B] + Array("[2Jclear".utf8),
            Array("csi-".utf8) + [0x9B] + Array("31m".utf8),
            Array("bidi-\u{202E}txt.jsonl".utf8),
            Array("bad-utf8-".utf8) + [0xFF, 0xFE],
            Array("quote\"back\\slash{brace}".utf8),
            Array(repeating: UInt8(ascii: "n"), count: 255)
        ]
        let dir = host.path("/home/ann")
        for name in names {
            let path = Array(dir.utf8) + [UInt8(ascii: "/")] + name + [0]
            let fd = path.withUnsafeBufferPointer { p in
                p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: path.count) { open($0, O_CREAT | O_WRONLY, 0o644) }
            }
            try #require(fd >= 0, "cannot create a hostile name: \(String(cString: strerror(errno)))")
            fchmod(fd, 0o644)
            close(fd)
        }
        let file = try host.baseline(Self.anyFile)
        let text = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file])
        #expect(text.status == 1)
        let raw = Array(text.stdout.utf8)
        #expect(!raw.contains(0x1B), "an escape sequence reached the terminal")
        #expect(!text.stdout.contains("\u{202E}"))
        #expect(!text.stdout.unicodeScalars.contains { (0x80...0x9F).contains($0.value) })
        #expect(text.stdout.contains("/home/ann/new\\nline: mode is 0644"))
        #expect(text.stdout.contains("/home/ann/\\x1b[2Jclear"))
        #expect(text.stdout.contains("/home/ann/csi-\\x9b31m"))
        #expect(text.stdout.contains("/home/ann/bidi-\\u202etxt.jsonl"))
        #expect(text.stdout.contains("/home/ann/bad-utf8-\\xff\\xfe"))
        #expect(text.stdout.contains("/home/ann/quote\"back\\\\slash{brace}"))

        let (run, report) = try host.scanJSON(file)
        #expect(run.status == 1)
        #expect(run.stdoutBytes.allSatisfy { $0 < 0x80 }, "JSON is pure ASCII")
        let paths = Set(report.findings.compactMap { $0["path"] as? String })
        #expect(paths.contains("/home/ann/new\nline"))
        #expect(paths.contains("/home/ann/\u{1B}[2Jclear"))
        #expect(paths.contains("/home/ann/bidi-\u{202E}txt.jsonl"))
        #expect(paths.contains("/home/ann/quote\"back\\slash{brace}"))
        #expect(paths.contains("/home/ann/" + String(repeating: "n", count: 255)))
        // Names that are not UTF-8 carry their exact bytes.
        let b64 = report.findings.compactMap { $0["path_b64"] as? String }.compactMap { Data(base64Encoded: $0) }
        #expect(b64.contains(Data(Array("/home/ann/bad-utf8-".utf8) + [0xFF, 0xFE])))
        #expect(b64.contains(Data(Array("/home/ann/csi-".utf8) + [0x9B] + Array("31m".utf8))))

        let junit = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--format", "junit"])
        try Harness.validateXML(junit.stdoutBytes)
        #expect(!junit.stdoutBytes.contains(0x1B))
        let sarif = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--format", "sarif"])
        try Harness.validateSARIF(sarif.stdoutBytes)
        #expect(!sarif.stdoutBytes.contains(0x1B) && !sarif.stdoutBytes.contains(0x9B))
    }

    @Test func symlinkToShadowIsRecordedNotFollowed() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        // A transcript replaced by a link to /etc/shadow (which on the host is 0640 root:shadow).
        try FileManager.default.removeItem(atPath: host.path(ScratchHost.transcript))
        symlink("/etc/shadow", host.path(ScratchHost.transcript))
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: t
                    match: /home/{a}/transcripts/**
                    types: [file]
                    expect: { owner: "{a}", mode: "0600", acl: none }
                  - id: links
                    match: /home/**
                    types: [symlink]
                    expect: { owner: root }

                """)
        let (run, report) = try host.scanJSON(file)
        // The link is not a file: rule t does not apply to it, and nothing of /etc/shadow is reported.
        #expect(!report.hasFinding(rule: "t", path: ScratchHost.transcript))
        #expect(run.status == 0, "\(report.findings)")
        #expect(!run.stdout.contains("shadow"))
    }

    @Test func symlinkedDirectoryIsNeverEntered() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        // /home/bob/transcripts -> /etc: walking into it would report /etc's files.
        try FileManager.default.removeItem(atPath: host.path("/home/bob/transcripts"))
        symlink("/etc", host.path("/home/bob/transcripts"))
        let (run, report) = try host.scanJSON(try host.baseline(Self.anyFile))
        #expect(run.status == 0, "\(report.findings)")
        let paths = report.findings.compactMap { $0["path"] as? String }
        #expect(!paths.contains { $0.hasPrefix("/home/bob/transcripts/") })
    }

    @Test func fifoIsNeverOpened() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        mkfifo(host.path("/home/ann/transcripts/pipe.jsonl"), 0o644)
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: no-fifos
                    match: /home/**
                    types: [fifo]
                    expect: { mode: "0600" }

                """)
        // Opening a FIFO for reading would block forever; the scan must finish.
        let (run, report) = try host.scanJSON(file)
        #expect(run.status == 1)
        #expect(report.hasFinding(rule: "no-fifos", path: "/home/ann/transcripts/pipe.jsonl", kind: "mode"))
    }

    @Test func devicesAndSocketsAreNeverOpened() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        // A character device (1,3: the null device) and a listening Unix socket where transcripts go.
        let device = host.path("/home/ann/transcripts/dev.jsonl")
        #expect(mknod(device, S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0)  // makedev(1, 3)
        let socketPath = host.path("/home/ann/transcripts/sock.jsonl")
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(socketPath.utf8)
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
        }
        let bound = withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0 && listen(fd, 1) == 0)
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: only-files
                    match: /home/*/transcripts/*
                    types: [socket, device]
                    expect: { mode: "0600" }

                """)
        let (run, report) = try host.scanJSON(file)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(report.hasFinding(rule: "only-files", path: "/home/ann/transcripts/dev.jsonl", kind: "mode"))
        #expect(report.hasFinding(rule: "only-files", path: "/home/ann/transcripts/sock.jsonl", kind: "mode"))
        // Nobody connected to the socket: the scan did not open it.
        var pending = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&pending, 1, 0) == 0, "a connection reached the socket")
    }

    @Test func aPinnedDirectoryReplacedByASymlinkIsNotFollowed() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(
            ScratchHost.head + """
                pins:
                  /home/ann/transcripts: { type: directory, owner: ann, group: ann, mode: "0700" }

                """)
        #expect(try host.scanJSON(file).0.status == 0)
        // Renamed away, and a symlink to /etc planted in its place.
        try FileManager.default.moveItem(atPath: host.path("/home/ann/transcripts"), toPath: host.path("/home/ann/moved"))
        #expect(symlink("/etc", host.path("/home/ann/transcripts")) == 0)
        let (run, report) = try host.scanJSON(file)
        #expect(run.status == 1, "\(run.stderr)")
        let pins = report.findings.filter { $0["rule"] as? String == "pin" && $0["path"] as? String == "/home/ann/transcripts" }
        #expect(!pins.isEmpty, "\(report.findings)")
        // The pin is held against the symlink itself (lstat), never against /etc behind it.
        #expect(pins.contains { ($0["actual"] as? String)?.contains("type symlink") == true }, "\(pins)")
        #expect(
            !report.findings.contains { ($0["path"] as? String)?.hasPrefix("/home/ann/transcripts/") == true },
            "nothing under the symlink was walked")
    }

    @Test func scanRootThatIsASymlinkIsRefused() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try FileManager.default.moveItem(atPath: host.path("/srv/shared"), toPath: host.path("/srv/elsewhere"))
        symlink("elsewhere", host.path("/srv/shared"))
        let (run, report) = try host.scanJSON(try host.baseline(ScratchHost.transcriptsRule))
        #expect(run.status == 2)
        let error = try #require(report.errors.first { $0["path"] as? String == "/srv/shared" })
        #expect(["ELOOP", "ENOTDIR"].contains(error["errno_name"] as? String))
        #expect((error["message"] as? String)?.contains("is a symlink; permdrift never follows symlinks") == true)
    }

    @Test func missingScanRootIsAnError() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try FileManager.default.removeItem(atPath: host.path("/srv/shared"))
        let (run, report) = try host.scanJSON(try host.baseline(ScratchHost.transcriptsRule))
        #expect(run.status == 2)
        #expect(report.errors.contains { $0["path"] as? String == "/srv/shared" && $0["errno_name"] as? String == "ENOENT" })
    }

    @Test func unreadableScanRootIsAnError() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        host.setMode("/srv", 0o700)
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let run = try Harness.permdrift(asUID: 61999, ["scan", "--root", host.root, "--baseline", file, "--format", "json"])
        #expect(run.status == 2)
        let report = try #require(try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any])
        #expect(report.errors.contains { $0["path"] as? String == "/srv/shared" && $0["errno_name"] as? String == "EACCES" })
    }

    @Test func accountFilesThatAreSymlinksAreRefused() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        // A root whose etc/passwd points at the scanning host's: names must never resolve through it.
        try FileManager.default.removeItem(atPath: host.path("/etc/passwd"))
        symlink("/etc/passwd", host.path("/etc/passwd"))
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", try host.baseline(ScratchHost.transcriptsRule)])
        #expect(run.status == 2)
        #expect(run.stderr.contains("etc/passwd: not a regular file (symlinks are not followed)"), "\(run.stderr)")
    }

    @Test func hardLinkToATranscriptIsALinksFinding() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        link(host.path(ScratchHost.transcript), host.path("/home/bob/stolen.jsonl"))
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: one-link
                    match: /home/{a}/transcripts/**
                    types: [file]
                    expect: { links: 1 }

                """)
        let (run, report) = try host.scanJSON(file)
        #expect(run.status == 1)
        #expect(report.hasFinding(rule: "one-link", path: ScratchHost.transcript, kind: "links"))
    }

    @Test func aBaselineInADirectoryAnotherUserControlsIsRefused() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let dir = host.base + "/theirs"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        chown(dir, 61999, 61999)
        chmod(dir, 0o755)
        let file = dir + "/baseline.yaml"
        #expect(FileManager.default.createFile(atPath: file, contents: Data(ScratchHost.transcriptsRule.utf8)))
        chmod(file, 0o644)
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file])
        #expect(run.status == 2)
        #expect(run.stderr.contains("is in \(dir), which is owned by uid 61999; refusing to enforce it"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test func aBaselineReachedThroughASymlinkedDirectoryIsRefused() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(ScratchHost.transcriptsRule)
        symlink(host.base, host.base + "/link")
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", host.base + "/link/baseline.yaml"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("passes through \(host.base)/link, which is a symlink"), "\(run.stderr)")
        _ = file
    }

    @Test func accountFilesThatAreDevicesAreRefusedUnopened() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try FileManager.default.removeItem(atPath: host.path("/etc/group"))
        #expect(mknod(host.path("/etc/group"), S_IFCHR | 0o644, dev_t((1 << 8) | 3)) == 0)
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", try host.baseline(ScratchHost.transcriptsRule)])
        #expect(run.status == 2)
        #expect(run.stderr.contains("etc/group: not a regular file"), "\(run.stderr)")
    }

    @Test func aScanRootNestedOnAnotherMountIsScannedAsItsOwnRoot() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try host.directory("/home/ann/mnt", mode: 0o755, uid: 33001, gid: 33001)
        try Harness.sh("/bin/mount", "-t", "tmpfs", "permdrift-test", host.path("/home/ann/mnt"))
        defer { _ = try? Harness.run("/bin/umount", [host.path("/home/ann/mnt")]) }
        try host.write("/home/ann/mnt/loose.md", "", mode: 0o666)
        let file = try host.baseline(
            """
            version: 1
            name: nested
            scan:
              roots: [/home, /home/ann/mnt]
            rules:
              - id: files-0600
                match: /home/**
                types: [file]
                expect: { mode: "0600" }

            """)
        let (run, report) = try host.scanJSON(file)
        #expect(run.status == 1)
        #expect(report.hasFinding(rule: "files-0600", path: "/home/ann/mnt/loose.md", kind: "mode"))
        #expect((report["skipped"] as? [Any])?.isEmpty == true, "the nested root is walked, not skipped: \(report["skipped"] ?? "")")
    }

    @Test func aRunPastItsDeadlineIsIncompleteAndLeavesNoStaleReport() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let report = host.base + "/last.json"
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--output", "json:\(report)"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: report))
        // A deadline that has passed before the walk can end: the watchdog ends the run, as it would a
        // run stuck on a hanging filesystem.
        let late = try Harness.permdrift([
            "scan", "--root", host.root, "--baseline", file, "--output", "json:\(report)",
            "--deadline", "0.000001"
        ])
        #expect(late.status == 2)
        #expect(late.stderr.contains("the scan did not finish within"), "\(late.stderr)")
        #expect(!FileManager.default.fileExists(atPath: report), "the earlier report must not stand in for this run")
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--deadline", "-1"]).status == 64)
    }

    /// A real hanging filesystem: a FUSE mount (Debian's fusepy) whose every getattr never answers, under a
    /// scan root. The walk's statx of the mount point blocks. At the deadline the worker's watchdog says so
    /// and removes the report named on the command line. A FUSE request its daemon has read waits
    /// uninterruptibly, so the worker cannot end until the daemon dies (or the kernel's
    /// fs.fuse.max_request_timeout aborts the connection); the supervisor, outside the tree, exits 2
    /// shortly after the deadline all the same.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/fuse"), "no /dev/fuse"))
    func aHangingFilesystemEndsTheRunAtItsDeadline() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let report = host.base + "/last.json"
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--output", "json:\(report)"]).status == 0)
        try host.directory("/home/bob/hang", mode: 0o755, uid: 33002, gid: 33002)
        let fuse = try HangingFUSE(at: host.path("/home/bob/hang"), scratch: host.base)
        defer { fuse.release() }
        let stderrPath = host.base + "/scan.stderr"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let scan = Process()
        scan.executableURL = URL(fileURLWithPath: Harness.binary)
        scan.arguments = ["scan", "--root", host.root, "--baseline", file, "--output", "json:\(report)", "--deadline", "3"]
        scan.standardOutput = FileHandle.nullDevice
        scan.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try scan.run()
        let started = Date()
        var said = false
        while Date().timeIntervalSince(started) < 30 {
            if (try? String(contentsOfFile: stderrPath, encoding: .utf8))?.contains("the scan did not finish within 3.0 seconds") == true {
                said = true
                break
            }
            usleep(100_000)
        }
        #expect(said, "the watchdog did not report the deadline")
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(!FileManager.default.fileExists(atPath: report), "the earlier report must not stand in for this run")
        // The FUSE daemon still holds the request: the worker process cannot end, but the `permdrift scan`
        // that was started answers for it 15 s after the deadline, with exit 2.
        while scan.isRunning && Date().timeIntervalSince(started) < 40 { usleep(100_000) }
        let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        #expect(!scan.isRunning, "permdrift scan still runs \(Date().timeIntervalSince(started)) s after it started, with a 3 s deadline")
        #expect(fuse.isHanging, "the FUSE daemon must still be hanging for this to show anything")
        #expect(stderr.contains("is stuck past its deadline, in the kernel"), "\(stderr)")
        // The stuck worker, named in the message, ends once the filesystem is aborted.
        let worker = stderr.split(separator: "(process ").dropFirst().first.flatMap { Int32($0.prefix { $0.isNumber }) }
        fuse.release()
        scan.waitUntilExit()
        #expect(scan.terminationStatus == 2, "\(stderr)")
        if let worker {
            let gone = Date().addingTimeInterval(15)
            while kill(worker, 0) == 0 && Date() < gone { usleep(100_000) }
            #expect(kill(worker, 0) != 0, "the stuck worker \(worker) did not end after the filesystem was aborted")
        } else {
            Issue.record("the message names no worker process: \(stderr)")
        }
    }
}
