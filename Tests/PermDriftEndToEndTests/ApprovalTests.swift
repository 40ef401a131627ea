import Foundation
import PermDriftTestSupport
import Testing

/// Signed approval of baselines with real `ssh-keygen` and generated ed25519 keys.
@Suite(.enabled(if: Harness.isRoot, "needs root: scans trees owned by other uids"))
struct ApprovalTests {
    /// A scratch host, two admin keys, and an allowed_signers file that lists only alice.
    struct Admins {
        let host: ScratchHost
        let alice: String
        let mallory: String
        let signers: String

        init() throws {
            host = try ScratchHost()
            alice = host.base + "/alice"
            mallory = host.base + "/mallory"
            for key in [alice, mallory] {
                try Harness.sh("/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", key)
            }
            let pub = try String(contentsOfFile: alice + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            signers = try host.baseline("alice@example.com namespaces=\"permdrift-baseline\" \(pub)\n", name: "allowed_signers")
        }

        func remove() { host.remove() }

        func baseline(serial: Int? = nil, name: String = "baseline.yaml") throws -> String {
            var text = ScratchHost.transcriptsRule
            if let serial { text = text.replacingOccurrences(of: "name: e2e\n", with: "name: e2e\nserial: \(serial)\n") }
            return try host.baseline(text, name: name)
        }

        func sign(_ file: String, key: String? = nil) throws {
            let run = try Harness.permdrift(["baseline", "sign", file, "--key", key ?? alice])
            guard run.status == 0 else { throw HarnessError("sign failed: \(run.stderr)") }
        }

        func verify(_ file: String) throws -> Harness.Run {
            try Harness.permdrift(["baseline", "verify", file, "--signers", signers])
        }

        func scan(_ file: String, _ extra: [String] = []) throws -> Harness.Run {
            try Harness.permdrift(
                [
                    "scan", "--root", host.root, "--baseline", file, "--require-signature", "--signers", signers,
                    "--format", "json"
                ] + extra)
        }
    }

    @Test func aGoodSignatureVerifiesAndNamesTheSigner() throws {
        let admins = try Admins()
        defer { admins.remove() }
        let file = try admins.baseline()
        try admins.sign(file)
        let verified = try admins.verify(file)
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains("approved by alice@example.com (ED25519 key SHA256:"))
        let scan = try admins.scan(file)
        #expect(scan.status == 0, "\(scan.stderr)")
        try Harness.validateAgainstSchema(scan.stdoutBytes)
        let report = try #require(try JSONSerialization.jsonObject(with: scan.stdoutBytes) as? [String: Any])
        #expect(((report["baseline"] as? [String: Any])?["signer"] as? String)?.hasPrefix("alice@example.com (ED25519 key SHA256:") == true)
    }

