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
