import ArgumentParser
import Foundation
import PermDriftCore

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a throwaway agent host with a few drifts, scan it with the built-in baseline, and show the report.",
        discussion: "Needs root: the demo host has agents with their own uids, and only root can give files to them."
    )

    @Flag(name: .long, help: "Keep the demo host instead of removing it.")
    var keep = false

    @Option(name: .long, help: ArgumentHelp("The report format: text, json or junit.", valueName: "format"))
    var format: ReportFormat = .text

    func run() throws {
        guard geteuid() == 0 else {
            warn("permdrift demo needs root: it creates files owned by the demo agents' uids (chown). Run it with sudo.")
            throw ExitCode(ExitStatus.untrusted)
        }
        let host: DemoHost
        do { host = try DemoHost.build() } catch {
            warn("permdrift demo: cannot build the demo host: \(error)")
            throw ExitCode(ExitStatus.untrusted)
        }
        defer { if !keep { host.remove() } }
        print("Demo agent host in \(host.root) (\(keep ? "kept" : "removed afterwards")).")
        print("Drifts introduced:")
        for drift in host.drifts { print("  - \(drift)") }
        print("")
        let result: ScanResult
        do {
            guard case .success(let accounts) = AccountDatabase.load(root: host.root) else {
                warn("permdrift demo: cannot read the demo host's accounts"); throw ExitCode(ExitStatus.untrusted)
            }
            let baseline = try BaselineLoader(accounts: accounts)
                .load(Array(BuiltInBaseline.text.utf8), file: "built-in:agent-host.yaml", isBuiltIn: true)
            result = try Scanner(baseline: baseline, accounts: accounts, rootDirectory: host.root).run()
        } catch let error as ExitCode {
            throw error
        } catch {
            warn("permdrift demo: \(error)")
            throw ExitCode(ExitStatus.untrusted)
        }
        print(format.render(result), terminator: "")
        if keep {
            print("\nScan it again: permdrift scan --root \(host.root)")
        }
        throw ExitCode(result.exitCode)
    }
}
