import Foundation

/// This process's standard input, output and error, for the code outside `Platform/`: what the commands
/// print and read goes through here (unbuffered, in the order it is written).
public enum StandardStreams {
    /// Writes `text` to standard output.
    public static func writeOutput(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

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

    /// Whether standard error is a terminal.
    public static var errorIsTerminal: Bool { FileDescriptor.standardError.isTerminal }
}
