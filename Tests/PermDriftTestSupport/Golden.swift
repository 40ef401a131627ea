import Foundation
public import Testing

/// Golden files: text a test produces, compared with a file kept in the repository.
///
/// A test fails when its text differs from the file, with a `diff -u` of the two in the message. When
/// the change is intended, regenerate the files and review them in the commit:
///
///     PERMDRIFT_UPDATE_GOLDEN=1 swift test --filter GoldenTests
///
/// which writes each test's text over its file (creating it if missing) instead of comparing.
public enum Golden {
    /// Whether `PERMDRIFT_UPDATE_GOLDEN=1` asks for the files to be rewritten.
    public static var updating: Bool { ProcessInfo.processInfo.environment["PERMDRIFT_UPDATE_GOLDEN"] == "1" }

    /// Compares `actual` with the golden file at `path` (or rewrites the file when updating).
    public static func check(_ actual: String, against path: String, sourceLocation: SourceLocation = #_sourceLocation) {
        if updating {
            do {
                try FileManager.default.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent,
                    withIntermediateDirectories: true)
                try Data(actual.utf8).write(to: URL(fileURLWithPath: path))
            } catch {
                Issue.record("cannot write the golden file \(path): \(error)", sourceLocation: sourceLocation)
            }
            return
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            Issue.record("the golden file \(path) is missing; PERMDRIFT_UPDATE_GOLDEN=1 writes it", sourceLocation: sourceLocation)
            return
        }
        let expected = String(decoding: data, as: UTF8.self)
        guard actual != expected else { return }
        Issue.record(
            """
            the output differs from the golden file \(path) \
            (if the change is intended: PERMDRIFT_UPDATE_GOLDEN=1 rewrites it; review the diff):
            \(diff(expected: expected, actual: actual, label: (path as NSString).lastPathComponent))
            """, sourceLocation: sourceLocation)
    }

    /// `diff -u` of the expected and actual text (a plain line-by-line listing if diff cannot run).
    public static func diff(expected: String, actual: String, label: String) -> String {
        if let directory = try? makeTemporaryDirectory(prefix: "pd-golden") {
            defer { removeTree(directory) }
            let expectedFile = directory + "/expected", actualFile = directory + "/actual"
            if (try? Data(expected.utf8).write(to: URL(fileURLWithPath: expectedFile))) != nil,
                (try? Data(actual.utf8).write(to: URL(fileURLWithPath: actualFile))) != nil,
                let run = try? Harness.run(
                    "/usr/bin/diff",
                    [
                        "-u", "--label", "golden/\(label)", "--label", "actual",
                        expectedFile, actualFile
                    ], environment: .cLocale),
                run.status == 1
            {
                return run.stdout
            }
        }
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        var lines: [String] = []
        for i in 0..<max(e.count, a.count) {
            let x = i < e.count ? String(e[i]) : nil, y = i < a.count ? String(a[i]) : nil
            if x == y { lines.append("  \(x ?? "")"); continue }
            if let x { lines.append("- \(x)") }
            if let y { lines.append("+ \(y)") }
        }
        return lines.joined(separator: "\n")
    }
}
