/// One problem in a baseline, pointing at the offending key or value like a compiler does:
/// `baseline.yaml:12:7: error: ...`.
public struct BaselineDiagnostic: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// The message as printed: names from the baseline are escaped like every other text permdrift prints.
    public var description: String { TerminalText.escape("\(file):\(line):\(column): error: \(message)") }
}

/// A baseline that did not load. It is never enforced and never yields "no drift".
public struct BaselineLoadError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [BaselineDiagnostic]

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
