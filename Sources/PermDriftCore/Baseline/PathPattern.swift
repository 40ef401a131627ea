/// A baseline path pattern: `*` any characters within one segment, `?` one character, `**` any number of
/// whole segments (including none), `{name}` a capture of one or more characters within one segment, `\`
/// escaping a literal `*`, `?`, `{` or `\`. Matching works on bytes; dot-names are matched like any other.
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
    private let program: Program
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
                .glob(tokens.map { token -> Token in
                    if case .literal(let bytes) = token { return .literal(copy(bytes)) }
                    return token
                })
            }
        }
        return PathPattern(source: source, segments: segments, captureNames: captureNames.map { $0 })
    }

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
                throw SyntaxError(description: "pattern '\(source)' has a '\(String(decoding: part, as: UTF8.self))' segment; write the path it means")
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
                    throw SyntaxError(description: "pattern '\(source)': capture name '\(name)' must be letters, digits, '_' or '-', starting with a letter")
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
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }
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

/// What a match bound: byte ranges of the path, one per capture name (in `captureNames` order).
public struct Captures: Sendable {
    var ranges: [Range<Int>?]

    public init(count: Int) { ranges = Array(repeating: nil, count: count) }

    /// The text a capture bound in `path`.
    public func value(_ index: Int, in path: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        guard index < ranges.count, let r = ranges[index] else { return nil }
        return UnsafeBufferPointer(rebasing: path[r])
    }

    /// Which captures are bound, as a bitmask (patterns have at most 64 captures).
    var boundMask: UInt64 {
        var mask: UInt64 = 0
        for i in ranges.indices where ranges[i] != nil { mask |= 1 << UInt64(i) }
        return mask
    }

    /// Unbinds the captures bound since `mask` was taken (backtracking without copying).
    mutating func unbind(keeping mask: UInt64) {
        for i in ranges.indices where mask & (1 << UInt64(i)) == 0 && ranges[i] != nil { ranges[i] = nil }
    }
}

/// The segment boundaries of one path, computed once and shared by every pattern matched against it.
public struct PathSegments: Sendable {
    /// Start and end of each segment in the first `count` elements; the arrays only grow, so loading the
    /// next path writes in place.
    private(set) var starts: [Int] = []
    private(set) var ends: [Int] = []
    private(set) var count = 0

    public init() {}

    public init(_ path: UnsafeBufferPointer<UInt8>) { load(path) }

    public mutating func load(_ path: UnsafeBufferPointer<UInt8>) {
        let n = path.count
        // A path has at most one segment more than it has slashes (counted: a path of megabytes of few
        // names must not take eight bytes a byte).
        var most = 1
        for b in path where b == UInt8(ascii: "/") { most += 1 }
        if starts.count < most {
            starts = Array(repeating: 0, count: most)
            ends = Array(repeating: 0, count: most)
        }
        var count = 0
        starts.withUnsafeMutableBufferPointer { starts in
            ends.withUnsafeMutableBufferPointer { ends in
                var i = 0
                while i < n {
                    while i < n && path[i] == UInt8(ascii: "/") { i += 1 }
                    if i >= n { break }
                    let s = i
                    while i < n && path[i] != UInt8(ascii: "/") { i += 1 }
                    starts[count] = s
                    ends[count] = i
                    count += 1
                }
            }
        }
        self.count = count
    }

    /// Keeps the first `n` segments (a directory's, of a path below it).
    mutating func truncate(_ n: Int) { count = min(n, count) }

    /// Adds the last name of `path`, whose first `count` segments these are: the segments of an entry
    /// from its directory's in the time of its own name.
    mutating func pushLastName(of path: UnsafeBufferPointer<UInt8>) {
        var end = path.count
        while end > 0 && path[end - 1] == UInt8(ascii: "/") { end -= 1 }
        var start = end
        while start > 0 && path[start - 1] != UInt8(ascii: "/") { start -= 1 }
        guard start < end else { return }
        if starts.count > count {
            starts[count] = start
            ends[count] = end
        } else {
            starts.append(start)
            ends.append(end)
        }
        count += 1
    }
}

