/// A baseline path pattern: `*` any characters within one segment, `?` one character, `**` any number of
/// whole segments (including none), `{name}` a capture of one or more characters within one segment, `\`
/// escaping a literal `*`, `?`, `{` or `\`. Matching works on bytes; dot-names are matched like any other.
///
/// This file holds the pattern's representation; parsing its source is in `PathPattern+Parsing.swift`,
/// matching in `+Matching`, the compiled program and its search in `+Program`. What a match binds
/// (`Captures`) and a path's segments (`PathSegments`) have files of their own.
public struct PathPattern: Hashable, Sendable, CustomStringConvertible {
    enum Token: Hashable, Sendable {
        case literal([UInt8])
        case star
        case question
        case capture(Int)
    }

    enum Segment: Hashable, Sendable {
        case anySegments
        case literal([UInt8])
        case glob([Token])
    }

    public let source: String
    let segments: [Segment]
    /// `segments` compiled for matching (see `Program`).
    let program: Program
    /// Capture names in order of first appearance; `Token.capture` indexes into it.
    public let captureNames: [String]

    public var description: String { source }

    private init(source: String, segments: [Segment], captureNames: [String]) {
        self.source = source
        self.segments = segments
        self.captureNames = captureNames
        program = Program(segments)
    }

    /// A copy that shares no storage with this one. Each thread of a parallel walk matches with its own,
    /// so the reference counts of shared buffers do not bounce between cores on every entry.
    func isolatedCopy() -> PathPattern {
        func copy(_ bytes: [UInt8]) -> [UInt8] { bytes.map { $0 } }
        let segments = self.segments.map { segment -> Segment in
            switch segment {
            case .anySegments: .anySegments
            case .literal(let bytes): .literal(copy(bytes))
            case .glob(let tokens):
                .glob(
                    tokens.map { token -> Token in
                        if case .literal(let bytes) = token { return .literal(copy(bytes)) }
                        return token
                    })
            }
        }
        return PathPattern(source: source, segments: segments, captureNames: captureNames.map { $0 })
    }

    /// A name the pattern's last segment matches (wildcards and captures filled with `x`), for asking
    /// whether a new entry of a directory would fall under the pattern; nil for `**`.
    public var sampleLastName: [UInt8]? {
        switch segments.last {
        case .literal(let bytes)?: return bytes
        case .glob(let tokens)?:
            var out = [UInt8]()
            for t in tokens {
                switch t {
                case .literal(let bytes): out += bytes
                case .star, .question, .capture: out.append(UInt8(ascii: "x"))
                }
            }
            return out
        default: return nil
        }
    }

    /// True when the pattern has no wildcard or capture: it names exactly one path.
    public var isLiteral: Bool {
        segments.allSatisfy { if case .literal = $0 { true } else { false } }
    }
}
