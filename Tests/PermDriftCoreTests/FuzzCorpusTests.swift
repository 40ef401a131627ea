import Foundation
import Testing

@testable import PermDriftCore

/// Replays the fuzzers' corpus (fuzz/corpus, grown by scripts/fuzz) with the same checks as the fuzz
/// targets, so every input that ever reached new code stays a regression test.
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz/corpus")

    static func inputs(_ name: String) throws -> [(String, [UInt8])] {
        let dir = corpus.appendingPathComponent(name)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        return try files.map { ($0, Array(try Data(contentsOf: dir.appendingPathComponent($0)))) }
    }

    @Test func theBaselineCorpusLoadsOrFailsWithPositions() throws {
        let accounts = AccountDatabase(
            passwd: "root:x:0:0::/root:/bin/sh\nann:x:1001:1001::/home/ann:/bin/sh\n",
            group: "root:x:0:\nann:x:1001:\nagents:x:2000:ann\n")
        let inputs = try Self.inputs("baseline")
        #expect(inputs.count >= 2)
        var loaded = 0
        for (name, bytes) in inputs {
            do {
                _ = try BaselineLoader(accounts: accounts).load(bytes, file: "fuzz.yaml")
                loaded += 1
            } catch {
                #expect(!error.diagnostics.isEmpty, "\(name)")
                for d in error.diagnostics { #expect(d.line >= 1 && d.column >= 1, "\(name): \(d)") }
                #expect(!error.description.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(name)")
            }
        }
        #expect(loaded >= 1, "the seeds include valid baselines")
    }

    @Test func theEscapeCorpusNeverLeavesAControlCharacter() throws {
        for (name, bytes) in try Self.inputs("escape") {
            let text = TerminalText.escape(bytes)
            for scalar in text.unicodeScalars {
                #expect(scalar.value >= 0x20 && scalar.value != 0x7F && !(0x80...0x9F).contains(scalar.value), "\(name)")
                #expect(!(0x202A...0x202E).contains(scalar.value) && !(0x2066...0x2069).contains(scalar.value), "\(name)")
            }
        }
    }

    @Test func theACLCorpusDecodesOrIsRefused() throws {
        var decoded = 0
        for (_, bytes) in try Self.inputs("acl") {
            if (try? bytes.withUnsafeBytes { try PosixACL(xattr: $0) }) != nil { decoded += 1 }
        }
        #expect(decoded >= 2, "the seeds include well-formed ACLs")
    }
}
