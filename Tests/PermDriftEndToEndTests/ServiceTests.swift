import Foundation
import PermDriftTestSupport
import Testing

/// The hourly service at unit level: its units and their hardening scores, least privilege checked with
/// setpriv (which applies none of the units' directives), the Landlock sandbox, the run lock, the
/// self-checks and the run configuration. These are fast checks; the proof that the installed units work
/// is scripts/test-systemd, under a real systemd.
@Suite(.serialized, .enabled(if: Harness.isRoot, "needs root: creates a service account and drops to it with setpriv"))
struct ServiceTests {
    static let unit = Harness.packageRoot.appendingPathComponent("systemd/permdrift.service").path
    static let timer = Harness.packageRoot.appendingPathComponent("systemd/permdrift.timer").path

    // MARK: - The units

    @Test func theServiceExposureIsAtMostOne() throws {
        let dir = try makeTemporaryDirectory(prefix: "pd-unit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try String(contentsOfFile: Self.unit, encoding: .utf8).replacingOccurrences(of: "@BINDIR@", with: "/usr/local/bin")
        try text.write(toFile: dir + "/permdrift.service", atomically: true, encoding: .utf8)
        let run = try Harness.run("/usr/bin/systemd-analyze", ["security", "--offline=true", dir + "/permdrift.service"])
        let line = try #require(
            run.stdout.split(separator: "\n").first { $0.contains("Overall exposure level for permdrift.service") },
            "no exposure figure: \(run.stdout)\(run.stderr)")
        let figure = try #require(line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) })
        #expect(figure <= 1.0, "\(line)")
    }

    static let notifyUnit = Harness.packageRoot.appendingPathComponent("systemd/permdrift-notify.service").path

    @Test func theNotifyUnitExposureIsAtMostTwoAndItHasNoCapabilities() throws {
        let dir = try makeTemporaryDirectory(prefix: "pd-unit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try String(contentsOfFile: Self.notifyUnit, encoding: .utf8).replacingOccurrences(of: "@BINDIR@", with: "/usr/local/bin")
        try text.write(toFile: dir + "/permdrift-notify.service", atomically: true, encoding: .utf8)
        let run = try Harness.run("/usr/bin/systemd-analyze", ["security", "--offline=true", dir + "/permdrift-notify.service"])
        let line = try #require(
            run.stdout.split(separator: "\n").first { $0.contains("Overall exposure level for permdrift-notify.service") },
            "no exposure figure: \(run.stdout)\(run.stderr)")
        let figure = try #require(line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) })
        #expect(figure <= 2.0, "\(line)")
        let lines = Set(text.split(separator: "\n").map(String.init))
        for required in [
            "Type=oneshot", "User=permdrift", "CapabilityBoundingSet=", "AmbientCapabilities=", "IPAddressDeny=any",
            "IPAddressAllow=localhost", "StateDirectory=permdrift", "WantedBy=permdrift.service",
            "After=permdrift.service network-online.target"
        ] {
            #expect(lines.contains(required), "permdrift-notify.service lacks \(required)")
        }
        #expect(!text.contains("\nPrivateNetwork=yes"), "delivery needs the network")
        #expect(text.contains("ExecStart=/usr/local/bin/permdrift notify "))
    }

    @Test func asTheServiceAccountTheSandboxedScanRecordsAlertsAndNotifyDeliversThem() throws {
        let account = try ServiceAccount.create()
        defer { account.remove() }
        let host = try ScratchHost()
        defer { host.remove() }
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        host.setMode(ScratchHost.transcript, 0o644)
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let state = try account.stateDirectory(in: host.base)
        let textfiles = host.base + "/textfiles"
        mkdir(textfiles, 0o755)
        chown(textfiles, account.uid, account.gid)
        let scan = try account.permdrift(
            [
                "scan", "--root", host.root, "--baseline", file, "--state-dir", state, "--require-sandbox",
                "--prometheus-textfile", textfiles + "/permdrift.prom"
            ], capability: true)
        #expect(scan.status == 1, "\(scan.stderr)")
        let metrics = try String(contentsOfFile: textfiles + "/permdrift.prom", encoding: .utf8)
        #expect(metrics.contains("permdrift_scan_complete 1"), "\(metrics)")
        // notify as the same account with no capability at all (permdrift-notify.service).
        let notify = try account.permdrift(
            [
                "notify", "--no-config", "--state-dir", state, "--alertmanager", am.base,
                "--prometheus-textfile", textfiles + "/permdrift.prom"
            ], capability: false)
        #expect(notify.status == 0, "\(notify.stderr)")
        #expect(try am.alerts().contains { ($0["labels"] as? [String: String])?["rule"] == "transcripts-private" })
        #expect(try String(contentsOfFile: textfiles + "/permdrift.prom", encoding: .utf8).contains("permdrift_alerts_pending 0"))
        // scan --alertmanager under the sandbox: the delivery runs in a process started before it.
        let direct = try account.permdrift(
            [
                "scan", "--root", host.root, "--baseline", file, "--state-dir", state, "--require-sandbox",
                "--alertmanager", am.base
            ], capability: true)
        #expect(direct.status == 1, "\(direct.stderr)")
        let status = try account.permdrift(["status", "--no-config", "--state-dir", state], capability: false)
        #expect(status.stdout.contains("alerts waiting for delivery: 0"), "\(status.stdout)\(status.stderr)")
    }

