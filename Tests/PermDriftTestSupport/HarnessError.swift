/// What a helper throws when the test's own set-up failed (a tool could not run, a file could not be
/// made): the message says what and why.
public struct HarnessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