extension PathPattern {
    /// Matches a host path (bytes, starting with `/`). On success `captures` holds what each capture bound.
    public func match(_ path: UnsafeBufferPointer<UInt8>, captures: inout Captures) -> Bool {
        match(path, segments: PathSegments(path), captures: &captures)
    }

    /// Matches with the path's segments already computed; allocates nothing.
    public func match(_ path: UnsafeBufferPointer<UInt8>, segments: PathSegments, captures: inout Captures) -> Bool {
        if captures.ranges.count != captureNames.count { captures = Captures(count: captureNames.count) }
        for k in captures.ranges.indices { captures.ranges[k] = nil }
        return matchSegments(0, 0, path, segments, &captures)
    }

    public func matches(_ path: HostPath) -> Bool {
        var captures = Captures(count: captureNames.count)
        return path.bytes.withUnsafeBufferPointer { match($0, captures: &captures) }
    }

    /// How a pattern matches every entry of one directory.
    public enum SiblingMatch: Equatable, Sendable {
        /// Every entry of the directory, whatever its name, with the captures bound (all in the
        /// directory's part of the path).
        case all
        /// No entry of the directory, whatever its name.
        case none
        /// It depends on the entry's name.
        case byName
    }

    /// Matches `path` without looking at its last segment: whether the pattern matches every path that
    /// differs from it only in the last name (its siblings), none of them, or depends on that name. It
    /// runs the same search as `match`, and says `.byName` as soon as that search would read the last
    /// segment, so `.all` and `.none` are what `match` answers for any sibling, captures included.
    public func matchSiblings(_ path: UnsafeBufferPointer<UInt8>, segments: PathSegments, captures: inout Captures) -> SiblingMatch {
        guard segments.count > 0 else { return .byName }
        if captures.ranges.count != captureNames.count { captures = Captures(count: captureNames.count) }
        for k in captures.ranges.indices { captures.ranges[k] = nil }
        var touched = false
        let matched = withUnsafeMutablePointer(to: &touched) { flag in
            matchSegments(0, 0, path, segments, &captures, count: segments.count, opaque: segments.count - 1, touched: flag)
        }
        if touched { return .byName }
        return matched ? .all : .none
    }

    /// What the pattern says about the paths below one directory, decided from the directory's path
    /// alone (`path`, with its `segments`): `below` for every path strictly below it, at any depth, and
    /// `entries` for its own entries (one more name), as `matchSiblings` answers. `.all` carries the
    /// captures (all bound in the directory's part of the path, so they hold for every path below it);
    /// `.none` and `.all` are what `match` answers for any such path. The walk decides a directory's
    /// subtree once and hands the answer down: a pattern decided for a subtree costs nothing per entry
    /// or per directory below it, however deep.
    public func matchBelow(directory path: UnsafeBufferPointer<UInt8>, segments: PathSegments,
                           below: inout Captures, entries: inout Captures) -> (below: SiblingMatch, entries: SiblingMatch) {
        let n = segments.count
        if below.ranges.count != captureNames.count { below = Captures(count: captureNames.count) }
        for k in below.ranges.indices { below.ranges[k] = nil }
        // Every path below has more than n segments and reads as unknown from segment n on: the search
        // says `.byName` (it depends) as soon as it would read one, and never lets `**` run past n.
        var touched = false
        let matched = withUnsafeMutablePointer(to: &touched) { flag in
            matchSegments(0, 0, path, segments, &below, count: n + 1, opaque: n, touched: flag, anyDepth: true)
        }
        let subtree: SiblingMatch = touched ? .byName : matched ? .all : .none
        if entries.ranges.count != captureNames.count { entries = Captures(count: captureNames.count) }
        if subtree != .byName {
            entries.ranges = below.ranges
            return (subtree, subtree)
        }
        for k in entries.ranges.indices { entries.ranges[k] = nil }
        touched = false
        let entryMatched = withUnsafeMutablePointer(to: &touched) { flag in
            matchSegments(0, 0, path, segments, &entries, count: n + 1, opaque: n, touched: flag)
        }
        return (subtree, touched ? .byName : entryMatched ? .all : .none)
    }

