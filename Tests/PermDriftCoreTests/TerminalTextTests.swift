import Foundation
import PermDriftTestSupport
import Testing

@testable import PermDriftCore

// MARK: - Helpers

/// Undoes `TerminalText.escape`: `\\`, `\n`, `\t`, `\r`, `\xHH` (one byte) and `\uHHHH` (one scalar).
/// Returns nil when the text is not something `escape` could have written.
private func unescape(_ text: String) -> [UInt8]? {
    var out = [UInt8]()
    let scalars = Array(text.unicodeScalars)
    func hex(_ range: Range<Int>) -> UInt32? {
        guard range.upperBound <= scalars.count else { return nil }
        let digits = String(String.UnicodeScalarView(scalars[range]))
        guard digits.allSatisfy({ $0.isHexDigit && ($0.isNumber || $0.isLowercase) }) else { return nil }
        return UInt32(digits, radix: 16)
    }
    var i = 0
    while i < scalars.count {
        let s = scalars[i]
        guard s == "\\" else {
            out.append(contentsOf: Array(String(s).utf8))
            i += 1
            continue
        }
        guard i + 1 < scalars.count else { return nil }
        switch scalars[i + 1] {
        case "\\": out.append(0x5C); i += 2
        case "n": out.append(0x0A); i += 2
        case "t": out.append(0x09); i += 2
        case "r": out.append(0x0D); i += 2
        case "x":
            guard let v = hex(i + 2..<i + 4) else { return nil }
            out.append(UInt8(v)); i += 4
        case "u":
            guard let v = hex(i + 2..<i + 6), let scalar = Unicode.Scalar(v) else { return nil }
            out.append(contentsOf: Array(String(scalar).utf8)); i += 6
        default:
            return nil
        }
    }
    return out
}

/// Scalars that must never reach a terminal raw: C0, DEL, C1, bidi controls and invisible formatters.
private func isDangerous(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x00...0x1F, 0x7F...0x9F, 0x061C, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2069, 0xFEFF,
        0xFFF9...0xFFFB:
        return true
    default:
        return false
    }
}

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

// MARK: - TerminalText

