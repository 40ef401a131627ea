public import Foundation

/// One line of a fix run's journal (`fix-RUN.jsonl` in the state directory), JSON, one per line
/// (README, "Repair"). A run's journal starts with a `start` line; each inode it changes gets a `begin`
/// line (its state before, written and synced before the first change) and then a `done` or `failed`
/// line (its state after, as read back, and the ctime that left). `permdrift fix --undo RUN` reverts
/// the `done` and `failed` lines' inodes whose device, inode and ctime are still those of the line.
public struct JournalEntry: Codable, Sendable, Equatable {
    public enum Event: String, Codable, Sendable { case start, begin, done, failed }

    public var event: Event
    // start
    public var run: String?
    public var root: String?
    public var undoes: String?
    public var started: String?
    public var version: String?
    // begin, done, failed
    /// The path, escaped for a terminal (for people); `pathHex` is its exact bytes.
    public var path: String?
    public var pathHex: String?
    public var type: String?
    public var device: UInt64?
    public var inode: UInt64?
    /// The ctime the change was checked against (`seconds.nanoseconds`).
    public var ctime: String?
    public var before: JournalState?
    public var after: JournalState?
    /// The ctime the change left (what undo checks).
    public var ctimeAfter: String?
    public var changes: [String]?
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case event, run, root, undoes, started, version, path, type, device, inode, ctime, before, after, changes, error
        case pathHex = "path_hex"
        case ctimeAfter = "ctime_after"
    }

    public init(event: Event) { self.event = event }
}

/// An `InodeState` as the journal writes it: numbers, getfacl text with numeric qualifiers, hex bytes.
public struct JournalState: Codable, Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var mode: String
    public var acl: String?
    public var defaultACL: String?
    public var capabilityHex: String?

    enum CodingKeys: String, CodingKey {
        case uid, gid, mode, acl
        case defaultACL = "default_acl"
        case capabilityHex = "capability_hex"
    }

    public init(_ s: InodeState) {
        uid = s.uid
        gid = s.gid
        mode = ModeSpec.octal(s.mode)
        acl = s.acl.map { $0.text() }
        defaultACL = s.defaultACL.map { $0.text() }
        capabilityHex = s.capability.map(Hex.encode)
    }

    /// The state back; nil when a field does not parse (a journal edited by hand or damaged).
    public var state: InodeState? {
        guard let m = UInt32(mode, radix: 8), m <= 0o7777 else { return nil }
        func parse(_ text: String?) -> PosixACL?? {
            guard let text else { return .some(nil) }
            guard let acl = try? ACLText.parse(text, uid: { _ in nil }, gid: { _ in nil }) else { return nil }
            return .some(acl)
        }
        guard let acl = parse(acl), let defaultACL = parse(defaultACL) else { return nil }
        var capability: [UInt8]?
        if let capabilityHex {
            guard let bytes = Hex.decode(capabilityHex) else { return nil }
            capability = bytes
        }
        return InodeState(uid: uid, gid: gid, mode: m, acl: acl, defaultACL: defaultACL, capability: capability)
    }
}

/// Lower-case hex, for bytes that need not be text (paths, capabilities).
enum Hex {
    static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return out
    }

    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

/// The ctime as the journal writes it: `seconds.nanoseconds`, nine digits.
func ctimeText(seconds: Int64, nanoseconds: UInt32) -> String {
    let nanos = String(nanoseconds)
    return "\(seconds)." + String(repeating: "0", count: max(0, 9 - nanos.count)) + nanos
}

/// Names of fix runs and their journal files.
public enum FixRunName {
    /// A new run's name: the UTC time, `20261207T012345Z`.
    public static func make(now: Date = Date()) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: now)
        func two(_ n: Int?) -> String { n.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(c.year ?? 0)\(two(c.month))\(two(c.day))T\(two(c.hour))\(two(c.minute))\(two(c.second))Z"
    }

    /// Whether `name` can be a run's name (digits, letters, `-`; no path).
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.utf8.allSatisfy { c in
                (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                    || c == UInt8(ascii: "-")
            }
    }

    public static func journalFile(_ run: String) -> String { "fix-\(run).jsonl" }
    public static func undoJournalFile(_ run: String) -> String { "fix-\(run).undo.jsonl" }
}

/// The journal's JSON: one object per line, keys sorted, nothing escaped that need not be.
enum JournalCoding {
    static func encode(_ entry: JournalEntry) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(entry))
    }

    /// The entries of a journal file's bytes; a line that does not decode is an error naming its number.
    static func decode(_ bytes: [UInt8], file: String) throws(JournalError) -> [(line: Int, entry: JournalEntry)] {
        var entries = [(line: Int, entry: JournalEntry)]()
        let decoder = JSONDecoder()
        for (i, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty { continue }
            do { entries.append((i + 1, try decoder.decode(JournalEntry.self, from: Data(line)))) } catch {
                throw JournalError(file: file, line: i + 1, why: "not a journal entry (\(Self.reason(error)))")
            }
        }
        return entries
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "\"\(key.stringValue)\" is missing"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            "\"\(c.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type"
        case DecodingError.dataCorrupted(let c) where c.codingPath.isEmpty: "not JSON"
        case DecodingError.dataCorrupted(let c): "\"\(c.codingPath.map(\.stringValue).joined(separator: "."))\" is not valid"
        default: "\(error)"
        }
    }
}

/// A journal that cannot be used, with the file and line that say why.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var why: String

    public var description: String {
        "\(TerminalText.escape(file))\(line.map { ":\($0)" } ?? ""): \(why)"
    }
}
