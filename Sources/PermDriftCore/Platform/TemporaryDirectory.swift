import Foundation
import Glibc

/// A private directory of this process's in /tmp, for files a program it runs reads by path.
struct TemporaryDirectory {
    let path: String

    /// Creates a directory `/tmp/PREFIX.XXXXXX` (mode 0700).
    static func create(prefix: String) throws(SystemCallError) -> TemporaryDirectory {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw SystemCallError("mkdtemp", path: "/tmp", errno: .current)
        }
        return TemporaryDirectory(path: String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// Writes `bytes` to a new file `name` in it with `permissions`; false when it could not.
    func createFile(_ name: String, contents bytes: [UInt8], permissions: Int) -> Bool {
        FileManager.default.createFile(atPath: path + "/" + name, contents: Data(bytes), attributes: [.posixPermissions: permissions])
    }

    /// Removes it and everything in it, as far as it can.
    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