    @Test func theUnitsSayWhatTheServiceNeeds() throws {
        let unit = try String(contentsOfFile: Self.unit, encoding: .utf8)
        let lines = Set(unit.split(separator: "\n").map(String.init))
        for required in [
            "Type=oneshot", "User=permdrift", "AmbientCapabilities=CAP_DAC_READ_SEARCH",
            "CapabilityBoundingSet=CAP_DAC_READ_SEARCH", "NoNewPrivileges=yes", "PrivateNetwork=yes",
            "SuccessExitStatus=1", "StateDirectory=permdrift", "IOSchedulingClass=idle", "Nice=19",
            "SystemCallFilter=capset"
        ] {
            #expect(lines.contains(required), "permdrift.service lacks \(required)")
        }
        #expect(!unit.contains("\nPrivateUsers="), "PrivateUsers= would empty the capability set on the host")
        #expect(unit.contains("landlock_create_ruleset landlock_add_rule landlock_restrict_self"))
        #expect(unit.contains("--require-sandbox"))
        #expect(unit.contains("--require-signature"))
        let timer = try String(contentsOfFile: Self.timer, encoding: .utf8)
        for required in ["OnCalendar=hourly", "Persistent=true", "RandomizedDelaySec=10min", "WantedBy=timers.target"] {
            #expect(timer.contains(required), "permdrift.timer lacks \(required)")
        }
    }

    // MARK: - Least privilege, without systemd

    /// A system account of the test's own (removed afterwards), standing in for `permdrift`.
    struct ServiceAccount {
        static let name = "pd-svc-test"
        let uid: UInt32
        let gid: UInt32

