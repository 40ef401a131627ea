/// One step of how a user gets a right: the ACL entry that decides it on one path, e.g.
/// `user:agent-b:r-x on /home/agent-a`, or `replace via group:agents:rwx on /srv/shared-memory (not sticky)`.
public struct AccessStep: Sendable, Equatable {
    /// The deciding entry in getfacl's form, with any prefix (`replace via`, `default:`).
    public let entry: String
    public let path: HostPath
    /// What follows the path, such as ` (not sticky)`.
    public let note: String

    public init(entry: String, path: HostPath, note: String = "") {
        self.entry = entry
        self.path = path
        self.note = note
    }

    /// Exact, for JSON (which escapes it); a path that is not UTF-8 appears with U+FFFD.
    public var plainText: String { "\(entry) on \(path.lossyString)\(note)" }

    /// Safe on a terminal: the path and names escaped once.
    public var terminalText: String { "\(TerminalText.escape(entry)) on \(path)\(TerminalText.escape(note))" }
}
