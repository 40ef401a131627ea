/// What a supervised worker tells its supervisor, one byte per event, on the pipe that is the worker's
/// descriptor 3 (see `Supervisor`). The bytes are defined once, in CPermDrift.h (`Watchdog` names them), because the C watchdog
/// writes one of them (`deadlinePassed`) from its own thread.
public enum WorkerReport: Sendable, CaseIterable, Equatable {
    /// The scan is recorded: all but the alert delivery is done, and the supervisor's own watchdog is
    /// disarmed (what remains has bounds of its own). Written by `Deadline.disarm()`.
    case scanRecorded
    /// The state directory holds this run's result: a deadline that passes after this leaves nothing
    /// unrecorded. Written by `Supervisor.ledgerRecorded()`.
    case ledgerRecorded
    /// The worker's watchdog ended the run at the deadline. Written by the C watchdog (watchdog.c).
    case deadlinePassed

    /// The byte on the pipe.
    public var byte: UInt8 {
        switch self {
        case .scanRecorded: Watchdog.scanRecordedByte
        case .ledgerRecorded: Watchdog.ledgerRecordedByte
        case .deadlinePassed: Watchdog.deadlinePassedByte
        }
    }

    /// The report a byte read from the pipe stands for; nil for any other byte (it is ignored).
    public init?(byte: UInt8) {
        guard let report = Self.allCases.first(where: { $0.byte == byte }) else { return nil }
        self = report
    }
}
