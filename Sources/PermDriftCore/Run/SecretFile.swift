import Foundation

/// A credential in a file of its own (Alertmanager's bearer token or password): a trusted file, readable
/// by its owner only, holding one line.
public enum SecretFile {
    /// The secret in `path`; `what` names it in messages. Anything else ends the run (exit 2).
    public static func read(_ path: String, what: String, console: RunConsole) throws(RunExit) -> String {
        if case .success(let status) = PathStatus.of(path), status.permissions & 0o077 != 0 {
            console.error(
                "permdrift: the \(what) file \(TerminalText.escape(path)) has mode \(String(status.permissions, radix: 8)); a secret must be readable by its owner only (0600 or 0400)"
            )
            throw RunExit(ExitStatus.untrusted)
        }
        switch TrustedFile.read(path: path, requireTrustedOwner: true, limit: 64 << 10) {
        case .success(let bytes):
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty, !text.contains(where: { $0.isNewline }) else {
                console.error("permdrift: the \(what) file \(TerminalText.escape(path)) must hold one line")
                throw RunExit(ExitStatus.untrusted)
            }
            return text
        case .failure(let e):
            console.error("permdrift: cannot read the \(what): \(e)")
            throw RunExit(ExitStatus.untrusted)
        }
    }
}
