import Crypto
import Foundation

/// What `loadLedger` found.
public enum LedgerLoad: Sendable {
    /// No ledger yet: the first run with this state directory.
    case missing
    case loaded(FindingLedger)
    /// Torn, truncated, edited or of another format: not trusted. The file was moved aside to `keptAs`.
    case corrupt(why: String, keptAs: String?)
}

extension StateDirectory {
    public static let ledgerFile = "findings.json"
    static let ledgerMagic = "permdrift-state"

    /// Reads the ledger. Its first line carries the body's length and SHA-256, so a torn write or a
    /// truncated or edited file is detected rather than trusted; such a file is renamed
    /// `findings.json.corrupt` (replacing an older one) and reported.
    public func loadLedger(setAside moveAside: Bool = true) -> LedgerLoad {
        let display = path + "/" + Self.ledgerFile
        let bytes: [UInt8]
        switch TrustedFile.read(relative: Self.ledgerFile, under: path, limit: 256 << 20) {
        case .success(let b): bytes = b
        case .failure(.missing): return .missing
        case .failure(let e): return setAside(moveAside, why: e.description)
        }
        guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else {
            return setAside(moveAside, why: "\(TerminalText.escape(display)) has no header line (truncated?)")
        }
        let header = String(decoding: bytes[..<newline], as: UTF8.self).split(separator: " ")
        let body = Array(bytes[(newline + 1)...])
        guard header.count == 4, header[0] == Self.ledgerMagic, header[1] == "v\(FindingLedger.formatVersion)",
            header[2].hasPrefix("length="), let length = Int(header[2].dropFirst(7)),
            header[3].hasPrefix("sha256=")
        else {
            return setAside(moveAside, why: "\(TerminalText.escape(display)) does not start with a permdrift state header")
        }
        guard body.count == length else {
            return setAside(
                moveAside,
                why: "\(TerminalText.escape(display)) holds \(body.count) bytes where its header says \(length) (a torn or truncated write)"
            )
        }
        guard BaselineLoader.sha256Hex(body) == header[3].dropFirst(7) else {
            return setAside(moveAside, why: "\(TerminalText.escape(display)) does not match its checksum (corrupt or edited)")
        }
        let decoder = JSONDecoder()
        do {
            let ledger = try decoder.decode(FindingLedger.self, from: Data(body))
            guard ledger.version == FindingLedger.formatVersion else {
                return setAside(
                    moveAside,
                    why: "\(TerminalText.escape(display)) has format version \(ledger.version), not \(FindingLedger.formatVersion)")
            }
            return .loaded(ledger)
        } catch {
            return setAside(moveAside, why: "\(TerminalText.escape(display)) does not decode: \(error)")
        }
    }

    private func setAside(_ move: Bool, why: String) -> LedgerLoad {
        guard move else { return .corrupt(why: why, keptAs: nil) }
        let aside = Self.ledgerFile + ".corrupt"
        let moved = Self.ledgerFile.withCString { from in aside.withCString { to in Syscalls.renameAt(descriptor, from, descriptor, to) } }
        if case .success = moved { return .corrupt(why: why, keptAs: path + "/" + aside) }
        return .corrupt(why: why, keptAs: nil)
    }

    /// Writes the ledger atomically (temporary file, fsync, rename, fsync of the directory), 0600.
    public func saveLedger(_ ledger: FindingLedger) throws(SystemCallError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body: [UInt8]
        do { body = Array(try encoder.encode(ledger)) } catch {
            throw SystemCallError("encode", path: path + "/" + Self.ledgerFile, errno: .invalidArgument)
        }
        var bytes = Array(
            "\(Self.ledgerMagic) v\(FindingLedger.formatVersion) length=\(body.count) sha256=\(BaselineLoader.sha256Hex(body))\n".utf8)
        bytes += body
        try AtomicFile.write(bytes, to: path + "/" + Self.ledgerFile, mode: 0o600)
    }
}
