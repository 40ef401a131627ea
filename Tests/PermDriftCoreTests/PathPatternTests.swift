import PermDriftCore
import Testing

/// Pattern matching as docs/baseline.md "Paths and patterns" fixes it.
struct PathPatternTests {
    static let cases: [(String, String, Bool)] = [
        ("/home/*", "/home/ann", true),
        ("/home/*", "/home/ann/x", false),
        ("/home/*", "/home", false),
        ("/home/*/t1.jsonl", "/home/ann/transcripts/t1.jsonl", false),
        ("/home/**", "/home", true),
        ("/home/**", "/home/ann/a/b/c", true),
        ("/home/ann/transcripts/**", "/home/ann/transcripts", true),
        ("/home/**/t1.jsonl", "/home/t1.jsonl", true),
        ("/home/**/t1.jsonl", "/home/a/b/t1.jsonl", true),
        ("/home/**/t1.jsonl", "/home/a/b/t2.jsonl", false),
        ("/home/*/.env", "/home/ann/.env", true),
        ("/home/*", "/home/.hidden", true),
        ("/home/ann/t?.jsonl", "/home/ann/t1.jsonl", true),
        ("/home/ann/t?.jsonl", "/home/ann/t10.jsonl", false),
        ("/home/ann/t?.md", "/home/ann/té.md", true),
        ("/a/\\*", "/a/*", true),
        ("/a/\\*", "/a/b", false),
        ("/a/\\{x}", "/a/{x}", true),
        ("/a/x}", "/a/x}", true),
        ("/home/{a}", "/home/ann", true),
        ("/home/{a}/{a}.md", "/home/ann/ann.md", true),
        ("/home/{a}/{a}.md", "/home/bob/ann.md", false),
        ("/home/{a}.d", "/home/.d", false),
        ("/", "/", true),
        ("/", "/home", false),
        ("/**", "/anything/at/all", true),
        ("/x/{a}-{b}/{b}", "/x/p-q-r/q-r", true),
        ("/x/{a}-{b}/{b}", "/x/p-q-r/r", true),
        ("/x/{a}-{b}/{b}", "/x/p-q-r/p", false)
    ]

    @Test(arguments: cases)
    func matching(pattern: String, path: String, expected: Bool) throws {
        #expect(try PathPattern(pattern).matches(HostPath(path)) == expected, "\(pattern) vs \(path)")
    }

    @Test func capturesBindWholeSegmentsOrParts() throws {
        let pattern = try PathPattern("/home/{agent}/{agent}-{n}.md")
        var captures = Captures(count: 0)
        let path = HostPath("/home/ann/ann-42.md")
        let matched = path.bytes.withUnsafeBufferPointer { pattern.match($0, captures: &captures) }
        #expect(matched)
        #expect(pattern.captureNames == ["agent", "n"])
        path.bytes.withUnsafeBufferPointer { p in
            #expect(captures.value(0, in: p).map { String(decoding: $0, as: UTF8.self) } == "ann")
            #expect(captures.value(1, in: p).map { String(decoding: $0, as: UTF8.self) } == "42")
        }
    }

    @Test func namesThatAreNotUTF8StillMatchByBytes() throws {
        let path = HostPath(bytes: Array("/home/ann/".utf8) + [0xFF, 0x0A])
        #expect(try PathPattern("/home/ann/*").matches(path))
        #expect(try PathPattern("/home/ann/??").matches(path))
    }

    @Test(arguments: ["home/*", "/a//b", "/a/**b", "/a/{", "/a/{}", "/a/{1x}", "/a/../b", "/a/./b", "/a\\", "/a/b\\/c"])
    func badPatternsAreRejected(pattern: String) {
        #expect(throws: PathPattern.SyntaxError.self) { try PathPattern(pattern) }
    }
}

