/// Matching a pattern against paths: one whole path (`match`), every entry of one directory
/// (`matchSiblings`), every path below one directory (`matchBelow`).
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
    public func matchBelow(
        directory path: UnsafeBufferPointer<UInt8>, segments: PathSegments,
        below: inout Captures, entries: inout Captures
    ) -> (below: SiblingMatch, entries: SiblingMatch) {
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
}
