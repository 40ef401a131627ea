import CPermDrift
import Glibc

/// An open file descriptor. The code outside `Platform/` holds descriptors only as this type and
/// closes them with `closeAfter` (or `close()` where a descriptor outlives a scope, as the walk's
/// frames do), so no path through a function leaks one.
public struct FileDescriptor: Hashable, Sendable, CustomStringConvertible {
    /// The kernel's number for it.
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let standardInput = FileDescriptor(rawValue: 0)
    public static let standardOutput = FileDescriptor(rawValue: 1)
    public static let standardError = FileDescriptor(rawValue: 2)
    /// The current directory, for the `*at` calls.
    public static let currentDirectory = FileDescriptor(rawValue: AT_FDCWD)

    public var description: String { "fd \(rawValue)" }

    /// Closes it. Linux releases the descriptor even when close reports EINTR, so it is never retried.
    public func close() {
        Syscalls.close(self)
    }

    /// Runs `body` with this descriptor and closes it afterwards, however `body` ends.
    public func closeAfter<R, E: Error>(_ body: (FileDescriptor) throws(E) -> R) throws(E) -> R {
        defer { close() }
        return try body(self)
    }
}

extension Result where Success == FileDescriptor {
    /// Runs `body` with the opened descriptor and closes it afterwards; a failure to open is passed on.
    func closeAfter<R>(_ body: (FileDescriptor) -> Result<R, Failure>) -> Result<R, Failure> {
        flatMap { fd in fd.closeAfter { body($0) } }
    }
}
