/// The scan's courier: `permdrift notify --after-scan`, started by the scan worker before it sandboxes
/// itself (delivery needs the network and files the sandbox closes). It waits on its standard input for
/// `goAhead`, which the scan writes once its alerts are recorded; anything else (the scan ended at its
/// deadline or on an error) means there is nothing new, and it delivers what earlier runs left.
public struct Courier: Sendable {
    /// What the scan writes on the courier's standard input when its alerts are recorded.
    public static let goAhead = "go\n"

    let child: ChildProcess

    /// Why the courier could not be started.
    public enum StartFailure: Error, CustomStringConvertible {
        case noExecutable
        case spawn(SystemCallError)

        public var description: String {
            switch self {
            case .noExecutable: "cannot find the running executable (/proc/self/exe) to start the delivery"
            case .spawn(let e): "cannot start the delivery: \(e)"
            }
        }
    }

    /// Starts `permdrift notify` with `arguments` (after `notify --after-scan`). The delivery needs no
    /// capability: the scan's CAP_DAC_READ_SEARCH is not passed on (the ambient set is what a program
    /// started by a non-root account would inherit).
    public static func start(_ arguments: [String]) -> Result<Courier, StartFailure> {
        guard let executable = ChildProcess.currentExecutable() else { return .failure(.noExecutable) }
        ChildProcess.clearAmbientCapabilities()
        switch ChildProcess.spawnItself(executable, ["notify", "--after-scan"] + arguments) {
        case .success(let child): return .success(Courier(child: child))
        case .failure(let e): return .failure(.spawn(e))
        }
    }

    /// Tells the courier the alerts are recorded and waits for it: its exit status (0: all delivered).
    public func goAndWait() -> Int32 {
        child.send(Self.goAhead)
        return child.wait()
    }

    /// In the courier: reads standard input to its end; true when the scan said `goAhead`.
    public static func awaitGoAhead() -> Bool {
        StandardStreams.readInputToEnd() == Array(goAhead.utf8)
    }
}
