import PermDriftCore
import Testing

/// Pattern matching as BASELINE.md "Paths and patterns" fixes it.
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
        ("/x/{a}-{b}/{b}", "/x/p-q-r/p", false),
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
