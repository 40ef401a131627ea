import Foundation
import PermDriftCore
import PermDriftTestSupport
import Testing

/// A visitor for the parallel walk: records paths and the most descriptors the process held into the tree.
private struct CountingVisitor: ParallelWalkVisitor {
    var visited: [String: Int] = [:]
    var errors: [WalkError] = []
    var skipped: [SkippedMount] = []
    var maxOpenDescriptors = 0
    let countDescriptorsUnder: String

    init(countDescriptorsUnder: String) { self.countDescriptorsUnder = countDescriptorsUnder }

    func makeWorker() -> CountingVisitor { CountingVisitor(countDescriptorsUnder: countDescriptorsUnder) }

    mutating func merge(_ other: CountingVisitor) {
        visited.merge(other.visited) { $0 + $1 }
        errors += other.errors
        skipped += other.skipped
        maxOpenDescriptors = max(maxOpenDescriptors, other.maxOpenDescriptors)
    }

    func isExcluded(_ path: UnsafeBufferPointer<UInt8>, in directory: DirectoryContext?) -> Bool { false }
    mutating func visitAncestor(_ entry: WalkEntry) {}
    mutating func rootContext() {}

    mutating func visit(_ entry: WalkEntry, in parent: Void) -> Void? {
        visited[String(decoding: entry.path, as: UTF8.self), default: 0] += 1
        if entry.record.type == .directory, visited.count % 7 == 0 {
            // Every thread counts what the whole process holds into the tree.
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
            let mine = fds.filter { fd in
                ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd)) ?? "")
                    .hasPrefix(countDescriptorsUnder)
            }
            maxOpenDescriptors = max(maxOpenDescriptors, mine.count)
        }
        return ()
    }

    mutating func record(_ error: WalkError) { errors.append(error) }
    mutating func skip(_ mount: SkippedMount) { skipped.append(mount) }
}

@Suite("The parallel walk")
struct ParallelWalkTests {
    /// 12 chains 150 directories deep, files along the way: the threads hand directories to each other
    /// and release and reopen parents through `..`.
    static func wideAndDeep() throws -> (root: String, entries: Int) {
        let root = try makeTemporaryDirectory(prefix: "pd-walk")
        var entries = 1
        try FileManager.default.createDirectory(atPath: root + "/top", withIntermediateDirectories: true)
        for chain in 0..<12 {
            var dir = root + "/top/c\(chain)"
            for depth in 0..<150 {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
                entries += 1
                if depth % 10 == 0 {
                    #expect(FileManager.default.createFile(atPath: dir + "/f", contents: nil))
                    entries += 1
                }
                dir += "/d"
            }
        }
        return (root, entries)
    }

    @Test(arguments: [2, 3, 4])
    func everyEntryOnceWithinTheDescriptorBound(threads: Int) throws {
        let (root, entries) = try Self.wideAndDeep()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var visitor = CountingVisitor(countDescriptorsUnder: root)
        let budget = 8
        var walker = Walker(rootDirectory: root, options: .init(maxOpenDirectories: budget, threads: threads))
        try walker.walk(roots: [HostPath("/top")], visitor: &visitor)
        #expect(visitor.errors.isEmpty, "\(visitor.errors.prefix(3))")
        #expect(visitor.visited.count == entries)
        #expect(visitor.visited.values.allSatisfy { $0 == 1 }, "an entry was visited twice")
        #expect(walker.entriesVisited == entries)
        // Handing over needs another thread idle while one still walks: a matter of scheduling, so a
        // busy machine gets a few more walks to show it rather than a verdict on one.
        var handedOver = walker.directoriesHandedOver
        for _ in 0..<4 where handedOver == 0 {
            var again = CountingVisitor(countDescriptorsUnder: root)
            var retry = Walker(rootDirectory: root, options: .init(maxOpenDirectories: budget, threads: threads))
            try retry.walk(roots: [HostPath("/top")], visitor: &again)
            handedOver = retry.directoriesHandedOver
        }
        #expect(handedOver >= 1, "the threads shared no work in five walks")
        // Each thread holds its share of the budget (at least 2) plus the directory it is opening and one
        // it is handing over; at most one handed directory waits per thread; the walk of the root holds
        // the root directory and one ancestor.
        let share = max(2, budget / threads)
        let bound = threads * (share + 2) + threads + 2
        #expect(visitor.maxOpenDescriptors <= bound, "held \(visitor.maxOpenDescriptors) descriptors, bound \(bound)")
        #expect(visitor.maxOpenDescriptors >= 2, "the count must see the walk's own descriptors")
    }

    @Test func manyRootsAndNestedRootsOnManyThreads() throws {
        let (root, _) = try Self.wideAndDeep()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Roots inside other roots are walked once, as roots of their own.
        let roots = [HostPath("/top")] + (0..<12).map { HostPath("/top/c\($0)/d/d") }
        var single = CountingVisitor(countDescriptorsUnder: root)
        var singleWalker = Walker(rootDirectory: root, options: .init(threads: 1))
        try singleWalker.walk(roots: roots, visitor: &single)
        var parallel = CountingVisitor(countDescriptorsUnder: root)
        var parallelWalker = Walker(rootDirectory: root, options: .init(threads: 4))
        try parallelWalker.walk(roots: roots, visitor: &parallel)
        #expect(parallel.visited == single.visited)
        #expect(parallel.visited.values.allSatisfy { $0 == 1 })
        #expect(parallelWalker.entriesVisited == singleWalker.entriesVisited)
    }
}
