import Foundation

/// Approval of a baseline with the SSH keys admins already have: OpenSSH's own `ssh-keygen -Y sign` and
/// `-Y verify` (namespace `permdrift-baseline`) against an `allowed_signers` file. permdrift parses no
/// signature itself.
public enum SSHSignature {
    public static let namespace = "permdrift-baseline"
    public static let sshKeygen = "/usr/bin/ssh-keygen"

    /// Who approved a baseline.
    public struct Signer: Sendable, Equatable, CustomStringConvertible {
        /// The principal from `allowed_signers` (e.g. `alice@example.com`).
        public let principal: String
        /// The key, as ssh-keygen describes it (`ED25519 key SHA256:…`).
        public let key: String

        public var description: String { "\(principal) (\(key))" }
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case missingSignature(String)
        case unknownSigner(String)
        case badSignature(String)
        case tool(String)

        public var description: String {
            switch self {
            case .missingSignature(let why): "no signature: \(why)"
            case .unknownSigner(let why): "signed by a key that allowed_signers does not list: \(why)"
            case .badSignature(let why):
                "the signature does not verify (the baseline changed after it was signed, or it was signed for another purpose): \(why)"
            case .tool(let why): why
            }
        }
    }

    /// The detached signature's path for a baseline.
    public static func signaturePath(for file: String) -> String { file + ".sig" }

    /// Signs `data` with a private key; returns the armored signature.
    public static func sign(_ data: [UInt8], key: String) throws(Failure) -> [UInt8] {
        let run = try runTool(["-Y", "sign", "-f", key, "-n", namespace], input: data)
        guard run.status == 0, !run.stdout.isEmpty else {
            throw .tool("ssh-keygen -Y sign failed: \(run.stderrText)")
        }
        return run.stdout
    }

    /// Verifies exactly these bytes against their signature and an allowed_signers file; returns who
    /// signed them.
    public static func verify(_ data: [UInt8], signature: [UInt8], allowedSigners: String) throws(Failure) -> Signer {
        let dir: TemporaryDirectory
        do { dir = try TemporaryDirectory.create(prefix: "permdrift-ssh") } catch {
            throw .tool("cannot create a temporary directory: \(error)")
        }
        defer { dir.remove() }
        let sig = dir.path + "/baseline.sig"
        guard dir.createFile("baseline.sig", contents: signature, permissions: 0o600) else {
            throw .tool("cannot write \(sig)")
        }
        let find = try runTool(["-Y", "find-principals", "-s", sig, "-f", allowedSigners], input: [])
        let principals = find.stdoutText.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        guard find.status == 0, !principals.isEmpty else {
            throw .unknownSigner(find.stderrText.isEmpty ? "no principal in \(allowedSigners) matches the signing key" : find.stderrText)
        }
        var last = ""
        for principal in principals {
            let run = try runTool(["-Y", "verify", "-f", allowedSigners, "-I", principal, "-n", namespace, "-s", sig], input: data)
            if run.status == 0, let good = run.stdoutText.split(separator: "\n").first(where: { $0.hasPrefix("Good ") }) {
                // `Good "permdrift-baseline" signature for alice@example with ED25519 key SHA256:…`
                let key = good.range(of: " with ").map { String(good[$0.upperBound...]) } ?? ""
                return Signer(principal: principal, key: key)
            }
            last = [run.stderrText, TerminalText.escape(run.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))]
                .filter { !$0.isEmpty }.joined(separator: "; ")
        }
        throw .badSignature(last)
    }

    struct ToolRun {
        let status: Int32
        let stdout: [UInt8]
        let stderr: [UInt8]
        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        var stderrText: String {
            TerminalText.escape(String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// Runs ssh-keygen with `input` on its standard input (so the bytes verified are the bytes given),
    /// through `ChildProcess.run`: no run loop, socket or dispatch thread, which the service's unit
    /// forbids or cannot honour.
    static func runTool(_ arguments: [String], input: [UInt8]) throws(Failure) -> ToolRun {
        guard HostFiles.isExecutable(sshKeygen) else {
            throw .tool("\(sshKeygen) is missing: install OpenSSH's client (Debian: openssh-client)")
        }
        switch ChildProcess.run(sshKeygen, arguments, environment: ["PATH": "/usr/bin:/bin", "LC_ALL": "C"], input: input) {
        case .success(let output):
            return ToolRun(status: output.status, stdout: output.stdout, stderr: output.stderr)
        case .failure(let error):
            throw .tool("cannot run \(sshKeygen): \(error)")
        }
    }
}
