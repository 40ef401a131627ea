import Foundation
import PermDriftTestSupport
import Testing

/// Output that cannot be written is not a result: a command whose standard output fails (a full disk,
/// here /dev/full) says so and exits 2, instead of crashing (the old `FileHandle` write trapped: exit 132)
/// or ending as if its report had been read (`print` ignored the error).
@Suite(.enabled(if: Harness.isRoot, "needs root: reads / with explain"))
struct OutputFailureTests {
    /// Runs `permdrift ARGS > /dev/full` through the shell.
    static func toFullDisk(_ arguments: [String]) throws -> Harness.Run {
        try Harness.run("/bin/sh", ["-c", "exec \"$0\" \"$@\" > /dev/full", Harness.binary] + arguments)
    }

    @Test(
        "a report lost to a full disk exits 2 and says what was lost",
        arguments: [
            ["explain", "/"],
            ["explain", "--format", "json", "/"],
            ["baseline", "init", "--roots", "/etc/apt"]
        ])
    func aLostReportIsExitTwo(arguments: [String]) throws {
        let run = try Self.toFullDisk(arguments)
        #expect(run.status == 2, "\(arguments): \(run.stderr)")
        #expect(
            run.stderr.contains(
                "permdrift: standard output could not be written (ENOSPC (No space left on device)); what it should have shown is lost"),
            "\(run.stderr)")
        #expect(!run.stderr.contains("Fatal error"), "\(run.stderr)")
    }

    @Test func theSameCommandWithAWritableOutputExitsZero() throws {
        let run = try Harness.permdrift(["explain", "/"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stdout.isEmpty)
    }
}