    /// Runs the search over the first `count` segments (`count` may exceed `segs.count` by one: that last
    /// segment must then be `opaque`, never read). `anyDepth`: the path goes on below segment `opaque` to
    /// an unknown depth.
    private func matchSegments(_ si: Int, _ pi: Int, _ path: UnsafeBufferPointer<UInt8>,
                               _ segs: PathSegments, _ captures: inout Captures, count: Int? = nil,
                               opaque: Int = -1, touched: UnsafeMutablePointer<Bool>? = nil, anyDepth: Bool = false) -> Bool {
        let count = count ?? segs.count
        return program.steps.withUnsafeBufferPointer { steps in
            program.tokens.withUnsafeBufferPointer { tokens in
              program.fixedTail.withUnsafeBufferPointer { fixedTail in
                program.bytes.withUnsafeBufferPointer { bytes in
                    segs.starts.withUnsafeBufferPointer { allStarts in
                        segs.ends.withUnsafeBufferPointer { allEnds in
                            let real = min(count, segs.count)
                            let starts = UnsafeBufferPointer(rebasing: allStarts[0..<real])
                            let ends = UnsafeBufferPointer(rebasing: allEnds[0..<real])
                            let m = Matcher(steps: steps, tokens: tokens, fixedTail: fixedTail, bytes: bytes, path: path, starts: starts,
                                            ends: ends, count: count, opaque: opaque, touched: touched,
                                            anySegmentsLimit: anyDepth ? opaque : count)
                            return m.segments(si, pi, &captures)
                        }
                    }
                }
              }
            }
        }
    }
    static func characterLength(_ path: UnsafeBufferPointer<UInt8>, _ pos: Int, _ end: Int) -> Int {
        let b = path[pos]
        let expected = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
        guard pos + expected <= end else { return 1 }
        for k in 1..<max(expected, 1) where path[pos + k] & 0xC0 != 0x80 { return 1 }
        return expected
    }
}

extension PathPattern {
    /// The segments as plain values over one byte buffer: matching reads them through unsafe buffers and
    /// retains nothing (binding the array payloads of `Segment` and `Token` retained and released them on
    /// every entry, which was the matcher's largest cost).
    struct Program: Hashable, Sendable {
        enum Step: Hashable, Sendable {
            case anySegments
            /// `bytes[start..<start+count]`.
            case literal(start: Int, count: Int)
            /// `tokens[start..<start+count]`.
            case glob(start: Int, count: Int)
        }

        enum Piece: Hashable, Sendable {
            case literal(start: Int, count: Int)
            case star
            case question
            case capture(Int)
        }

        var steps: [Step] = []
        var tokens: [Piece] = []
        var bytes: [UInt8] = []
        /// Per step: how many steps follow it when none of them is `**` (the rest of the pattern then
        /// matches a fixed number of segments, at the end of the path), else -1.
        var fixedTail: [Int] = []

        init(_ segments: [Segment]) {
            for segment in segments {
                switch segment {
                case .anySegments:
                    steps.append(.anySegments)
                case .literal(let literal):
                    steps.append(.literal(start: bytes.count, count: literal.count))
                    bytes += literal
                case .glob(let glob):
                    steps.append(.glob(start: tokens.count, count: glob.count))
                    for token in glob {
                        switch token {
                        case .literal(let literal):
                            tokens.append(.literal(start: bytes.count, count: literal.count))
                            bytes += literal
                        case .star: tokens.append(.star)
                        case .question: tokens.append(.question)
                        case .capture(let i): tokens.append(.capture(i))
                        }
                    }
                }
            }
            var tail = 0
            fixedTail = Array(repeating: -1, count: steps.count)
            for index in steps.indices.reversed() {
                fixedTail[index] = tail
                if case .anySegments = steps[index] { tail = -1 } else if tail >= 0 { tail += 1 }
            }
        }
    }

