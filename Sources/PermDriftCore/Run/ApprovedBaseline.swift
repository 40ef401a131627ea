/// A baseline's bytes read once, together with who signed exactly those bytes.
public struct ApprovedBaseline: Sendable {
    public let bytes: [UInt8]
    public let signer: SSHSignature.Signer

    public struct Rejection: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Reads `file` and its `FILE.sig` (both trusted files) and checks the signature against `signers`.
    public static func read(_ file: String, signers: String) -> Result<ApprovedBaseline, Rejection> {
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
            return .success(
                ApprovedBaseline(bytes: bytes, signer: try SSHSignature.verify(bytes, signature: signature, allowedSigners: signers)))
        } catch {
            return .failure(Rejection(error.description))
        }
    }
}
