import ArgumentParser
import Foundation
import PermDriftCore

/// `permdrift baseline …`: approving baselines.
struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Approve baselines: sign them with an SSH key and verify who signed them.",
        subcommands: [Sign.self, Verify.self]
    )

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a baseline with an SSH key (ssh-keygen -Y sign, namespace permdrift-baseline), writing FILE.sig.")

        @Argument(help: ArgumentHelp("The baseline to sign.", valueName: "file"))
        var file: String

        @Option(name: .long, help: ArgumentHelp("The private key (or its public half, with the key in ssh-agent).", valueName: "key"))
        var key: String

        func run() throws {
            let bytes: [UInt8]
            switch TrustedFile.read(path: file, requireTrustedOwner: false) {
            case .success(let b): bytes = b
            case .failure(let e): warn("permdrift baseline sign: \(e)"); throw ExitCode(ExitStatus.untrusted)
            }
            do {
                let signature = try SSHSignature.sign(bytes, key: key)
                try AtomicFile.write(signature, to: SSHSignature.signaturePath(for: file), mode: 0o644)
            } catch {
                warn("permdrift baseline sign: \(error)")
                throw ExitCode(ExitStatus.untrusted)
            }
            print("signed \(TerminalText.escape(file)): \(TerminalText.escape(SSHSignature.signaturePath(for: file)))")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a baseline's FILE.sig against an OpenSSH allowed_signers file and print who approved it.")

        @Argument(help: ArgumentHelp("The baseline to verify.", valueName: "file"))
        var file: String

        @Option(name: .long, help: ArgumentHelp("OpenSSH allowed_signers file.", valueName: "allowed-signers"))
        var signers: String

        func run() throws {
            switch ApprovedBaseline.read(file, signers: signers) {
            case .success(let approved):
                print("\(TerminalText.escape(file)): approved by \(TerminalText.escape(approved.signer.description))")
            case .failure(let why):
                warn("permdrift baseline verify: \(TerminalText.escape(file)) rejected: \(why)")
                throw ExitCode(ExitStatus.untrusted)
            }
        }
    }
}

/// A baseline's bytes read once, together with who signed exactly those bytes.
struct ApprovedBaseline {
    let bytes: [UInt8]
    let signer: SSHSignature.Signer

    struct Rejection: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static func read(_ file: String, signers: String) -> Result<ApprovedBaseline, Rejection> {
        let bytes: [UInt8]
        switch TrustedFile.read(path: file, requireTrustedOwner: true) {
        case .success(let b): bytes = b
        case .failure(let e): return .failure(Rejection(e.description))
        }
        let sigPath = SSHSignature.signaturePath(for: file)
        let signature: [UInt8]
        switch TrustedFile.read(path: sigPath, requireTrustedOwner: true) {
        case .success(let b): signature = b
        case .failure(.missing): return .failure(Rejection(SSHSignature.Failure.missingSignature("\(sigPath) does not exist").description))
        case .failure(let e): return .failure(Rejection("the signature cannot be used: \(e)"))
        }
        // The signers file is read by ssh-keygen; it must be as trustworthy as the baseline.
        if case .failure(let e) = TrustedFile.read(path: signers, requireTrustedOwner: true) {
            return .failure(Rejection("the allowed signers cannot be used: \(e)"))
        }
        do {
            return .success(ApprovedBaseline(bytes: bytes, signer: try SSHSignature.verify(bytes, signature: signature, allowedSigners: signers)))
        } catch {
            return .failure(Rejection(error.description))
        }
    }
}