    /// One match of a compiled pattern against one path.
    private struct Matcher {
        let steps: UnsafeBufferPointer<Program.Step>
        let tokens: UnsafeBufferPointer<Program.Piece>
        let fixedTail: UnsafeBufferPointer<Int>
        let bytes: UnsafeBufferPointer<UInt8>
        let path: UnsafeBufferPointer<UInt8>
        let starts: UnsafeBufferPointer<Int>
        let ends: UnsafeBufferPointer<Int>
        /// The path's segments: `starts.count`, or one more that is `opaque`.
        let count: Int
        /// A segment the search must not read (-1: none); reading it sets `touched` and fails that branch.
        let opaque: Int
        let touched: UnsafeMutablePointer<Bool>?
        /// The last segment a non-final `**` may stop before (`count`, or `opaque` when the path goes on
        /// to an unknown depth).
        let anySegmentsLimit: Int

        func segments(_ si: Int, _ pi: Int, _ captures: inout Captures) -> Bool {
            if si == steps.count { return pi == count }
            switch steps[si] {
            case .anySegments:
                if si == steps.count - 1 { return true }
                var p = pi
                var last = anySegmentsLimit
                // The rest of the pattern without another `**` matches a fixed number of segments at the
                // end of the path: only where it ends there can it match (any other place fails at the end
                // whatever the names), so only there is it tried; below a directory, where the path goes
                // on to an unknown depth, only the places where it reaches past the known segments.
                let k = fixedTail[si]
                if k >= 0 {
                    p = max(pi, count - k)
                    if anySegmentsLimit == count { last = count - k }
                }
                while p <= last {
                    let bound = captures.boundMask
                    if segments(si + 1, p, &captures) { return true }
                    captures.unbind(keeping: bound)
                    p += 1
                }
                return false
            case .literal(let start, let length):
                guard pi < count else { return false }
                if pi == opaque { touched?.pointee = true; return false }
                guard ends[pi] - starts[pi] == length else { return false }
                let at = starts[pi]
                var k = 0
                while k < length {
                    if path[at + k] != bytes[start + k] { return false }
                    k += 1
                }
                return segments(si + 1, pi + 1, &captures)
            case .glob(let start, let length):
                guard pi < count else { return false }
                if pi == opaque { touched?.pointee = true; return false }
                let bound = captures.boundMask
                // Every way the segment can match is tried against the rest of the pattern (a capture
                // bound here may have to match again in a later segment).
                if pieces(start, start + length, starts[pi], ends[pi], &captures, then: { c in
                    segments(si + 1, pi + 1, &c)
                }) {
                    return true
                }
                captures.unbind(keeping: bound)
                return false
            }
        }

        func pieces(_ ti: Int, _ tend: Int, _ pos: Int, _ end: Int, _ captures: inout Captures,
                    then rest: (inout Captures) -> Bool) -> Bool {
            if ti == tend { return pos == end && rest(&captures) }
            switch tokens[ti] {
            case .literal(let start, let count):
                guard end - pos >= count else { return false }
                for k in 0..<count where path[pos + k] != bytes[start + k] { return false }
                return pieces(ti + 1, tend, pos + count, end, &captures, then: rest)
            case .question:
                guard pos < end else { return false }
                // One character: a whole UTF-8 sequence when the name is valid there, else one byte.
                let length = PathPattern.characterLength(path, pos, end)
                return pieces(ti + 1, tend, pos + length, end, &captures, then: rest)
            case .star:
                var p = end
                while p >= pos {
                    if pieces(ti + 1, tend, p, end, &captures, then: rest) { return true }
                    p -= 1
                }
                return false
            case .capture(let index):
                if let bound = captures.ranges[index] {
                    let length = bound.count
                    guard end - pos >= length else { return false }
                    for k in 0..<length where path[pos + k] != path[bound.lowerBound + k] { return false }
                    return pieces(ti + 1, tend, pos + length, end, &captures, then: rest)
                }
                var p = end
                while p > pos {
                    captures.ranges[index] = pos..<p
                    if pieces(ti + 1, tend, p, end, &captures, then: rest) { return true }
                    p -= 1
                }
                captures.ranges[index] = nil
                return false
            }
        }
    }
}
