/// Calls `body` with `bytes` as a NUL-terminated C string: a path that need not be UTF-8.
public func withCPath<R, E: Error>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws(E) -> R) throws(E) -> R {
    let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
    defer { pointer.deallocate() }
    for (i, byte) in bytes.enumerated() { pointer[i] = CChar(bitPattern: byte) }
    pointer[bytes.count] = 0
    return try body(pointer)
}

/// A seeded generator, so a failing order or tree reproduces from its seed.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
