import CPermDrift
import Glibc
import PermDriftCore
import Testing

/// The process model's shared vocabulary: the worker's report bytes (written by Swift and by the C
/// watchdog) and the one decoder of `waitpid` statuses.
struct ProcessModelTests {
    @Test func theWorkerReportsAreTheBytesTheSupervisorReads() {
        #expect(WorkerReport.scanRecorded.byte == UInt8(ascii: "d"))
        #expect(WorkerReport.ledgerRecorded.byte == UInt8(ascii: "r"))
        #expect(WorkerReport.deadlinePassed.byte == UInt8(ascii: "w"))
        for report in WorkerReport.allCases { #expect(WorkerReport(byte: report.byte) == report) }
        #expect(WorkerReport(byte: 0) == nil && WorkerReport(byte: UInt8(ascii: "g")) == nil)
    }

    @Test(arguments: [(Int32(0), Int32(0), Int32?.none), (1 << 8, 1, nil), (75 << 8, 75, nil), (9, 137, 9), (15 | 0x80, 143, 15)])
    func waitStatusesDecode(raw: Int32, status: Int32, signal: Int32?) {
        let decoded = WaitStatus(raw: raw)
        #expect(decoded.status == status && decoded.signal == signal)
    }

    @Test func aChildIsWaitedForThroughTheDecoder() throws {
        let exited = ChildProcess.run("/bin/sh", ["-c", "exit 3"], environment: [:], input: [])
        #expect(try exited.get().status == 3)
        let killed = ChildProcess.run("/bin/sh", ["-c", "kill -TERM $$"], environment: [:], input: [])
        #expect(try killed.get().status == 128 + SIGTERM)
        #expect(WaitStatus.wait(for: 999_999_999) == .unknown, "no such child: unknown, never success")
    }
}
