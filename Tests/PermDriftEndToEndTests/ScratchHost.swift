import Foundation
import PermDriftTestSupport
import Testing

/// A small agent host in a temporary directory, as the conformance suite builds it: its own etc/passwd
/// and etc/group, two agents with homes and transcripts, a shared folder. Removed by `remove()`.
struct ScratchHost {
    static let agents: [(String, UInt32)] = [("ann", 33001), ("bob", 33002)]
    static let others: [(String, UInt32)] = [("svc", 33100), ("eve", 33101)]
    static let agentsGID: UInt32 = 33000

    let base: String
    var root: String { base + "/root" }

    static let transcript = "/home/ann/transcripts/t1.jsonl"
    static let transcript2 = "/home/ann/transcripts/2026/t2.jsonl"
    static let notes = "/home/ann/notes.md"
    static let facts = "/srv/shared/facts.md"

    init() throws {
        base = try makeTemporaryDirectory(prefix: "pd-e2e")
        chmod(base, 0o755)
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        chmod(root, 0o755)
        var passwd = "root:x:0:0::/root:/bin/sh\n"
        var group = "root:x:0:\n"
        for (n, u) in Self.agents + Self.others {
            passwd += "\(n):x:\(u):\(u)::/home/\(n):/usr/sbin/nologin\n"
            group += "\(n):x:\(u):\n"
        }
        group += "agents:x:\(Self.agentsGID):\(Self.agents.map(\.0).joined(separator: ","))\n"
        try write("/etc/passwd", passwd, mode: 0o644)
        try write("/etc/group", group, mode: 0o644)
        try directory("/home", mode: 0o755)
        for (a, uid) in Self.agents {
            try directory("/home/\(a)", mode: 0o700, uid: uid, gid: uid)
            try directory("/home/\(a)/transcripts", mode: 0o700, uid: uid, gid: uid)
            try directory("/home/\(a)/transcripts/2026", mode: 0o700, uid: uid, gid: uid)
            for f in ["transcripts/t1.jsonl", "transcripts/2026/t2.jsonl", "notes.md"] {
                try write("/home/\(a)/\(f)", "", mode: 0o600, uid: uid, gid: uid)
            }
        }
        try directory("/srv", mode: 0o755)
        try directory("/srv/shared", mode: 0o750, uid: 33100, gid: Self.agentsGID)
        try write(Self.facts, "", mode: 0o640, uid: 33100, gid: Self.agentsGID)
    }

    /// Removes the host, even what a test chmod'ed away.
    func remove() { removeTree(base) }

    func path(_ p: String) -> String { root + p }

    func directory(_ p: String, mode: mode_t, uid: UInt32 = 0, gid: UInt32 = 0) throws {
        try FileManager.default.createDirectory(atPath: path(p), withIntermediateDirectories: true)
        try own(p, uid: uid, gid: gid, mode: mode)
    }

    func write(_ p: String, _ contents: String, mode: mode_t, uid: UInt32 = 0, gid: UInt32 = 0) throws {
        guard FileManager.default.createFile(atPath: path(p), contents: Data(contents.utf8)) else {
            throw HarnessError("cannot create \(path(p))")
        }
        try own(p, uid: uid, gid: gid, mode: mode)
    }

    func own(_ p: String, uid: UInt32, gid: UInt32, mode: mode_t) throws {
        guard lchown(path(p), uid, gid) == 0, chmod(path(p), mode) == 0 else {
            throw HarnessError("cannot chown/chmod \(path(p)): \(String(cString: strerror(errno)))")
        }
    }

    func setMode(_ p: String, _ mode: mode_t) {
        chmod(path(p), mode)
    }

    func setfacl(_ p: String, _ spec: String, isDefault: Bool = false) throws {
        if isDefault {
            try Harness.sh("/usr/bin/setfacl", "-P", "-d", "-m", spec, path(p))
        } else {
            try Harness.sh("/usr/bin/setfacl", "-P", "-m", spec, path(p))
        }
    }

    /// Writes a baseline beside the root (mode 0644, owned by root: a baseline permdrift trusts).
    func baseline(_ text: String, name: String = "baseline.yaml") throws -> String {
        let file = base + "/" + name
        guard FileManager.default.createFile(atPath: file, contents: Data(text.utf8)) else {
            throw HarnessError("cannot write \(file)")
        }
        chmod(file, 0o644)
        return file
    }

