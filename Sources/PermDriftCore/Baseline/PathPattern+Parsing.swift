/// Parsing a pattern's source: split on unescaped slashes, each segment `**`, a literal or a glob of
/// tokens, captures numbered in order of first appearance; a malformed pattern is a `SyntaxError`.
extension PathPattern {
    public struct SyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
        public let description: String
    }

    public init(_ source: String) throws(SyntaxError) {
        self.source = source
        guard source.hasPrefix("/") else {
            throw SyntaxError(description: "pattern '\(source)' is not absolute (paths start with /)")
        }
        var names = [String]()
        var segments = [Segment]()
        let bytes = Array(source.utf8)
        var parts: [[UInt8]] = [[]]
        // Split on unescaped slashes.
        var i = 1
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\\"), i + 1 < bytes.count {
                parts[parts.count - 1].append(b); parts[parts.count - 1].append(bytes[i + 1]); i += 2; continue
            }
            if b == UInt8(ascii: "/") { parts.append([]) } else { parts[parts.count - 1].append(b) }
            i += 1
        }
        if parts == [[]] { parts = [] }  // the pattern "/"
        if parts.count > 1, parts.last == [] { parts.removeLast() }  // a trailing slash
        for part in parts {
            if part.isEmpty { throw SyntaxError(description: "pattern '\(source)' has an empty segment (//)") }
            if part == Array("**".utf8) { segments.append(.anySegments); continue }
            if part == [UInt8(ascii: ".")] || part == Array("..".utf8) {
                throw SyntaxError(
                    description: "pattern '\(source)' has a '\(String(decoding: part, as: UTF8.self))' segment; write the path it means")
            }
            let tokens = try Self.tokens(part, source: source, names: &names)
            if tokens.count == 1, case .literal(let lit) = tokens[0] {
                segments.append(.literal(lit))
            } else {
                segments.append(.glob(tokens))
            }
        }
        guard names.count <= 64 else { throw SyntaxError(description: "pattern '\(source)' has more than 64 captures") }
        self.segments = segments
        captureNames = names
        program = Program(segments)
    }

    private static func tokens(_ part: [UInt8], source: String, names: inout [String]) throws(SyntaxError) -> [Token] {
        var tokens = [Token]()
        var literal = [UInt8]()
        func flush() { if !literal.isEmpty { tokens.append(.literal(literal)); literal = [] } }
        var i = 0
        while i < part.count {
            let b = part[i]
            switch b {
            case UInt8(ascii: "\\"):
                guard i + 1 < part.count else { throw SyntaxError(description: "pattern '\(source)' ends with a lone backslash") }
                guard part[i + 1] != UInt8(ascii: "/") else {
                    throw SyntaxError(description: "pattern '\(source)' escapes a '/', which no name can contain")
                }
                literal.append(part[i + 1]); i += 2; continue
            case UInt8(ascii: "*"):
                if i + 1 < part.count, part[i + 1] == UInt8(ascii: "*") {
                    throw SyntaxError(description: "pattern '\(source)': '**' must be a whole segment (/**/)")
                }
                flush(); tokens.append(.star)
            case UInt8(ascii: "?"):
                flush(); tokens.append(.question)
            case UInt8(ascii: "{"):
                guard let close = part[(i + 1)...].firstIndex(of: UInt8(ascii: "}")) else {
                    throw SyntaxError(description: "pattern '\(source)' has '{' without a closing '}'")
                }
                let name = String(decoding: part[(i + 1)..<close], as: UTF8.self)
                guard Self.isCaptureName(name) else {
                    throw SyntaxError(
                        description:
                            "pattern '\(source)': capture name '\(name)' must be letters, digits, '_' or '-', starting with a letter")
                }
                flush()
                if let index = names.firstIndex(of: name) {
                    tokens.append(.capture(index))
                } else {
                    names.append(name); tokens.append(.capture(names.count - 1))
                }
                i = close + 1; continue
            default:
                literal.append(b)
            }
            i += 1
        }
        flush()
        return tokens
    }

    static func isCaptureName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.properties.isAlphabetic, first.isASCII else { return false }
        return name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
        }
    }
}