@Suite("TerminalText.escape")
struct TerminalTextTests {
    static let cases: [(String, [UInt8], String)] = [
        ("newline", bytes("a\nb"), #"a\nb"#),
        ("tab", bytes("a\tb"), #"a\tb"#),
        ("carriage return", bytes("a\rb"), #"a\rb"#),
        ("NUL", [0x61, 0x00, 0x62], #"a\x00b"#),
        ("bell", [0x07], #"\x07"#),
        ("ESC [2J clears the screen", [0x1B] + bytes("[2J"), #"\x1b[2J"#),
        ("OSC title sequence", [0x1B] + bytes("]0;pwned") + [0x07], #"\x1b]0;pwned\x07"#),
        ("DEL", [0x7F], #"\x7f"#),
        ("unit separator", [0x1F], #"\x1f"#),
        ("lone byte 0x9B (8-bit CSI) is invalid UTF-8", [0x9B] + bytes("2J"), #"\x9b2J"#),
        ("U+009B CSI encoded in UTF-8", [0xC2, 0x9B] + bytes("2J"), #"\u009b2J"#),
        ("U+0085 NEL", [0xC2, 0x85], #"\u0085"#),
        ("U+0080", [0xC2, 0x80], #"\u0080"#),
        ("U+009F", [0xC2, 0x9F], #"\u009f"#),
        ("U+202E right-to-left override", bytes("evil\u{202E}txt.exe"), #"evil\u202etxt.exe"#),
        (
            "U+202A..U+202D embeddings and overrides", bytes("\u{202A}\u{202B}\u{202C}\u{202D}"),
            #"\u202a\u202b\u202c\u202d"#
        ),
        ("U+2066..U+2069 isolates", bytes("\u{2066}\u{2067}\u{2068}\u{2069}"), #"\u2066\u2067\u2068\u2069"#),
        ("U+200E/U+200F marks and U+061C", bytes("\u{200E}\u{200F}\u{061C}"), #"\u200e\u200f\u061c"#),
        ("zero width space and BOM", bytes("a\u{200B}b\u{FEFF}"), #"a\u200bb\ufeff"#),
        ("line and paragraph separators", bytes("\u{2028}\u{2029}"), #"\u2028\u2029"#),
        ("backslash is doubled", bytes(#"back\slash"#), #"back\\slash"#),
        ("an escape written out is not an escape", bytes(#"\x1b"#), #"\\x1b"#),
        ("overlong '/' (C0 AF)", [0xC0, 0xAF], #"\xc0\xaf"#),
        ("overlong NUL (C0 80)", [0xC0, 0x80], #"\xc0\x80"#),
        ("overlong three-byte '/' (E0 80 AF)", [0xE0, 0x80, 0xAF], #"\xe0\x80\xaf"#),
        ("overlong four-byte (F0 80 80 AF)", [0xF0, 0x80, 0x80, 0xAF], #"\xf0\x80\x80\xaf"#),
        ("UTF-16 surrogate D800 (ED A0 80)", [0xED, 0xA0, 0x80], #"\xed\xa0\x80"#),
        ("UTF-16 surrogate DFFF (ED BF BF)", [0xED, 0xBF, 0xBF], #"\xed\xbf\xbf"#),
        ("above U+10FFFF (F4 90 80 80)", [0xF4, 0x90, 0x80, 0x80], #"\xf4\x90\x80\x80"#),
        ("F5 lead byte", [0xF5, 0x80, 0x80, 0x80], #"\xf5\x80\x80\x80"#),
        ("FE and FF", [0xFE, 0xFF], #"\xfe\xff"#),
        ("lone continuation byte", bytes("a") + [0x80] + bytes("b"), #"a\x80b"#),
        ("truncated two-byte sequence at the end", bytes("caf") + [0xC3], #"caf\xc3"#),
        ("truncated three-byte sequence at the end", [0xE6, 0x97], #"\xe6\x97"#),
        ("truncated four-byte sequence at the end", [0xF0, 0x9F, 0x98], #"\xf0\x9f\x98"#),
        ("truncated sequence followed by ASCII", [0xE6, 0x97] + bytes("x"), #"\xe6\x97x"#),
        ("truncated sequence followed by a valid one", [0xE6] + bytes("é"), #"\xe6é"#),
        ("plain ASCII", bytes("report-2024_01.txt"), "report-2024_01.txt"),
        ("é precomposed", bytes("caf\u{E9}"), "caf\u{E9}"),
        ("é decomposed", bytes("cafe\u{301}"), "cafe\u{301}"),
        ("CJK", bytes("日本"), "日本"),
        ("emoji", bytes("🦀"), "🦀"),
        ("U+00A0 and U+00FF are printable", bytes("\u{A0}\u{FF}"), "\u{A0}\u{FF}"),
        ("empty", [], "")
    ]

    @Test("escapes", arguments: cases)
    func escape(name: String, input: [UInt8], expected: String) {
        let escaped = TerminalText.escape(input)
        #expect(escaped == expected, "\(name)")
        // Compare scalars too: String equality would let a decomposed é equal a precomposed one.
        #expect(Array(escaped.unicodeScalars) == Array(expected.unicodeScalars), "\(name)")
        #expect(unescape(escaped) == input, "\(name)")
    }

    @Test("the String overload escapes the same way as the bytes")
    func stringOverload() {
        for (_, input, expected) in Self.cases {
            guard let string = String(validating: input, as: UTF8.self) else { continue }
            #expect(TerminalText.escape(string) == expected)
        }
    }

    @Test("every single byte escapes to something safe that decodes back", arguments: 0...255)
    func singleByte(value: Int) {
        let input = [UInt8(value)]
        let escaped = TerminalText.escape(input)
        #expect(!escaped.utf8.contains { $0 < 0x20 || $0 == 0x7F })
        #expect(!escaped.unicodeScalars.contains(where: isDangerous))
        #expect(unescape(escaped) == input)
        // Printable ASCII other than the backslash is left alone; everything else is escaped.
        if (0x20..<0x7F).contains(value) && value != 0x5C {
            #expect(escaped == String(UnicodeScalar(UInt8(value))))
        } else {
            #expect(escaped.hasPrefix("\\"))
        }
    }

    @Test("dangerous scalars are escaped as \\uXXXX, their neighbours are not")
    func everyDangerousScalar() {
        let ranges: [ClosedRange<UInt32>] = [
            0x80...0x9F, 0xAD...0xAD, 0x061C...0x061C, 0x180E...0x180E, 0x200B...0x200F,
            0x2028...0x202E, 0x2060...0x206F, 0xFEFF...0xFEFF, 0xFFF9...0xFFFB,
            0xE0000...0xE007F
        ]
        for range in ranges {
            for v in range {
                let scalar = Unicode.Scalar(v)!
                let hex = String(v, radix: 16)
                let expected =
                    v > 0xFFFF
                    ? "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
                    : "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                #expect(TerminalText.escape(String(scalar)) == expected)
            }
        }
        for v: UInt32 in [
            0xA0, 0xAC, 0xAE, 0x061B, 0x061D, 0x180D, 0x180F, 0x200A, 0x2010, 0x2027, 0x202F, 0x205F, 0x2070,
            0xFEFE, 0xFFF8, 0xFFFC, 0xE0080
        ] {
            let s = String(Unicode.Scalar(v)!)
            #expect(TerminalText.escape(s) == s, "U+\(String(v, radix: 16))")
        }
    }

    @Test("random bytes: nothing below 0x20, no DEL, no C1 or bidi scalar, and the escape is reversible")
    func randomBytes() {
        var rng = SplitMix64(seed: 0x7E57_7E47)
        // Bytes weighted towards the interesting ones: controls, C1, lead bytes and continuations.
        let interesting: [UInt8] = [
            0x00, 0x07, 0x09, 0x0A, 0x0D, 0x1B, 0x5C, 0x7F, 0x80, 0x85, 0x9B, 0xA0, 0xAE,
            0xBF, 0xC0, 0xC2, 0xE0, 0xE2, 0x80, 0xED, 0xF0, 0xF4, 0xF5, 0xFF
        ]
        for _ in 0..<5000 {
            let length = Int.random(in: 0...24, using: &rng)
            let input: [UInt8] = (0..<length).map { _ in
                Bool.random(using: &rng) ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            let escaped = TerminalText.escape(input)
            #expect(!escaped.utf8.contains { $0 < 0x20 || $0 == 0x7F }, "\(input)")
            #expect(!escaped.unicodeScalars.contains(where: isDangerous), "\(input)")
            #expect(unescape(escaped) == input, "\(input)")
        }
        // Random valid UTF-8 that includes the dangerous scalars.
        for _ in 0..<2000 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...12, using: &rng) {
                let v: UInt32 =
                    switch Int.random(in: 0..<4, using: &rng) {
                    case 0: UInt32.random(in: 0...0xFF, using: &rng)
                    case 1: UInt32.random(in: 0x2000...0x206F, using: &rng)
                    case 2: UInt32.random(in: 0xFEF0...0xFFFF, using: &rng)
                    default: UInt32.random(in: 0...0x10FFFF, using: &rng)
                    }
                if let scalar = Unicode.Scalar(v) { s.append(scalar) }
            }
            let input = Array(String(s).utf8)
            let escaped = TerminalText.escape(input)
            #expect(!escaped.utf8.contains { $0 < 0x20 || $0 == 0x7F })
            #expect(!escaped.unicodeScalars.contains(where: isDangerous))
            #expect(unescape(escaped) == input)
        }
    }

    @Test("HostPath's description is the escaped path")
    func hostPathDescription() {
        var path = Array("/home/agent/".utf8)
        path += [0x1B, 0x5B, 0x32, 0x4A, 0x0A, 0xFF]
        #expect(HostPath(bytes: path).description == #"/home/agent/\x1b[2J\n\xff"#)
    }
}

// MARK: - JSONValue

private func jsonString(_ s: String) -> String {
    JSONValue.string(s).serialized()
}

/// Parses `text` with Foundation and returns the value of key "v".
private func foundationValue(_ text: String) throws -> Any? {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    return (object as? [String: Any])?["v"]
}

@Suite("JSONValue strings")
struct JSONValueStringTests {
    @Test(
        "escapes",
        arguments: [
            ("plain", "plain", #""plain""#),
            ("quote and backslash", #"a"b\c"#, #""a\"b\\c""#),
            ("newline, CR, tab", "a\nb\rc\td", #""a\nb\rc\td""#),
            ("NUL", "\u{0}", #""\u0000""#),
            ("ESC", "\u{1B}[2J", #""\u001b[2J""#),
            ("DEL", "\u{7F}", #""\u007f""#),
            ("C1 CSI", "\u{9B}", #""\u009b""#),
            ("é", "caf\u{E9}", #""caf\u00e9""#),
            ("é decomposed", "cafe\u{301}", #""cafe\u0301""#),
            ("CJK", "日本", #""\u65e5\u672c""#),
            ("bidi override", "\u{202E}", #""\u202e""#),
            ("line separator", "\u{2028}", #""\u2028""#),
            ("emoji as a surrogate pair", "😀", #""\ud83d\ude00""#),
            ("last scalar", "\u{10FFFF}", #""\udbff\udfff""#),
            ("replacement character", "\u{FFFD}", #""\ufffd""#),
            ("slash is left alone", "a/b", #""a/b""#)
        ])
    func escapes(name: String, input: String, expected: String) {
        #expect(jsonString(input) == expected + "\n", "\(name)")
    }

    static let roundTripStrings: [String] = [
        "", "plain", #"a"b\c"#, "a\nb\rc\td", "\u{0}\u{1}\u{1F}\u{7F}", "\u{1B}[2J", "\u{9B}\u{85}",
        "caf\u{E9}", "cafe\u{301}", "日本", "evil\u{202E}txt", "😀🦀", "\u{10FFFF}", "\u{FEFF}", "/home/a b/c",
        String((1...0x7F).map { Character(Unicode.Scalar(UInt8($0))) })
    ]

    @Test("serialization is pure ASCII and round-trips through JSONSerialization", arguments: roundTripStrings)
    func roundTrip(input: String) throws {
        let text = JSONValue.object([("v", .string(input))]).serialized()
        #expect(text.utf8.allSatisfy { $0 < 0x80 })
        // The only control character left is the layout's own newline.
        #expect(!text.utf8.contains { ($0 < 0x20 && $0 != 0x0A) || $0 == 0x7F })
        let value = try #require(try foundationValue(text) as? String)
        #expect(Array(value.unicodeScalars) == Array(input.unicodeScalars))
    }

    @Test("random scalars round-trip through JSONSerialization")
    func randomRoundTrip() throws {
        var rng = SplitMix64(seed: 0x150_A5C11)
        for _ in 0..<500 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...16, using: &rng) {
                let v: UInt32 =
                    Bool.random(using: &rng)
                    ? UInt32.random(in: 0...0xFF, using: &rng) : UInt32.random(in: 0...0x10FFFF, using: &rng)
                if let s = Unicode.Scalar(v) { scalars.append(s) }
            }
            let input = String(scalars)
            let text = JSONValue.object([("v", .string(input))]).serialized()
            #expect(text.utf8.allSatisfy { $0 < 0x80 })
            let value = try #require(try foundationValue(text) as? String)
            #expect(Array(value.unicodeScalars) == Array(input.unicodeScalars))
        }
    }

    @Test("objects keep their key order; keys are escaped like values; the document ends in a newline")
    func documentShape() throws {
        let doc = JSONValue.object([
            ("zeta", .int(1)),
            ("alpha", .array([.bool(true), .null, .string("x")])),
            ("k\u{1B}\"", .object([])),
            ("n", .int(Int64.min)),
            ("empty", .array([]))
        ])
        let text = doc.serialized()
        #expect(
            text == """
                {
                  "zeta": 1,
                  "alpha": [
                    true,
                    null,
                    "x"
                  ],
                  "k\\u001b\\"": {},
                  "n": -9223372036854775808,
                  "empty": []
                }

                """)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(parsed["k\u{1B}\""] is [String: Any])
        #expect((parsed["alpha"] as? [Any])?.count == 3)
    }

    @Test("equality is equality of the serialized text")
    func equality() {
        #expect(JSONValue.string("a") == .string("a"))
        #expect(JSONValue.string("a") != .string("b"))
        #expect(JSONValue.object([("a", .int(1)), ("b", .int(2))]) != .object([("b", .int(2)), ("a", .int(1))]))
        #expect(JSONValue.string(nil as String?) == .null)
    }

    @Test("a path that is valid UTF-8 is exact; one that is not also carries its bytes in base64")
    func pathFields() throws {
        let valid = JSONValue.pathFields(HostPath("/home/a\u{202E}b"))
        #expect(valid.count == 1)
        #expect(valid.first?.0 == "path")
        #expect(valid.first?.1 == .string("/home/a\u{202E}b"))

        let raw: [UInt8] = Array("/home/x".utf8) + [0xFF, 0x0A, 0xC0, 0xAF]
        let invalid = JSONValue.pathFields(HostPath(bytes: raw))
        #expect(invalid.map(\.0) == ["path", "path_b64"])
        #expect(invalid.first?.1 == .string("/home/x\u{FFFD}\n\u{FFFD}\u{FFFD}"))
        guard case .string(let b64)? = invalid.last?.1 else {
            Issue.record("path_b64 is not a string"); return
        }
        #expect(Data(base64Encoded: b64).map(Array.init) == raw)
        let text = JSONValue.object(invalid).serialized()
        #expect(text.utf8.allSatisfy { $0 < 0x80 })
    }
}