/// `matchSiblings` decides once per directory what `match` would answer for every entry of it. Held
/// against `match` itself on many names, captures included.
struct SiblingMatchTests {
    static let patterns = [
        "/home/{agent}", "/home/{agent}/transcripts/**", "/home/{agent}/**", "/home/**", "/srv/shared-memory/**",
        "/home/*/t?.jsonl", "/home/**/t1.jsonl", "/home/{a}/{a}.md", "/x/{a}-{b}/{b}", "/", "/**", "/home/*/.env",
        "/home/ann/transcripts/**", "/home/**/cache/**", "/home/{a}/**/{a}", "/home/*"
    ]
    static let directories = [
        "/", "/home", "/home/ann", "/home/ann/transcripts", "/home/ann/transcripts/2026", "/home/ann/ws/a/b",
        "/srv", "/srv/shared-memory", "/srv/shared-memory/x", "/x/p-q-r", "/home/ann/cache", "/home/ann/cache/z"
    ]
    static let names = ["ann", "bob", "transcripts", "t1.jsonl", "t10.jsonl", "ann.md", "cache", ".env", "q-r", "r", "x", "é"]

    @Test(arguments: patterns)
    func siblingsAnswerAsMatchDoes(source: String) throws {
        let pattern = try PathPattern(source)
        // One captures buffer and one segments buffer for everything, as the evaluator reuses its own:
        // what a decision left bound must not leak into the next.
        var planned = Captures(count: pattern.captureNames.count)
        var deciding = PathSegments()
        for directory in Self.directories {
            for decidingName in Self.names {
                let decidingPath = Array((directory == "/" ? "/" + decidingName : directory + "/" + decidingName).utf8)
                let decided = decidingPath.withUnsafeBufferPointer { p in
                    deciding.load(p)
                    return pattern.matchSiblings(p, segments: deciding, captures: &planned)
                }
                for name in Self.names {
                    let path = Array((directory == "/" ? "/" + name : directory + "/" + name).utf8)
                    path.withUnsafeBufferPointer { p in
                        let segments = PathSegments(p)
                        var matchCaptures = Captures(count: 0)
                        let matched = pattern.match(p, segments: segments, captures: &matchCaptures)
                        switch decided {
                        case .all:
                            #expect(matched, "\(source): \(directory)/\(name) should match, as its siblings do")
                            for i in pattern.captureNames.indices {
                                #expect(
                                    planned.value(i, in: p).map(Array.init) == matchCaptures.value(i, in: p).map(Array.init),
                                    "\(source): capture \(i) of \(directory)/\(name)")
                            }
                        case .none:
                            #expect(!matched, "\(source): \(directory)/\(name) should not match, as its siblings do not")
                        case .byName:
                            break
                        }
                    }
                }
            }
        }
    }

    @Test func mostDirectoriesAreDecidedOnceAndNamesDecideTheRest() throws {
        func decide(_ source: String, _ path: String) throws -> PathPattern.SiblingMatch {
            let pattern = try PathPattern(source)
            var captures = Captures(count: 0)
            return Array(path.utf8).withUnsafeBufferPointer { pattern.matchSiblings($0, segments: PathSegments($0), captures: &captures) }
        }
        #expect(try decide("/home/{agent}/transcripts/**", "/home/ann/transcripts/t1.jsonl") == .all)
        #expect(try decide("/home/{agent}/transcripts/**", "/home/ann/ws/a/f") == .none)
        #expect(try decide("/home/{agent}/transcripts/**", "/home/ann/transcripts") == .byName)
        #expect(try decide("/home/{agent}/**", "/home/ann/ws/f") == .all)
        #expect(try decide("/home/{agent}", "/home/ann") == .byName)
        #expect(try decide("/home/{agent}", "/home/ann/ws") == .none)
        #expect(try decide("/srv/shared-memory/**", "/home/ann/f") == .none)
        #expect(try decide("/home/*/t?.jsonl", "/home/ann/t1.jsonl") == .byName)
        #expect(try decide("/", "/home") == .none)
        #expect(try decide("/home/**", "/") == .byName)
    }
}

/// `matchBelow` decides once per directory what `match` would answer for every path below it (at any
/// depth) and for its own entries. Held against `match` on paths one, two and three names below every
/// directory, captures included: the walk hands these decisions down a chain of any depth without
/// matching again.
struct SubtreeMatchTests {
    static let names = ["ann", "transcripts", "t1.jsonl", "ann.md", "cache", "x", "q-r"]