        static func create() throws -> ServiceAccount {
            _ = try? Harness.run("/usr/sbin/userdel", [name])
            try Harness.sh(
                "/usr/sbin/useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                "--shell", "/usr/sbin/nologin", name)
            let uid = try Harness.run("/usr/bin/id", ["-u", name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let gid = try Harness.run("/usr/bin/id", ["-g", name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let u = UInt32(uid), let g = UInt32(gid) else { throw HarnessError("cannot read the ids of \(name)") }
            return ServiceAccount(uid: u, gid: g)
        }

        func remove() { _ = try? Harness.run("/usr/sbin/userdel", [Self.name]) }

        /// Runs permdrift as this account, with CAP_DAC_READ_SEARCH (ambient and bounding) or with nothing.
        func permdrift(_ arguments: [String], capability: Bool, environment: [String: String]? = nil) throws -> Harness.Run {
            let caps = capability ? "-all,+dac_read_search" : "-all"
            return try Harness.run(
                "/usr/bin/setpriv",
                [
                    "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups",
                    "--inh-caps=\(caps)", "--ambient-caps=\(caps)", "--bounding-set=\(caps)",
                    "--", Harness.binary
                ] + arguments, environment: .inherited(environment ?? [:]))
        }

        /// A state directory the account owns, 0700, under `base`.
        func stateDirectory(in base: String) throws -> String {
            let path = base + "/state"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            chown(path, uid, gid)
            chmod(path, 0o700)
            return path
        }
    }

    @Test func withOnlyCapDacReadSearchTheScanIsCompleteAndWithoutItItIsNot() throws {
        let account = try ServiceAccount.create()
        defer { account.remove() }
        let host = try ScratchHost()
        defer { host.remove() }
        host.setMode(ScratchHost.transcript2, 0o644)
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let state = try account.stateDirectory(in: host.base)
        let arguments = ["scan", "--root", host.root, "--baseline", file, "--state-dir", state, "--format", "json"]

        let with = try account.permdrift(arguments + ["--require-sandbox"], capability: true)
        #expect(with.status == 1, "\(with.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: with.stdoutBytes) as? [String: Any])
        #expect((report["summary"] as? [String: Any])?["complete"] as? Bool == true)
        #expect(report["sandbox"] as? Bool == true)
        #expect(report.findings.count == 1)
        #expect(report.hasFinding(rule: "transcripts-private", path: ScratchHost.transcript2, kind: "mode"))

        let without = try account.permdrift(arguments, capability: false)
        #expect(without.status == 2)
        let incomplete = try #require(try JSONSerialization.jsonObject(with: without.stdoutBytes) as? [String: Any])
        let unreadable = Set(incomplete.errors.compactMap { $0["path"] as? String })
        // The agents' 0700 homes, and the shared folder (0750, svc:agents) the account is no member of.
        #expect(unreadable == ["/home/ann", "/home/bob", "/srv/shared"], "\(incomplete.errors)")
    }

    @Test func afterTheSandboxAScannedFileCannotBeOpenedButTheScanSucceeds() throws {
        let account = try ServiceAccount.create()
        defer { account.remove() }
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let state = try account.stateDirectory(in: host.base)
        let base = ["scan", "--root", host.root, "--baseline", file, "--state-dir", state, "--require-sandbox", "--format", "json"]
        // CAP_DAC_READ_SEARCH alone would let it read ann's 0600 transcript: Landlock must refuse it.
        let probed = try account.permdrift(base + ["--sandbox-probe", host.path(ScratchHost.transcript)], capability: true)
        #expect(probed.status == 0, "\(probed.stderr)")
        #expect(probed.stderr.contains("opening \(host.path(ScratchHost.transcript)) for reading was refused (EACCES)"), "\(probed.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: probed.stdoutBytes) as? [String: Any])
        #expect((report["summary"] as? [String: Any])?["complete"] as? Bool == true)
        // The probe itself can tell: the state directory is the one place it may read.
        let lock = try account.permdrift(base + ["--sandbox-probe", state + "/lock"], capability: true)
        #expect(lock.stderr.contains("opening \(state)/lock for reading was allowed"), "\(lock.stderr)")
        // The capability is the scanning worker's alone: `permdrift scan` itself (the supervisor, which
        // reads nothing of the tree) has dropped it. CAP_DAC_READ_SEARCH is bit 2.
        #expect(
            probed.stderr.contains("capability probe: supervisor CapEff=0000000000000000, scan CapEff=0000000000000004"),
            "\(probed.stderr)")
    }

    @Test func aSecondRunWhileOneHoldsTheLockExits75AndTouchesNothing() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let state = host.base + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
        chmod(state, 0o700)
        let first = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--state-dir", state])
        #expect(first.status == 0, "\(first.stderr)")
        // Hold the lock as a running scan would.
        let fd = open(state + "/lock", O_RDWR | O_NOFOLLOW)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let report = host.base + "/report.json"
        let second = try Harness.permdrift([
            "scan", "--root", host.root, "--baseline", file, "--state-dir", state,
            "--output", "json:\(report)"
        ])
        #expect(second.status == 75)
        #expect(second.stderr.contains("another permdrift run holds \(state)/lock; this run does nothing"), "\(second.stderr)")
        #expect(second.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: report))
    }

    @Test(arguments: ["mode", "symlink", "foreign", "lock-readable"])
    func anUntrustedStateDirectoryIsRefused(problem: String) throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(ScratchHost.transcriptsRule)
        var state = host.base + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
        chmod(state, 0o700)
        var expected = ""
        switch problem {
        case "mode":
            chmod(state, 0o755); expected = "has mode 0755; the state directory must be 0700"
        case "symlink":
            symlink(state, host.base + "/state-link"); state = host.base + "/state-link"; expected = "is a symlink or not a directory"
        case "foreign":
            chown(state, 61999, 61999); expected = "is owned by uid 61999, not by the user running permdrift"
        default:
            #expect(FileManager.default.createFile(atPath: state + "/lock", contents: nil))
            chmod(state + "/lock", 0o644); expected = "the lock must be the running user's own, 0600"
        }
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--state-dir", state])
        #expect(run.status == 2)
        #expect(run.stderr.contains(expected), "\(run.stderr)")
    }

    @Test func aBaselineWhoseDirectoryGrantsWriteThroughAnACLIsRefused() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let dir = host.base + "/policy"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        chmod(dir, 0o755)
        let file = dir + "/baseline.yaml"
        #expect(FileManager.default.createFile(atPath: file, contents: Data(ScratchHost.transcriptsRule.utf8)))
        chmod(file, 0o644)
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--baseline", file]).status == 0)
        try Harness.sh("/usr/bin/setfacl", "-m", "u:61999:rwx", dir)
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file])
        #expect(run.status == 2)
        #expect(run.stderr.contains("is in \(dir), which has an ACL entry user:61999 that grants write"), "\(run.stderr)")
    }

    // MARK: - Configuration and logs

    @Test func theConfigurationIsReadAndFlagsOverrideIt() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        host.setMode(ScratchHost.notes, 0o640)
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: notes
                    severity: low
                    match: /home/*/notes.md
                    expect: { mode: "0600" }

                """)
        let report = host.base + "/from-config.json"
        let config = try host.baseline(
            """
            baseline: \(file)
            outputs: ["json:\(report)"]
            fail-on: high

            """, name: "config.yaml")
        let run = try Harness.permdrift(["scan", "--root", host.root, "--config", config])
        #expect(run.status == 0, "the low finding is below the configured fail-on: \(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: report))
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--config", config, "--fail-on", "low"]).status == 1)
    }

    @Test(arguments: [
        ("colour: blue\n", "config.yaml:1:1: error: unknown key 'colour' in the configuration"),
        ("fail-on: urgent\n", "config.yaml:1:10: error: fail-on 'urgent' is not one of critical, high, medium, low"),
        ("outputs: [\"pdf:/tmp/x\"]\n", "config.yaml:1:11: error: an output is FORMAT:/ABSOLUTE/PATH"),
        (
            "alertmanager: { url: \"http://u:p@127.0.0.1:9093\" }\n",
            "config.yaml:1:22: error: the Alertmanager URL must not carry credentials"
        ),
        (
            "alertmanager: { url: \"ftp://127.0.0.1\" }\n",
            "config.yaml:1:22: error: the Alertmanager URL ftp://127.0.0.1 is not an http:// or https:// URL with a host"
        ),
        (
            "alertmanager: { url: \"http://127.0.0.1:9093\", username: ops }\n",
            "config.yaml:1:15: error: username and password-file go together"
        ),
        (
            "alertmanager: { url: \"http://127.0.0.1:9093\", timeout: 0 }\n",
            "config.yaml:1:56: error: timeout must be a number of seconds between 0 and 300"
        ),
        (
            "prometheus-textfile: /var/lib/node-exporter/permdrift.txt\n",
            "config.yaml:1:22: error: prometheus-textfile must be an absolute path ending in .prom"
        )
    ])
    func aBadConfigurationIsAnErrorWithItsPosition(text: String, message: String) throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let config = try host.baseline(text, name: "config.yaml")
        let run = try Harness.permdrift([
            "scan", "--root", host.root, "--config", config, "--baseline", try host.baseline(ScratchHost.transcriptsRule)
        ])
        #expect(run.status == 2)
        #expect(run.stderr.contains(host.base + "/" + message), "\(run.stderr)")
    }

    @Test func underSystemdMessagesCarryJournalPriorities() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let bad = try host.baseline(ScratchHost.head + "rules:\n  - id: t\n    match: /home/*\n    expect: { mode: 0600 }\n")
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", bad], environment: ["JOURNAL_STREAM": "8:12345"])
        #expect(run.status == 2)
        let lines = run.stderr.split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { $0.hasPrefix("<3>") }, "\(run.stderr)")
        let plain = try Harness.permdrift(["scan", "--root", host.root, "--baseline", bad])
        #expect(!plain.stderr.contains("<3>"))
        let state = host.base + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
        chmod(state, 0o700)
        let good = try Harness.permdrift(
            [
                "scan", "--root", host.root, "--baseline", try host.baseline(ScratchHost.transcriptsRule, name: "good.yaml"),
                "--state-dir", state
            ], environment: ["JOURNAL_STREAM": "8:12345"])
        #expect(good.stderr.contains("<6>permdrift: Landlock sandbox on"), "\(good.stderr)")
    }

    @Test func aReportDirectoryInsideAScannedTreeLeavesNoSandboxToRequire() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(ScratchHost.transcriptsRule)
        // A report written inside /home would need write rights over the scanned tree.
        let inside = host.path("/home/report.json")
        let required = try Harness.permdrift([
            "scan", "--root", host.root, "--baseline", file, "--output", "json:\(inside)", "--require-sandbox"
        ])
        #expect(required.status == 2)
        #expect(required.stderr.contains("overlaps a scan root"), "\(required.stderr)")
        let (run, report) = try host.scanJSON(file, extra: ["--output", "json:\(inside)"])
        #expect(run.status == 0)
        #expect(report["sandbox"] as? Bool == false)
        #expect((report["notices"] as? [String])?.contains { $0.contains("overlaps a scan root") } == true)
    }

    @Test func aRunThatCannotUseTheConfiguredStateDirectoryLeavesItsReportsAlone() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(ScratchHost.transcriptsRule)
        let state = host.base + "/service-state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
        chown(state, 61999, 61999)
        chmod(state, 0o700)
        let last = host.base + "/last.json"
        #expect(FileManager.default.createFile(atPath: last, contents: Data("{\"the service's\": \"report\"}".utf8)))
        let config = try host.baseline("state-directory: \(state)\noutputs: [\"json:\(last)\"]\n", name: "config.yaml")
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--config", config])
        #expect(run.status == 2)
        #expect(run.stderr.contains("is owned by uid 61999"), "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: last), "another user's run must not remove the service's reports")
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--config", config, "--no-config"]).status == 0)
    }
}
