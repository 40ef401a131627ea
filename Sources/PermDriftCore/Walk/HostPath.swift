/// An absolute path as it stands on the scanned host (with `--root DIR`, `/` means DIR), kept as the
/// kernel's bytes: names are attacker-controlled and need not be valid UTF-8.
public struct HostPath: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]
    /// Set when `bytes` is a longer path shortened for a report (`init(reporting:)`): the length of the
    /// path it stands for.
    public let shortenedFrom: Int?

    public init(bytes: [UInt8]) { self.init(bytes: bytes, shortenedFrom: nil) }

    init(bytes: [UInt8], shortenedFrom: Int?) {
        self.bytes = bytes
        self.shortenedFrom = shortenedFrom
    }

    public init(_ string: String) { self.init(bytes: Array(string.utf8)) }

    public init(_ buffer: UnsafeBufferPointer<UInt8>) { self.init(bytes: Array(buffer)) }

    /// Reports (findings, errors, skipped mounts, the state directory's ledger and alerts) carry paths of
    /// up to this many bytes exactly: PATH_MAX, the longest path any program can open by name.
    public static let reportLimit = 4096
    /// The paths of the steps that explain an access finding (prefixes of the finding's path) are
    /// shortened beyond this many bytes.
    public static let stepLimit = 512

    /// The path as reports carry it: exact up to `limit` bytes; a longer one (which only a walk from
    /// descriptor to descriptor reaches: an agent can make paths of megabytes) as its first and last
    /// bytes (half the limit each) around "…", with its length in `shortenedFrom`. Reports and state stay
    /// bounded however long the paths an agent makes, and the copy costs no more than the limit.
    public init(reporting buffer: UnsafeBufferPointer<UInt8>, limit: Int = HostPath.reportLimit) {
        guard buffer.count > limit else {
            self.init(buffer)
            return
        }
        let head = limit / 2, tail = limit / 2 - 1
        var out = [UInt8]()
        out.reserveCapacity(head + 3 + tail)
        out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<head]))
        out.append(contentsOf: [0xE2, 0x80, 0xA6])  // …
        out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[(buffer.count - tail)...]))
        self.init(bytes: out, shortenedFrom: buffer.count)
    }

    /// `init(reporting:)` for a path already held.
    public init(reporting path: HostPath) {
        guard path.shortenedFrom == nil, path.bytes.count > Self.reportLimit else {
            self = path
            return
        }
        self = path.bytes.withUnsafeBufferPointer { HostPath(reporting: $0) }
    }

    public static func < (a: HostPath, b: HostPath) -> Bool {
        if a.bytes != b.bytes { return a.bytes.lexicographicallyPrecedes(b.bytes) }
        return (a.shortenedFrom ?? a.bytes.count) < (b.shortenedFrom ?? b.bytes.count)
    }

    /// The path for people: control characters, bidi overrides and invalid UTF-8 escaped C-style; a
    /// shortened one says so.
    public var description: String {
        guard let length = shortenedFrom else { return TerminalText.escape(bytes) }
        return TerminalText.escape(bytes) + " (a path of \(length) bytes, shortened to its beginning and end)"
    }

    /// The path as a String when it is valid UTF-8.
    public var utf8String: String? { String(validating: bytes, as: UTF8.self) }

    /// The path as a String, invalid bytes replaced by U+FFFD.
    public var lossyString: String { String(decoding: bytes, as: UTF8.self) }

    /// The path's segments (without empty ones).
    public var segments: [ArraySlice<UInt8>] {
        bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
    }

    /// The first `length` bytes: the path of an ancestor, given its length.
    public func prefix(_ length: Int) -> HostPath { HostPath(bytes: Array(bytes[0..<min(length, bytes.count)])) }

    /// `self` joined with one more name.
    public func appending(_ name: some Sequence<UInt8>) -> HostPath {
        var out = bytes
        if out.last != UInt8(ascii: "/") { out.append(UInt8(ascii: "/")) }
        out.append(contentsOf: name)
        return HostPath(bytes: out)
    }

    /// True when `self` is `other` or lies below it. Against a shortened `other`, whatever starts with
    /// its first bytes counts as within (a question of what to keep: more, not less).
    public func isWithin(_ other: HostPath) -> Bool {
        if other.bytes == [UInt8(ascii: "/")] { return true }
        if other.shortenedFrom != nil { return bytes.starts(with: other.bytes.prefix(Self.reportLimit / 2)) }
        if shortenedFrom != nil, other.bytes.count > Self.reportLimit / 2 {
            return bytes.starts(with: other.bytes.prefix(Self.reportLimit / 2))
        }
        guard bytes.starts(with: other.bytes) else { return false }
        return bytes.count == other.bytes.count || bytes[other.bytes.count] == UInt8(ascii: "/")
    }
}
