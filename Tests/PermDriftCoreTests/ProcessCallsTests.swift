import Foundation
import Glibc
import PermDriftTestSupport
import Testing

@testable import PermDriftCore

/// The Platform wrappers the process model stands on (`Syscalls+Process.swift`, `PathStatus`,
/// `Environment`): what they promise the code outside Platform/.
struct ProcessCallsTests {
    @Test func aPipeIsClosedOnExecAndCarriesBytes() throws {
        let pipe = try Syscalls.makePipe().get()
        defer { pipe.read.close(); pipe.write.close() }
        for end in [pipe.read, pipe.write] { #expect(fcntl(end.rawValue, F_GETFD) & FD_CLOEXEC != 0) }
        #expect(pipe.read.isPipe && !pipe.read.isTerminal)
        #expect(try Syscalls.pollReady([(pipe.read, .readable)], milliseconds: 0).get() == [false])
        pipe.write.writeOnce(Array("go\n".utf8))
        #expect(try Syscalls.pollReady([(nil, .readable), (pipe.read, .readable)], milliseconds: 0).get() == [false, true])
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = try buffer.withUnsafeMutableBytes { try pipe.read.readSome(into: $0).get() }
        #expect(Array(buffer[..<n]) == Array("go\n".utf8))
    }

    @Test func aFullNonBlockingPipeWouldBlock() throws {
        let pipe = try Syscalls.makePipe().get()
        defer { pipe.read.close(); pipe.write.close() }
        pipe.write.setNonBlocking()
        let chunk = [UInt8](repeating: 7, count: 65536)
        var result: Result<Int, Errno> = .success(0)
        for _ in 0..<64 {
            result = chunk.withUnsafeBytes { pipe.write.writeSome($0) }
            if case .failure = result { break }
        }
        #expect(throws: Errno.wouldBlock) { try result.get() }
        #expect(try Syscalls.pollReady([(pipe.write, .writable)], milliseconds: 0).get() == [false])
        // At its end: the reader sees 0 once the writer is closed and the pipe drained.
        pipe.write.close()
        var drained = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while case .success(let n) = buffer.withUnsafeMutableBytes({ pipe.read.readSome(into: $0) }), n > 0 { drained += n }
        #expect(drained > 0 && drained % 65536 == 0)
    }

    @Test func waitingForNoChildFails() {
        #expect(throws: Errno(ECHILD)) { try Syscalls.waitForChild(999_999_999, block: true).get() }
    }

    @Test func aPathIsDescribedNotFollowed() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-status")
        defer { removeTree(dir) }
        try AtomicFile.write("x", to: dir + "/file", mode: 0o640)
        #expect(symlink(dir + "/nowhere", dir + "/dangling") == 0)
        #expect(try PathStatus.of(dir).get().kind == .directory)
        #expect(try PathStatus.of(dir + "/file").get() == PathStatus(kind: .regularFile, permissions: 0o640))
        #expect(try PathStatus.of(dir + "/dangling").get().kind == .symlink)
        #expect(throws: Errno.noEntry) { try PathStatus.of(dir + "/missing").get() }
        #expect(PathStatus.somethingIsAt(dir + "/dangling"), "a dangling symlink is something")
        #expect(!PathStatus.somethingIsAt(dir + "/missing"))
        #expect(PathStatus.somethingIsAt(dir + "/file/below"), "ENOTDIR is not 'nothing there'")
        #expect(HostFiles.remove(dir + "/file") && !HostFiles.remove(dir + "/file"))
    }

    @Test func theEnvironmentIsTheCLibrarys() {
        let key = "PERMDRIFT_TEST_ENVIRONMENT_\(CurrentProcess.id)"
        #expect(Environment.value(key) == nil)
        setenv(key, "one=two", 1)
        #expect(Environment.value(key) == "one=two")
        #expect(Environment.entries().contains("\(key)=one=two"))
        Environment.remove(key)
        #expect(Environment.value(key) == nil && getenv(key) == nil)
    }
}
