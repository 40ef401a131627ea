/// The names of a directory's subdirectories, remembered while the directory is listed and entered one
/// by one afterwards: each name with a terminating NUL, in blocks of at most 64 KiB. A directory with a
/// million subdirectories of 255-byte names takes what its names take (256 MiB), not twice that, as one
/// buffer grown by doubling would at its last copy; and a block starts small (it grows within its 64
/// KiB), so the many directories a deep walk holds open, each with a name or two left, take little.
struct NameStore {
    private static let blockSize = 64 * 1024
    private var blocks: [[UInt8]] = []
    /// Where each name starts: its block times `blockSize`, plus its offset in the block.
    private var starts: [Int] = []

    var count: Int { starts.count }

    mutating func append(_ name: UnsafeRawBufferPointer) {
        let needed = name.count + 1
        if blocks.isEmpty || blocks[blocks.count - 1].count + needed > Self.blockSize {
            var block = [UInt8]()
            block.reserveCapacity(Swift.max(blocks.isEmpty ? 512 : Self.blockSize, needed))
            blocks.append(block)
        }
        let b = blocks.count - 1
        starts.append(b * Self.blockSize + blocks[b].count)
        blocks[b].append(contentsOf: name)
        blocks[b].append(0)
    }

    /// Calls `body` with name `i` as a NUL-terminated C string and as bytes (without the NUL).
    func withName<R>(_ i: Int, _ body: (UnsafePointer<CChar>, UnsafeBufferPointer<UInt8>) -> R) -> R {
        let start = starts[i]
        let b = start / Self.blockSize, offset = start % Self.blockSize
        return blocks[b].withUnsafeBufferPointer { block in
            var end = offset
            while block[end] != 0 { end += 1 }
            let bytes = UnsafeBufferPointer(rebasing: block[offset..<end])
            let cname = UnsafeRawPointer(block.baseAddress! + offset).assumingMemoryBound(to: CChar.self)
            return body(cname, bytes)
        }
    }

    mutating func removeAll() {
        blocks = []
        starts = []
    }
}