    static func below(_ directory: String) -> [String] {
        let base = directory == "/" ? "" : directory
        var out = [String]()
        for a in names {
            out.append("\(base)/\(a)")
            for b in names {
                out.append("\(base)/\(a)/\(b)")
                for c in ["t1.jsonl", "ann.md", "x"] { out.append("\(base)/\(a)/\(b)/\(c)") }
            }
        }
        return out
    }

    @Test(arguments: SiblingMatchTests.patterns + ["/home/*/x/*", "/**/x", "/home/**/**", "/home/{a}/{a}/**"])
    func subtreesAnswerAsMatchDoes(source: String) throws {
        let pattern = try PathPattern(source)
        var below = Captures(count: 0)
        var entries = Captures(count: 0)
        var segments = PathSegments()
        for directory in SiblingMatchTests.directories + ["/home/ann/ann", "/x", "/home/ann/x"] {
            let dir = Array(directory.utf8)
            let decided = dir.withUnsafeBufferPointer { d in
                segments.load(d)
                return pattern.matchBelow(directory: d, segments: segments, below: &below, entries: &entries)
            }
            // The entries' answer is matchSiblings' own.
            let deciding = Array((directory == "/" ? "/x" : directory + "/x").utf8)
            var siblingCaptures = Captures(count: 0)
            let sibling = deciding.withUnsafeBufferPointer {
                pattern.matchSiblings($0, segments: PathSegments($0), captures: &siblingCaptures)
            }
            #expect(decided.entries == sibling, "\(source) at \(directory): entries \(decided.entries), matchSiblings \(sibling)")
            if decided.below != .byName { #expect(decided.entries == decided.below, "\(source) at \(directory)") }
            for path in Self.below(directory) {
                let bytes = Array(path.utf8)
                bytes.withUnsafeBufferPointer { p in
                    var captures = Captures(count: 0)
                    let matched = pattern.match(p, captures: &captures)
                    switch decided.below {
                    case .all:
                        #expect(matched, "\(source): \(path) should match, as everything below \(directory) does")
                        for i in pattern.captureNames.indices {
                            #expect(
                                below.value(i, in: p).map(Array.init) == captures.value(i, in: p).map(Array.init),
                                "\(source): capture \(i) of \(path)")
                        }
                    case .none:
                        #expect(!matched, "\(source): \(path) should not match, as nothing below \(directory) does")
                    case .byName:
                        break
                    }
                }
            }
        }
    }

    @Test func subtreesAreDecidedWhereThePatternStopsLookingAtNames() throws {
        func decide(_ source: String, _ directory: String) throws -> PathPattern.SiblingMatch {
            let pattern = try PathPattern(source)
            var below = Captures(count: 0), entries = Captures(count: 0)
            return Array(directory.utf8).withUnsafeBufferPointer {
                pattern.matchBelow(directory: $0, segments: PathSegments($0), below: &below, entries: &entries).below
            }
        }
        #expect(try decide("/home/{agent}/transcripts/**", "/home/ann/transcripts") == .all)
        #expect(try decide("/home/{agent}/transcripts/**", "/home/ann") == .byName)
        #expect(try decide("/home/{agent}/transcripts/**", "/home/ann/ws") == .none)
        #expect(try decide("/home/{agent}/**", "/home/ann") == .all)
        #expect(try decide("/home/{agent}", "/home/ann") == .none)
        #expect(try decide("/home/{agent}", "/home") == .byName)
        #expect(try decide("/srv/shared-memory/**", "/home") == .none)
        #expect(try decide("/home/**", "/") == .byName)
        #expect(try decide("/home/**", "/home") == .all)
        // `**` followed by more: the names below always matter.
        #expect(try decide("/home/**/cache/**", "/home/ann/ws/a/b") == .byName)
        #expect(try decide("/home/*/t?.jsonl", "/home/ann") == .byName)
        #expect(try decide("/home/*/t?.jsonl", "/home/ann/ws") == .none)
    }
}
