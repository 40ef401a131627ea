import Glibc

/// A fresh directory `/tmp/PREFIX.XXXXXX` from `mkdtemp(3)` (mode 0700); the caller removes it,
/// with `removeTree` when a test may have left entries it cannot remove by hand.
public func makeTemporaryDirectory(prefix: String) throws(HarnessError) -> String {
    var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    guard made != nil else { throw HarnessError("mkdtemp /tmp/\(prefix).XXXXXX: \(String(cString: strerror(errno)))") }
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Removes a temporary tree whatever its modes, owners and names: `chmod -R u+rwx` (for a test that
/// took its own access away), then `rm -rf`, as the test's user. Only under /tmp.
public func removeTree(_ path: String) {
    precondition(path.hasPrefix("/tmp/") && path.count > "/tmp/".count, "refusing to remove \(path)")
    _ = try? Harness.run("/bin/chmod", ["-R", "u+rwx", "--", path], environment: .cLocale)
    _ = try? Harness.run("/bin/rm", ["-rf", "--", path], environment: .cLocale)
}
