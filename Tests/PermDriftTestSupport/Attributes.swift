import Foundation

/// The raw value of an extended attribute of `path` (not following a final symlink), through
/// lgetxattr(2), which Swift's Glibc module does not export (it lacks <sys/xattr.h>), so it is looked up
/// in the C library at run time. Nil when the entry has no such attribute.
public func rawAttribute(_ path: String, _ name: String) -> [UInt8]? {
    typealias LGetXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int
    guard let symbol = dlsym(nil, "lgetxattr") else { return nil }
    let lgetxattr = unsafeBitCast(symbol, to: LGetXattr.self)
    var buffer = [UInt8](repeating: 0, count: 65536)
    let n = buffer.withUnsafeMutableBytes { lgetxattr(path, name, $0.baseAddress, $0.count) }
    return n >= 0 ? Array(buffer[0..<n]) : nil
}
