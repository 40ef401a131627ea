import Foundation
import Synchronization

/// This process's standard input, output and error, for the code outside `Platform/`: what the commands
/// print and read goes through here (unbuffered, in the order it is written).
public enum StandardStreams {
    /// Writes `text` to standard output. A write that fails (a full disk, a closed descriptor) is
    /// remembered in `outputFailure` rather than ending the process, so that the command can say what
    /// was lost and exit 2; the first failure is kept.
    public static func writeOutput(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Syscalls.write(.standardOutput, UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            switch written {
            case .success(let n) where n > 0: offset += n
            case .success: return
            case .failure(let e):
                firstOutputFailure.withLock { if $0 == nil { $0 = e } }
                return
            }
        }
    }

    /// Why something written to standard output was lost, if it was.
    public static var outputFailure: Errno? { firstOutputFailure.withLock { $0 } }

    private static let firstOutputFailure = Mutex<Errno?>(nil)

    /// Writes `text` to standard error.
    public static func writeError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Writes `text` to standard error with one `write` call and no Foundation in between: for a process
    /// that ends at once afterwards (`CurrentProcess.exitImmediately`).
    static func writeErrorDirectly(_ text: String) {
        FileDescriptor.standardError.writeOnce(Array(text.utf8))
    }

    /// Reads standard input to its end.
    public static func readInputToEnd() -> [UInt8] {
        [UInt8](FileHandle.standardInput.readDataToEndOfFile())
    }

    /// Whether standard input is a terminal (a person could answer a question).
    public static var inputIsTerminal: Bool { FileDescriptor.standardInput.isTerminal }

    /// Reads one line of standard input (without its newline), at most 1024 bytes; nil at its end.
    public static func readInputLine() -> String? {
        var line = [UInt8]()
        var byte: UInt8 = 0
        while line.count < 1024 {
            let n = withUnsafeMutableBytes(of: &byte) { Syscalls.read(.standardInput, into: $0) }
            guard case .success(1) = n else { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        return String(decoding: line, as: UTF8.self)
    }

    /// Whether standard error is a terminal.
    public static var errorIsTerminal: Bool { FileDescriptor.standardError.isTerminal }
}
