import Foundation
import Glibc
import PermDriftCore
import PermDriftTestSupport
import Testing

/// The run's trust rules, reached through the library: a signed baseline's serial never goes down
/// (replay), anything at the default baseline path is the baseline (never silently the built-in one),
/// and the command line's flags resolve over the configuration.
struct RunTrustTests {
    static let accounts = AccountDatabase(passwd: "root:x:0:0::/root:/bin/sh\n", group: "root:x:0:\nagents:x:33000:\n", root: "ROOT")

    static func baseline(serial: Int?, source: String = "/etc/permdrift/baseline.yaml") throws -> Baseline {
        let text = "version: 1\nname: t\n" + (serial.map { "serial: \($0)\n" } ?? "") + "scan:\n  roots: [/home]\n"
        return try BaselineLoader(accounts: accounts).load(Array(text.utf8), file: source)
    }

    static func write(_ text: String, to path: String) throws {
        try AtomicFile.write(text, to: path, mode: 0o644)
    }

    // MARK: serial replay

    @Test func anOlderSignedBaselineIsAReplayAndIsRejected() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-serial")
        defer { removeTree(dir) }
        let state = try StateDirectory(path: dir)
        #expect(try state.highestSerial() == nil)
        try BaselineSource.checkSerial(try Self.baseline(serial: 5), state: state)
        #expect(try state.highestSerial() == 5)
        // The same serial again is the same approval, not a replay.
        try BaselineSource.checkSerial(try Self.baseline(serial: 5), state: state)
        let older = try Self.baseline(serial: 3)
        do {
            try BaselineSource.checkSerial(older, state: state)
            Issue.record("serial 3 after 5 was accepted")
        } catch {
            #expect(
                error.description.contains(
                    "has serial 3, lower than 5, the highest this host has accepted: an older baseline is being replayed; rejected"),
                "\(error)")
            #expect(error.description.hasPrefix("/etc/permdrift/baseline.yaml: "), "\(error)")
        }
        #expect(try state.highestSerial() == 5, "a rejected serial is not recorded")
        try BaselineSource.checkSerial(try Self.baseline(serial: 9), state: state)
        #expect(try state.highestSerial() == 9)
    }

    /// `permdrift fix` (root) checks the serial of the service's state directory but never writes it
    /// there: a root-owned serial file would lock the service out of its own directory.
    @Test func aSerialCheckedWithoutRecordingLeavesTheDirectoryAsItWas() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-serial")
        defer { removeTree(dir) }
        let state = try StateDirectory(path: dir)
        try BaselineSource.checkSerial(try Self.baseline(serial: 5), state: state, record: false)
        #expect(try state.highestSerial() == nil)
        #expect(!FileManager.default.fileExists(atPath: dir + "/baseline-serial"))
        try BaselineSource.checkSerial(try Self.baseline(serial: 5), state: state)
        #expect(throws: StateError.self) { try BaselineSource.checkSerial(try Self.baseline(serial: 4), state: state, record: false) }
    }

    @Test func aBaselineWithoutASerialCountsAsZero() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-serial")
        defer { removeTree(dir) }
        let state = try StateDirectory(path: dir)
        try BaselineSource.checkSerial(try Self.baseline(serial: nil), state: state)
        #expect(try state.highestSerial() == 0)
        try BaselineSource.checkSerial(try Self.baseline(serial: 1), state: state)
        #expect(throws: StateError.self) { try BaselineSource.checkSerial(try Self.baseline(serial: nil), state: state) }
    }

    // MARK: the default path

    @Test func anythingAtTheDefaultPathIsTheBaseline() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-default")
        defer { removeTree(dir) }
        var source = BaselineSource(file: nil, configured: nil, mustBeSigned: false, signers: nil)
        source.defaultPath = dir + "/baseline.yaml"
        #expect(source.choice() == .builtIn)
        // A dangling symlink is there: it is the baseline (and refused when read), not a reason to fall back.
        #expect(symlink(dir + "/nowhere.yaml", source.defaultPath) == 0)
        #expect(source.choice() == .file(source.defaultPath))
        unlink(source.defaultPath)
        try Self.write("version: 1\n", to: source.defaultPath)
        #expect(source.choice() == .file(source.defaultPath))
        // A baseline named by the configuration or the command line wins, the flag first.
        source.configured = dir + "/configured.yaml"
        #expect(source.choice() == .file(dir + "/configured.yaml"))
        source.file = dir + "/flag.yaml"
        #expect(source.choice() == .file(dir + "/flag.yaml"))
    }

    @Test func aDanglingSymlinkAtTheDefaultPathIsRefusedNotReplacedByTheBuiltIn() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-default")
        defer { removeTree(dir) }
        var source = BaselineSource(file: nil, configured: nil, mustBeSigned: false, signers: nil)
        source.defaultPath = dir + "/baseline.yaml"
        #expect(symlink(dir + "/nowhere.yaml", source.defaultPath) == 0)
        let recorder = RunConsoleRecorder()
        do {
            let loaded = try source.load(accounts: Self.accounts, console: recorder.console)
            Issue.record("loaded \(loaded.origin.source) instead of refusing the symlink")
        } catch let exit as RunExit {
            #expect(exit.status == ExitStatus.untrusted)
        }
        #expect(recorder.said(.error).contains { $0.hasPrefix("permdrift: cannot use the baseline: ") }, "\(recorder.said())")
    }

    @Test func nothingAtTheDefaultPathLoadsTheBuiltInAndAFileLoadsItself() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-default")
        defer { removeTree(dir) }
        var source = BaselineSource(file: nil, configured: nil, mustBeSigned: false, signers: nil)
        source.defaultPath = dir + "/baseline.yaml"
        let recorder = RunConsoleRecorder()
        let builtIn = try #require(try? source.load(accounts: Self.accounts, console: recorder.console), "\(recorder.said())")
        #expect(builtIn.origin.isBuiltIn && builtIn.origin.source == "built-in")
        try Self.write("version: 1\nname: here\nscan:\n  roots: [/srv]\n", to: source.defaultPath)
        let file = try source.load(accounts: Self.accounts, console: recorder.console)
        #expect(!file.origin.isBuiltIn && file.origin.source == source.defaultPath && file.name == "here")
        #expect(recorder.said().isEmpty, "\(recorder.said())")
    }

    @Test func aSignedBaselineHasNoBuiltInFallback() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-signed")
        defer { removeTree(dir) }
        let recorder = RunConsoleRecorder()
        var source = BaselineSource(file: nil, configured: nil, mustBeSigned: true, signers: nil)
        source.defaultPath = dir + "/baseline.yaml"
        #expect(throws: RunExit(ExitStatus.untrusted)) { try source.load(accounts: Self.accounts, console: recorder.console) }
        #expect(recorder.said(.error) == ["permdrift: --require-signature needs --signers (or signers: in the configuration)"])
        // Nothing at the default path: rejected (a report says so), never the built-in baseline.
        source.signers = dir + "/allowed_signers"
        try Self.write("", to: source.signers!)
        do {
            _ = try source.load(accounts: Self.accounts, console: recorder.console)
            Issue.record("a signed run loaded a baseline with nothing to verify")
        } catch let rejected as BaselineSource.Rejected {
            #expect(rejected.source == source.defaultPath)
            #expect(rejected.reason.contains("no such file"), "\(rejected.reason)")
        }
    }

    // MARK: settings

    @Test func flagsResolveOverTheConfiguration() {
        var configuration = RunConfiguration()
        configuration.outputs = ["json:/var/lib/permdrift/last.json", "sarif:/var/lib/permdrift/last.sarif"]
        configuration.stateDirectory = "/var/lib/permdrift"
        configuration.failOn = FailOn(severity: .high)
        configuration.signers = "/etc/permdrift/allowed_signers"
        configuration.requireSignature = true
        var options = ScanOptions()
        let fromConfiguration = ScanSettings(options: options, configuration: configuration)
        #expect(fromConfiguration.outputs.map(\.path) == ["/var/lib/permdrift/last.json", "/var/lib/permdrift/last.sarif"])
        #expect(fromConfiguration.configuredReports.count == 2, "a run holding the lock removes the configuration's reports")
        #expect(fromConfiguration.failOn == FailOn(severity: .high) && fromConfiguration.statePath == "/var/lib/permdrift")
        #expect(fromConfiguration.baseline.mustBeSigned && fromConfiguration.baseline.signers == "/etc/permdrift/allowed_signers")
        #expect(fromConfiguration.stateFromConfiguration && !fromConfiguration.delivers)
        options.outputs = [ReportOutput(argument: "text:/tmp/r.txt")!]
        options.stateDirectory = "/srv/state"
        options.failOn = FailOn(severity: .critical)
        let fromFlags = ScanSettings(options: options, configuration: configuration)
        #expect(fromFlags.outputs.map(\.path) == ["/tmp/r.txt"] && fromFlags.configuredReports.isEmpty)
        #expect(fromFlags.failOn == FailOn(severity: .critical) && fromFlags.statePath == "/srv/state" && !fromFlags.stateFromConfiguration)
        #expect(ScanSettings(options: ScanOptions(), configuration: RunConfiguration()).failOn == .anyDrift)
        #expect(ReportOutput(argument: "json:") == nil && ReportOutput(argument: "yaml:/x") == nil)
    }

    @Test func theCourierGetsTheSameConfigurationAndAlerting() {
        var options = ScanOptions()
        options.alerting = AlertFlags(alertmanager: "http://127.0.0.1:9093", alertmanagerTimeout: 5, prometheusTextfile: nil)
        // A scan of a scratch root reads no configuration unless one is named: nor does its courier.
        options.configuration = ConfigurationChoice(file: nil, none: false, defaultApplies: false)
        let settings = ScanSettings(options: options, configuration: RunConfiguration())
        #expect(settings.delivers && settings.countsPendingAlerts)
        #expect(
            settings.courierArguments(statePath: "/s") == [
                "--state-dir", "/s", "--no-config", "--alertmanager", "http://127.0.0.1:9093", "--alertmanager-timeout", "5.0"
            ])
        options.configuration = ConfigurationChoice(file: "/etc/c.yaml", none: false, defaultApplies: false)
        #expect(
            ScanSettings(options: options, configuration: RunConfiguration()).courierArguments(statePath: "/s").prefix(4) == [
                "--state-dir", "/s", "--config", "/etc/c.yaml"
            ])
        options.configuration = ConfigurationChoice(file: nil, none: false, defaultApplies: true)
        #expect(
            !ScanSettings(options: options, configuration: RunConfiguration()).courierArguments(statePath: "/s").contains {
                $0.hasSuffix("config")
            })
    }
}
