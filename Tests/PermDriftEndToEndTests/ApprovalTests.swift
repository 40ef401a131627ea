import Foundation
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
            try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--require-signature", "--signers", signers,
                                   "--format", "json"] + extra)
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
        #expect(run.stdout.isEmpty)
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
}
