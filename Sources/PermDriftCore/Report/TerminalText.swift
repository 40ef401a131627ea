/// Makes attacker-controlled names safe to print: control characters, DEL, C1 controls, bidi and other
/// invisible formatting characters and invalid UTF-8 are escaped C-style (`\n`, `\x1b`, `\u202e`), and a
/// backslash is doubled so the escaped form is unambiguous.
public enum TerminalText {
    public static func escape(_ bytes: some Collection<UInt8>) -> String {
        let bytes = Array(bytes)
        var out = ""
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let (scalar, length) = UTF8Scanner.scalar(in: bytes, at: i)
            if let scalar {
                appendScalar(scalar, to: &out)
            } else {
                out += hexByte(bytes[i])
            }
            i += length
        }
        return out
    }

    public static func escape(_ string: String) -> String { escape(Array(string.utf8)) }

    /// Characters that must not reach a terminal raw.
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) { return true }
        switch v {
        case 0x00AD, 0x061C, 0x180E, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x206F, 0xFEFF, 0xFFF9...0xFFFB,
            0xE0000...0xE007F:
            return true
        default: return false
        }
    }

    static func appendScalar(_ scalar: Unicode.Scalar, to out: inout String) {
        switch scalar {
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        case "\\": out += "\\\\"
        default:
            if needsEscape(scalar) {
                out += scalar.value < 0x80 ? hexByte(UInt8(scalar.value)) : unicodeEscape(scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }

    static func hexByte(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "\\x" + String(digits[Int(b >> 4)]) + String(digits[Int(b & 15)])
    }

    /// `\u202e`, or `\U000e0001` beyond the Basic Multilingual Plane.
    static func unicodeEscape(_ v: UInt32) -> String {
        let hex = String(v, radix: 16)
        if v > 0xFFFF { return "\\U" + String(repeating: "0", count: max(0, 8 - hex.count)) + hex }
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}

/// Strict UTF-8 decoding one scalar at a time (no overlongs, no surrogates, nothing above U+10FFFF).
enum UTF8Scanner {
    /// The scalar starting at `i` and its length in bytes, or `nil` and 1 when the byte at `i` does not
    /// start a valid sequence.
    static func scalar(in bytes: [UInt8], at i: Int) -> (Unicode.Scalar?, Int) {
        let b0 = bytes[i]
        if b0 < 0x80 { return (Unicode.Scalar(b0), 1) }
        func cont(_ k: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> UInt32? {
            guard i + k < bytes.count, range.contains(bytes[i + k]) else { return nil }
            return UInt32(bytes[i + k] & 0x3F)
        }
        switch b0 {
        case 0xC2...0xDF:
            guard let c1 = cont(1) else { return (nil, 1) }
            return (Unicode.Scalar((UInt32(b0 & 0x1F) << 6) | c1), 2)
        case 0xE0...0xEF:
            let first: ClosedRange<UInt8> = b0 == 0xE0 ? 0xA0...0xBF : (b0 == 0xED ? 0x80...0x9F : 0x80...0xBF)
            guard let c1 = cont(1, first), let c2 = cont(2) else { return (nil, 1) }
            return (Unicode.Scalar((UInt32(b0 & 0x0F) << 12) | (c1 << 6) | c2), 3)
        case 0xF0...0xF4:
            let first: ClosedRange<UInt8> = b0 == 0xF0 ? 0x90...0xBF : (b0 == 0xF4 ? 0x80...0x8F : 0x80...0xBF)
            guard let c1 = cont(1, first), let c2 = cont(2), let c3 = cont(3) else { return (nil, 1) }
            return (Unicode.Scalar((UInt32(b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3), 4)
        default:
            return (nil, 1)
        }
    }

    static func isValid(_ bytes: [UInt8]) -> Bool {
        var i = 0
        while i < bytes.count {
            let (s, n) = scalar(in: bytes, at: i)
            if s == nil { return false }
            i += n
        }
        return true
    }
}
