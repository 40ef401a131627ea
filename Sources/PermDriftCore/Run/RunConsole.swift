import Foundation

/// Where a run's messages and its standard-output report go. The commands use `standard`: messages on
/// standard error, and under systemd (`JOURNAL_STREAM` set) each line carries a syslog priority prefix
/// (`<3>` error, `<4>` warning, `<6>` info) so journald files it at the right level. Tests pass their
/// own and read what was said.
public struct RunConsole: Sendable {
    public enum Priority: Int, Sendable {
        case error = 3, warning = 4, info = 6
    }

    private let message: @Sendable (Priority, String) -> Void
    private let output: @Sendable (String) -> Void

    public init(messages: @escaping @Sendable (Priority, String) -> Void, output: @escaping @Sendable (String) -> Void) {
        self.message = messages
        self.output = output
    }

    /// Whether this process runs under systemd with its standard error going to the journal.
    public static let journal = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil

    /// Standard error and standard output; info only under systemd (on a terminal the report says it).
    public static let standard = RunConsole(
        messages: { priority, text in
            if priority == .info && !journal { return }
            var lines = ""
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
                lines += (journal ? "<\(priority.rawValue)>" : "") + line + "\n"
            }
            StandardStreams.writeError(lines)
        },
        output: { StandardStreams.writeOutput($0) })

    public func error(_ text: String) { message(.error, text) }
    public func warning(_ text: String) { message(.warning, text) }
    public func info(_ text: String) { message(.info, text) }

    /// Writes a report to standard output.
    public func report(_ text: String) { output(text) }
}

/// The run ends with this exit status (`ExitStatus`); what went wrong has been said on the console.
public struct RunExit: Error, Sendable, Equatable {
    public let status: Int32
    public init(_ status: Int32) { self.status = status }
}

/// The documented exit codes.
public enum ExitStatus {
    public static let clean: Int32 = 0
    public static let drift: Int32 = 1
    public static let untrusted: Int32 = 2
    public static let usage: Int32 = 64
    public static let locked: Int32 = 75
}
