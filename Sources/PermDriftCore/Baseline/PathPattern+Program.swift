/// The pattern compiled for matching (`Program`, its segments as plain values over one byte buffer) and
/// the search that runs it over a path's segments (`Matcher`), backtracking over `**`, `*` and captures.
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

    /// Runs the search over the first `count` segments (`count` may exceed `segs.count` by one: that last
    /// segment must then be `opaque`, never read). `anyDepth`: the path goes on below segment `opaque` to
    /// an unknown depth.
    func matchSegments(
        _ si: Int, _ pi: Int, _ path: UnsafeBufferPointer<UInt8>,
        _ segs: PathSegments, _ captures: inout Captures, count: Int? = nil,
        opaque: Int = -1, touched: UnsafeMutablePointer<Bool>? = nil, anyDepth: Bool = false
    ) -> Bool {
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
                                let m = Matcher(
                                    steps: steps, tokens: tokens, fixedTail: fixedTail, bytes: bytes, path: path, starts: starts,
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
                if pieces(
                    start, start + length, starts[pi], ends[pi], &captures,
                    then: { c in
                        segments(si + 1, pi + 1, &c)
                    })
                {
                    return true
                }
                captures.unbind(keeping: bound)
                return false
            }
        }

        func pieces(
            _ ti: Int, _ tend: Int, _ pos: Int, _ end: Int, _ captures: inout Captures,
            then rest: (inout Captures) -> Bool
        ) -> Bool {
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