    /// The conformance suite's head: roots /home and /srv/shared; rules follow.
    static let head = """
        version: 1
        name: e2e
        scan:
          roots: [/home, /srv/shared]

        """

    static let transcriptsRule =
        head + """
            rules:
              - id: transcripts-private
                severity: critical
                match: /home/{a}/transcripts/**
                types: [file]
                expect: { owner: "{a}", mode: "0600", acl: none }

            """

    /// Scans with `--format json` and decodes the report (and checks it against the schema).
    func scanJSON(_ baselineFile: String, extra: [String] = []) throws -> (Harness.Run, [String: Any]) {
        let run = try Harness.permdrift(["scan", "--root", root, "--baseline", baselineFile, "--format", "json"] + extra)
        let object = try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any]
        guard let object else { throw HarnessError("stdout is not a JSON object: \(run.stdout.prefix(200)) \(run.stderr)") }
        try Harness.validateAgainstSchema(run.stdoutBytes)
        return (run, object)
    }
}

extension Dictionary where Key == String, Value == Any {
    var findings: [[String: Any]] { self["findings"] as? [[String: Any]] ?? [] }
    var errors: [[String: Any]] { self["errors"] as? [[String: Any]] ?? [] }

    func hasFinding(rule: String? = nil, path: String, kind: String? = nil) -> Bool {
        findings.contains { f in
            (rule == nil || f["rule"] as? String == rule) && f["path"] as? String == path
                && (kind == nil || f["kind"] as? String == kind)
        }
    }
}

// MARK: - Helpers for ConformanceTests

extension ScratchHost {
    /// The uid of one of the scratch accounts (ann, bob, svc, eve).
    static func uid(_ name: String) -> UInt32 {
        guard let uid = (agents + others).first(where: { $0.0 == name })?.1 else {
            preconditionFailure("no scratch account \(name)")
        }
        return uid
    }

    func changeMode(_ p: String, _ mode: mode_t) throws {
        guard chmod(path(p), mode) == 0 else { throw HarnessError("cannot chmod \(path(p)): \(String(cString: strerror(errno)))") }
    }

    func changeOwner(_ p: String, uid: UInt32, gid: UInt32) throws {
        guard lchown(path(p), uid, gid) == 0 else { throw HarnessError("cannot chown \(path(p)): \(String(cString: strerror(errno)))") }
    }

    /// An empty file (or a FIFO) with this owner and mode; missing parents are made root-owned 0755.
    func make(_ p: String, mode: mode_t, uid: UInt32 = 0, gid: UInt32 = 0, fifo: Bool = false) throws {
        let parent = (path(p) as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: parent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
        if fifo {
            guard mkfifo(path(p), 0o600) == 0 else { throw HarnessError("cannot mkfifo \(path(p)): \(String(cString: strerror(errno)))") }
            try own(p, uid: uid, gid: gid, mode: mode)
        } else {
            try write(p, "", mode: mode, uid: uid, gid: gid)
        }
    }

    /// A second name for an existing file (link(2)).
    func hardLink(_ existing: String, at p: String) throws {
        guard link(path(existing), path(p)) == 0 else { throw HarnessError("cannot link \(path(p)): \(String(cString: strerror(errno)))") }
    }

    /// A symlink whose target is written as given (not under the root).
    func symbolicLink(to target: String, at p: String) throws {
        guard symlink(target, path(p)) == 0 else { throw HarnessError("cannot symlink \(path(p)): \(String(cString: strerror(errno)))") }
    }

    func setcap(_ p: String, _ capabilities: String) throws {
        try Harness.sh("/usr/sbin/setcap", capabilities, path(p))
    }

    /// Adds a user to a group's member list in the scratch etc/group (only etc/group changes).
    func addMember(_ user: String, toGroup group: String) throws {
        let text = try String(contentsOfFile: path("/etc/group"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4, fields[0] == group else { return String(line) }
            fields[3] = (fields[3].split(separator: ",").map(String.init) + [user]).joined(separator: ",")
            return fields.joined(separator: ":")
        }
        try write("/etc/group", lines.joined(separator: "\n"), mode: 0o644)
    }
}
