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
