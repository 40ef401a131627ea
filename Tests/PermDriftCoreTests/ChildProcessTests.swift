import Foundation
import Testing

@testable import PermDriftCore

/// `ChildProcess.run`, the one way permdrift runs a program to its end (ssh-keygen): real programs,
/// real pipes.
struct ChildProcessTests {
    @Test func inputInOutputAndErrorOut() throws {
        let run = try ChildProcess.run(
            "/bin/sh", ["-c", "cat; echo to-stderr >&2; exit 3"], environment: [:],
            input: Array("the bytes given\n".utf8)
        ).get()
        #expect(run.status == 3)
        #expect(String(decoding: run.stdout, as: UTF8.self) == "the bytes given\n")
        #expect(String(decoding: run.stderr, as: UTF8.self) == "to-stderr\n")
    }

    /// More than a pipe holds in both directions at once: the child writes while it reads, and the
    /// parent must not wait on one pipe while the child waits on another.
    @Test func largeInputAndOutputDoNotDeadlock() throws {
        let input = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let run = try ChildProcess.run("/bin/cat", [], environment: [:], input: input, limit: 8 << 20).get()
        #expect(run.status == 0)
        #expect(run.stdout == input)
    }

    @Test func outputBeyondTheLimitIsReadAndDropped() throws {
        let run = try ChildProcess.run("/bin/sh", ["-c", "head -c 100000 /dev/zero"], environment: [:], input: [], limit: 1000).get()
        #expect(run.status == 0)
        #expect(run.stdout.count == 1000)
    }

    @Test func exactlyTheEnvironmentGiven() throws {
        let run = try ChildProcess.run("/usr/bin/env", [], environment: ["LC_ALL": "C", "PATH": "/usr/bin:/bin"], input: []).get()
        #expect(String(decoding: run.stdout, as: UTF8.self) == "LC_ALL=C\nPATH=/usr/bin:/bin\n")
    }

    /// The child gets descriptors 0, 1 and 2 only (not one this process left open without
    /// close-on-exec), no blocked signal, and SIGPIPE not ignored although this process ignores it. Each
    /// program reads its own /proc/self (not a shell's, whose mask changes while it forks).
    @Test func noInheritedDescriptorsSignalsOrMask() throws {
        let null = open("/dev/null", O_RDONLY)
        let leaked = fcntl(null, F_DUPFD, 50)  // no close-on-exec, and above anything ls opens itself
        close(null)
        defer { close(leaked) }
        #expect(leaked >= 50)
        let listing = try ChildProcess.run("/bin/ls", ["/proc/self/fd"], environment: [:], input: []).get()
        let fds = String(decoding: listing.stdout, as: UTF8.self).split(separator: "\n").compactMap { Int($0) }
        // ls's own descriptor on /proc/self/fd shows too (3); nothing of this process's beyond 0, 1, 2.
        #expect(Array(fds.prefix(3)) == [0, 1, 2] && fds.count <= 4 && !fds.contains(Int(leaked)), "\(fds), leaked \(leaked)")
        let status = try ChildProcess.run("/bin/grep", ["-E", "^Sig(Blk|Ign):", "/proc/self/status"], environment: [:], input: []).get()
        let lines = String(decoding: status.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.contains("SigBlk:\t0000000000000000"), "\(lines)")
        let ignored = try #require(lines.first { $0.hasPrefix("SigIgn:") }.flatMap { UInt64($0.dropFirst(8), radix: 16) })
        #expect(ignored & (1 << (UInt64(SIGPIPE) - 1)) == 0, "SIGPIPE ignored in the child: \(lines)")
    }

    @Test func aSignalIsReportedAs128PlusItsNumber() throws {
        let run = try ChildProcess.run("/bin/sh", ["-c", "kill -9 $$"], environment: [:], input: []).get()
        #expect(run.status == 128 + 9)
    }

    @Test func aChildThatStopsReadingEndsNothing() throws {
        let run = try ChildProcess.run("/bin/true", [], environment: [:], input: [UInt8](repeating: 1, count: 1 << 20)).get()
        #expect(run.status == 0)
    }

    @Test func aMissingProgramIsNamed() {
        switch ChildProcess.run("/nonexistent/ssh-keygen", [], environment: [:], input: []) {
        case .success(let run): Issue.record("ran: \(run.status)")
        case .failure(let error):
            #expect(error.syscall == "posix_spawn" && error.path == "/nonexistent/ssh-keygen" && error.errno == .noEntry, "\(error)")
        }
    }
}
