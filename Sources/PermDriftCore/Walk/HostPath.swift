/// An absolute path as it stands on the scanned host (with `--root DIR`, `/` means DIR), kept as the
/// kernel's bytes: names are attacker-controlled and need not be valid UTF-8.
public struct HostPath: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public init(_ string: String) { bytes = Array(string.utf8) }

    public init(_ buffer: UnsafeBufferPointer<UInt8>) { bytes = Array(buffer) }

    public static func < (a: HostPath, b: HostPath) -> Bool {
        a.bytes.lexicographicallyPrecedes(b.bytes)
    }

    /// The path for people: control characters, bidi overrides and invalid UTF-8 escaped C-style.
    public var description: String { TerminalText.escape(bytes) }

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

    /// True when `self` is `other` or lies below it.
    public func isWithin(_ other: HostPath) -> Bool {
        if other.bytes == [UInt8(ascii: "/")] { return true }
        guard bytes.starts(with: other.bytes) else { return false }
        return bytes.count == other.bytes.count || bytes[other.bytes.count] == UInt8(ascii: "/")
    }
}