    @Test func aOneByteChangeIsRefused() throws {
        let admins = try Admins()
        defer { admins.remove() }
        let file = try admins.baseline()
        try admins.sign(file)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[bytes.count - 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: file))
        let run = try admins.scan(file)
        #expect(run.status == 2)
        #expect(run.stderr.contains("baseline rejected: \(file): the signature does not verify"), "\(run.stderr)")
        // The rejection is reported, so whoever reads the reports learns nothing was enforced.
        try Harness.validateAgainstSchema(run.stdoutBytes)
        let report = try #require(try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any])
        #expect(report.findings.count == 1)
        #expect(report.findings.first?["kind"] as? String == "baseline-rejected")
        #expect(report.findings.first?["rule"] as? String == "baseline")
        #expect(report.findings.first?["severity"] as? String == "critical")
        #expect((report["summary"] as? [String: Any])?["complete"] as? Bool == false)
        #expect(try admins.verify(file).status == 2)
    }

    @Test func aSignatureForAnotherNamespaceIsRefused() throws {
        let admins = try Admins()
        defer { admins.remove() }
        let file = try admins.baseline()
        try Harness.sh("/usr/bin/ssh-keygen", "-Y", "sign", "-f", admins.alice, "-n", "file", file)
        let run = try admins.verify(file)
        #expect(run.status == 2)
        #expect(run.stderr.contains("rejected"), "\(run.stderr)")
        #expect(run.stderr.contains("does not verify") || run.stderr.contains("does not list"), "\(run.stderr)")
    }

    @Test func aKeyNotInAllowedSignersIsRefused() throws {
        let admins = try Admins()
        defer { admins.remove() }
        let file = try admins.baseline()
        try admins.sign(file, key: admins.mallory)
        let run = try admins.scan(file)
        #expect(run.status == 2)
        #expect(run.stderr.contains("signed by a key that allowed_signers does not list"), "\(run.stderr)")
    }

    @Test func aMissingSignatureIsRefusedAndThereIsNoFallback() throws {
        let admins = try Admins()
        defer { admins.remove() }
        let file = try admins.baseline()
        let unsigned = try admins.scan(file)
        #expect(unsigned.status == 2)
        #expect(unsigned.stderr.contains("no signature: \(file).sig does not exist"), "\(unsigned.stderr)")
        let missing = try admins.scan(admins.host.base + "/nonexistent.yaml")
        #expect(missing.status == 2, "no built-in baseline stands in for a missing signed one")
        #expect(missing.stderr.contains("no such file"), "\(missing.stderr)")
    }

    @Test func aLowerSerialIsRefused() throws {
        let admins = try Admins()
        defer { admins.remove() }
        let state = admins.host.base + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
        chmod(state, 0o700)
        let newer = try admins.baseline(serial: 5, name: "newer.yaml")
        try admins.sign(newer)
        #expect(try admins.scan(newer, ["--state-dir", state]).status == 0)
        let older = try admins.baseline(serial: 3, name: "older.yaml")
        try admins.sign(older)
        let replay = try admins.scan(older, ["--state-dir", state])
        #expect(replay.status == 2)
        #expect(replay.stderr.contains("has serial 3, lower than 5, the highest this host has accepted"), "\(replay.stderr)")
        #expect(try admins.scan(newer, ["--state-dir", state]).status == 0, "the same serial is accepted again")
    }

    @Test func fromDriftToAcceptedResignedAndCleanWithDocumentedCommands() throws {
        let admins = try Admins()
        defer { admins.remove() }
        // A commented, hand-formatted baseline: accept and pin must leave it byte for byte.
        let original =
            ScratchHost.head + """
                # Transcripts are private. (Reviewed in PR 17.)
                rules:
                  - id: transcripts-private      # the rule admins care about
                    severity: critical
                    match: '/home/{a}/transcripts/**'
                    types: [file]
                    expect: {owner: "{a}", mode: '0600', acl: none}

                """
        let file = try admins.host.baseline(original)
        try admins.sign(file)
        admins.host.setMode(ScratchHost.transcript, 0o640)
        let drift = try admins.scan(file)
        #expect(drift.status == 1)

        let accept = try Harness.permdrift([
            "baseline", "accept", "--baseline", file, "--rule", "transcripts-private",
            "--path", ScratchHost.transcript, "--reason", "shared with the reviewer, incident 42",
            "--by", "alice", "--expires", "2999-12-31", "--root", admins.host.root
        ])
        #expect(accept.status == 0, "\(accept.stderr)")
        #expect(accept.stdout.contains("no longer matches: review the change, then re-sign"))
        let pin = try Harness.permdrift(["baseline", "pin", "/srv/shared", "--baseline", file, "--root", admins.host.root])
        #expect(pin.status == 0, "\(pin.stderr)")
        let edited = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(edited.starts(with: Data(original.utf8)), "what the admin wrote stays byte for byte")
        let text = String(decoding: edited, as: UTF8.self)
        #expect(
            text.contains("accepted:\n  - { rule: \"transcripts-private\", path: \"\(ScratchHost.transcript)\", approved-by: \"alice\""))
        #expect(text.contains("pinned:\n  \"/srv/shared\": { type: \"directory\", owner: \"svc\", group: \"agents\", mode: \"0750\""))

        // The old signature no longer matches the edited baseline; re-signed, the next scan is clean.
        #expect(try admins.scan(file).status == 2)
        try admins.sign(file)
        let clean = try admins.scan(file)
        #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
        // The pin now holds the approved state of /srv/shared: a change to it is drift.
        admins.host.setMode("/srv/shared", 0o770)
        let pinned = try admins.scan(file)
        #expect(pinned.status == 1)
        #expect(pinned.stdout.contains("\"rule\": \"pin\""))
    }
}
