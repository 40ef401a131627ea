import Foundation
import PermDriftCore

/// A console for library runs under test: keeps every message and report instead of printing them.
final class RunConsoleRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [(RunConsole.Priority, String)] = []
    private var reports: [String] = []

    var console: RunConsole {
        RunConsole(
            messages: { [self] priority, text in lock.withLock { messages.append((priority, text)) } },
            output: { [self] text in lock.withLock { reports.append(text) } })
    }

    /// The messages said at `priority` (all of them when nil).
    func said(_ priority: RunConsole.Priority? = nil) -> [String] {
        lock.withLock { messages.filter { priority == nil || $0.0 == priority }.map(\.1) }
    }

    var reported: [String] { lock.withLock { reports } }
}
