import Foundation
import Glibc
import Testing

@testable import PermDriftCore

/// What keeps reports, state and the walk's memory bounded however long the paths and however wide the
/// directories an agent makes (issue 18), held without a tree: the shortened paths reports carry, the
/// names store of a directory's subdirectories, and the per-rule bound on listed findings.
struct BoundsTests {
    @Test func pathsUpToTheLimitAreExactAndLongerOnesKeepTheirEndsAndLength() {
        let exact = Array(("/" + String(repeating: "a", count: HostPath.reportLimit - 1)).utf8)
        let kept = exact.withUnsafeBufferPointer { HostPath(reporting: $0) }
        #expect(kept.bytes == exact && kept.shortenedFrom == nil)

        var long = Array("/home/ann/".utf8) + Array(repeating: UInt8(ascii: "m"), count: 5_000_000) + Array("/last-name".utf8)
        long[20] = UInt8(ascii: "H")
        let short = long.withUnsafeBufferPointer { HostPath(reporting: $0) }
        #expect(short.shortenedFrom == long.count)
        #expect(short.bytes.count == HostPath.reportLimit / 2 + 3 + HostPath.reportLimit / 2 - 1)
        #expect(short.bytes.starts(with: long.prefix(HostPath.reportLimit / 2)))
        #expect(Array(short.bytes.suffix(HostPath.reportLimit / 2 - 1)) == Array(long.suffix(HostPath.reportLimit / 2 - 1)))
        #expect(String(decoding: short.bytes, as: UTF8.self).contains("m…m"))
        #expect(short.description.hasSuffix("(a path of \(long.count) bytes, shortened to its beginning and end)"))
        // Shortening again keeps it as it is; a step's limit is smaller.
        #expect(HostPath(reporting: short) == short)
        let step = long.withUnsafeBufferPointer { HostPath(reporting: $0, limit: HostPath.stepLimit) }
        #expect(step.bytes.count == HostPath.stepLimit / 2 + 3 + HostPath.stepLimit / 2 - 1 && step.shortenedFrom == long.count)
        // Two paths with the same ends and lengths are ordered and fingerprinted by length.
        let longer = (long + [UInt8(ascii: "x")]).withUnsafeBufferPointer { HostPath(reporting: $0) }
        #expect(short < longer || longer < short)
        let a = Finding(rule: "r", severity: .high, kind: .mode, path: short, expected: "", actual: "")
        let b = Finding(rule: "r", severity: .high, kind: .mode, path: HostPath(bytes: short.bytes), expected: "", actual: "")
        #expect(a.fingerprint != b.fingerprint)
        // Whatever lies below a shortened path's beginning counts as within it (kept, not resolved).
        #expect(HostPath(bytes: long + Array("/more".utf8)).isWithin(short))
    }

    @Test func namesOfManySubdirectoriesAreKeptWholeAcrossBlocks() {
        var store = NameStore()
        var expected = [[UInt8]]()
        for i in 0..<3000 {
            // 255-byte names cross the 64 KiB blocks many times; some names are short.
            let name = Array(String(i).utf8) + Array(repeating: UInt8(ascii: "z"), count: i % 7 == 0 ? 1 : 250)
            expected.append(name)
            name.withUnsafeBytes { store.append($0) }
        }
        #expect(store.count == expected.count)
        for (i, name) in expected.enumerated() {
            store.withName(i) { cname, bytes in
                #expect(Array(bytes) == name)
                #expect(strlen(cname) == name.count)
            }
        }
        store.removeAll()
        #expect(store.count == 0)
    }

    @Test func atMostTheListedNumberOfFindingsPerRuleAreKeptTheFirstInReportOrder() {
        var collector = FindingCollector(exceptions: 0)
        let total = FindingCollector.listedPerRule * 3 + 7
        // In reverse order, as a thread that met the deepest paths first would.
        for i in (0..<total).reversed() {
            let path = HostPath(String(format: "/home/ann/f%06d", i))
            collector.append(Finding(rule: "many", severity: .low, kind: .mode, path: path, expected: "", actual: ""))
        }
        collector.append(Finding(rule: "one", severity: .high, kind: .owner, path: HostPath("/z"), expected: "", actual: ""))
        var other = FindingCollector(exceptions: 0)
        other.append(Finding(rule: "many", severity: .low, kind: .mode, path: HostPath("/a"), expected: "", actual: ""))
        collector.merge(other)
        let done = collector.finished()
        let many = done.findings.filter { $0.rule == "many" }
        #expect(many.count == FindingCollector.listedPerRule)
        #expect(many.first?.path == HostPath("/a"))
        #expect(many.last?.path == HostPath(String(format: "/home/ann/f%06d", FindingCollector.listedPerRule - 2)))
        #expect(done.omitted == ["many": total + 1 - FindingCollector.listedPerRule])
        #expect(done.findings.filter { $0.rule == "one" }.count == 1)
    }
}
