import Foundation
import PermDriftTestSupport
import Testing

/// Finding lifecycle, Alertmanager delivery and the metrics file, against Debian's Alertmanager and
/// node_exporter started on loopback ports of the tests' own.
@Suite(.serialized) struct AlertingTests {
    /// A scratch host, a state directory (root's own, 0700) and a baseline with the transcripts rule.
    struct Setup {
        let host: ScratchHost
        let state: String
        let baseline: String

        init(baseline text: String = ScratchHost.transcriptsRule) throws {
            host = try ScratchHost()
            state = host.base + "/state"
            mkdir(state, 0o700)
            baseline = try host.baseline(text)
        }

        func scan(_ extra: [String]) throws -> Harness.Run {
            try Harness.permdrift(["scan", "--root", host.root, "--baseline", baseline, "--state-dir", state] + extra)
        }

        func notify(_ extra: [String]) throws -> Harness.Run {
            try Harness.permdrift(["notify", "--no-config", "--state-dir", state] + extra)
        }

        func status() throws -> [String: Any] {
            let run = try Harness.permdrift(["status", "--no-config", "--state-dir", state, "--json"])
            guard run.status == 0, let object = try JSONSerialization.jsonObject(with: run.stdoutBytes) as? [String: Any] else {
                throw HarnessError("status: \(run.status) \(run.stderr)")
            }
            return object
        }

        func pending() throws -> [[String: Any]] { try status()["pending_alerts"] as? [[String: Any]] ?? [] }

        func remove() { host.remove() }
    }

    static func drift(_ alerts: [[String: Any]], rule: String) -> [[String: Any]] {
        alerts.filter { ($0["labels"] as? [String: String])?["rule"] == rule }
    }

    @Test func driftReachesAlertmanagerAndIsResolvedAfterTheFix() throws {
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        let first = try s.scan(["--alertmanager", am.base])
        #expect(first.status == 1, "\(first.stderr)")
        let all = try am.alerts()
        let alerts = Self.drift(all, rule: "transcripts-private")
        try #require(alerts.count == 1, "\(all)")
        let labels = alerts[0]["labels"] as? [String: String] ?? [:]
        #expect(labels["alertname"] == "PermissionDrift")
        #expect(labels["severity"] == "critical")
        #expect(labels["host"]?.isEmpty == false)
        #expect(Set(labels.keys) == ["alertname", "host", "rule", "severity"], "no path is a label")
        let annotations = alerts[0]["annotations"] as? [String: String] ?? [:]
        #expect(annotations["count"] == "1")
        #expect(annotations["samples"] == ScratchHost.transcript)
        let ends = ISO8601DateFormatter().date(from: String((alerts[0]["endsAt"] as? String ?? "").prefix(19)) + "Z")
        #expect((ends?.timeIntervalSinceNow ?? 0) > 2 * 3600, "endsAt is well past the next hourly run")
        #expect(try s.pending().isEmpty)
        #expect(try s.status()["last_run"].flatMap { ($0 as? [String: Any])?["findings"] as? [String: Int] }?["new"] == 1)

        // Still firing: sent again, first-seen kept.
        #expect(try s.scan(["--alertmanager", am.base]).status == 1)
        let findings = try s.status()["last_run"].flatMap { ($0 as? [String: Any])?["findings"] as? [String: Int] }
        #expect(findings?["new"] == 0 && findings?["firing"] == 1)

        // The fix resolves it: Alertmanager no longer lists it as active.
        s.host.setMode(ScratchHost.transcript, 0o600)
        let fixed = try s.scan(["--alertmanager", am.base])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        let after = try am.alerts()
        #expect(Self.drift(after, rule: "transcripts-private").isEmpty, "\(after)")
        #expect(try s.status()["last_run"].flatMap { ($0 as? [String: Any])?["findings"] as? [String: Int] }?["resolved"] == 1)
        #expect(try s.pending().isEmpty)
    }

    @Test func alertsRaisedWhileAlertmanagerIsDownArriveAfterItIsBack() throws {
        let port = try Daemon.freePort()
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        // Alertmanager is down: the scan reports, records the alert, and exits 2 (undelivered).
        let down = try s.scan(["--alertmanager", "http://127.0.0.1:\(port)", "--format", "json"])
        #expect(down.status == 2, "\(down.stderr)")
        #expect(down.stderr.contains("1 alert waits in the state directory"), "\(down.stderr)")
        #expect(try s.pending().map { $0["key"] as? String } == ["PermissionDrift/transcripts-private"])
        // A second drift appears while it is still down.
        s.host.setMode(ScratchHost.notes, 0o644)
        let notesRule =
            ScratchHost.transcriptsRule + """
                  - id: homes-private
                    severity: high
                    match: /home/*/notes.md
                    expect: { mode: "0600" }

                """
        _ = try s.host.baseline(notesRule)
        #expect(try s.scan(["--alertmanager", "http://127.0.0.1:\(port)"]).status == 2)
        #expect(try s.pending().count == 2)

        // It comes back (a new process, on the same port): notify delivers everything, exits 0.
        let am = try Daemon.alertmanager(port: port)
        defer { am.remove() }
        let sent = try s.notify(["--alertmanager", am.base])
        #expect(sent.status == 0, "\(sent.stderr)")
        let alerts = try am.alerts()
        #expect(Self.drift(alerts, rule: "transcripts-private").count == 1, "\(alerts)")
        #expect(Self.drift(alerts, rule: "homes-private").count == 1, "\(alerts)")
        #expect(try s.pending().isEmpty)
        // Nothing is sent twice needlessly: a second notify has nothing to do.
        #expect(try s.notify(["--alertmanager", am.base]).status == 0)
    }

    @Test func aResolutionMadeDuringAnOutageIsDeliveredToo() throws {
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        #expect(try s.scan(["--alertmanager", am.base]).status == 1)
        #expect(Self.drift(try am.alerts(), rule: "transcripts-private").count == 1)
        // Fixed while the delivery fails (an address nothing listens on).
        s.host.setMode(ScratchHost.transcript, 0o600)
        let dead = "http://127.0.0.1:\(try Daemon.freePort())"
        #expect(try s.scan(["--alertmanager", dead]).status == 2)
        let pending = try s.pending()
        #expect(pending.count == 1 && pending[0]["resolved"] as? Bool == true, "\(pending)")
        #expect(try s.notify(["--alertmanager", am.base]).status == 0)
        #expect(Self.drift(try am.alerts(), rule: "transcripts-private").isEmpty)
    }

    @Test(arguments: ["500", "redirect", "hang"])
    func aFailingAlertmanagerKeepsTheAlertsAndExits2(mode: String) throws {
        let server = try Daemon.faulty(mode)
        defer { server.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        let started = Date()
        // Only the hanging server is meant to reach the timeout; the others answer at once, however
        // busy the machine.
        let run = try s.scan(["--alertmanager", server.base, "--alertmanager-timeout", mode == "hang" ? "2" : "30"])
        #expect(run.status == 2, "\(run.stderr)")
        let expected = [
            "500": "HTTP 500", "redirect": "HTTP 307 (a redirect, which is not followed)", "hang": "no answer within 2 seconds"
        ][mode]!
        #expect(run.stderr.contains(expected), "\(run.stderr)")
        #expect(Date().timeIntervalSince(started) < 60, "bounded by the timeout, not hung")
        #expect(try s.pending().count == 1)
        // Later, with a working Alertmanager, nothing was lost.
        let am = try Daemon.alertmanager()
        defer { am.remove() }
        #expect(try s.notify(["--alertmanager", am.base]).status == 0)
        #expect(Self.drift(try am.alerts(), rule: "transcripts-private").count == 1)
    }

    @Test func aSlowDeliveryDoesNotCostAFinishedScanItsReports() throws {
        let server = try Daemon.faulty("hang")
        defer { server.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        let report = s.host.base + "/last.json"
        // The deadline passes while the delivery waits for its (longer) timeout: the scan itself was done.
        // The deadline leaves a loaded machine ample time to scan; the delivery's timeout is longer still.
        let run = try s.scan([
            "--output", "json:\(report)", "--deadline", "15", "--alertmanager", server.base,
            "--alertmanager-timeout", "20"
        ])
        #expect(run.status == 2, "undelivered: \(run.stderr)")
        #expect(run.stderr.contains("no answer within 20 seconds"), "\(run.stderr)")
        #expect(!run.stderr.contains("did not finish within"), "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: report), "the finished scan's report stays")
        #expect(try s.pending().count == 1)
    }

    @Test func basicAuthenticationFromAPasswordFileAndAStrictTLSCheck() throws {
        // Alertmanager with basic authentication (a bcrypt hash, made by the system's crypt(3)).
        let hash = try Harness.run(
            "/usr/bin/python3",
            [
                "-W", "ignore", "-c",
                "import crypt; print(crypt.crypt('s3cret-pw', crypt.mksalt(crypt.METHOD_BLOWFISH)))"
            ]
        ).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(hash.hasPrefix("$2"))
        let am = try Daemon.alertmanager(webConfig: "basic_auth_users:\n  permdrift: '\(hash)'\n")
        defer { am.remove() }
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode(ScratchHost.transcript, 0o644)
        #expect(try s.scan([]).status == 1)
        let password = s.host.base + "/am-password"
        _ = FileManager.default.createFile(atPath: password, contents: Data("s3cret-pw\n".utf8))
        chmod(password, 0o600)
        let config = try s.host.baseline(
            "alertmanager:\n  url: \(am.base)\n  username: permdrift\n  password-file: \(password)\n",
            name: "config.yaml")
        // Without the credential: refused (401), kept, exit 2.
        let anonymous = try s.notify(["--alertmanager", am.base])
        #expect(anonymous.status == 2)
        #expect(anonymous.stderr.contains("HTTP 401"), "\(anonymous.stderr)")
        // A password file others may read is refused before anything is sent.
        chmod(password, 0o644)
        let loose = try Harness.permdrift(["notify", "--config", config, "--state-dir", s.state])
        #expect(loose.status == 2)
        #expect(loose.stderr.contains("readable by its owner only"), "\(loose.stderr)")
        chmod(password, 0o600)
        let sent = try Harness.permdrift(["notify", "--config", config, "--state-dir", s.state])
        #expect(sent.status == 0, "\(sent.stderr)")
        let auth = "Basic " + Data("permdrift:s3cret-pw".utf8).base64EncodedString()
        #expect(Self.drift(try am.alerts(authorization: auth), rule: "transcripts-private").count == 1)

        // TLS with a certificate the system does not trust: refused, kept, exit 2.
        let key = try Harness.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", s.host.base + "/key.pem", "-out", s.host.base + "/cert.pem",
                "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"
            ])
        try #require(key.status == 0, "\(key.stderr)")
        let tls = try Daemon.alertmanager(
            webConfig: "tls_server_config:\n  cert_file: \(s.host.base)/cert.pem\n  key_file: \(s.host.base)/key.pem\n")
        defer { tls.remove() }
        s.host.setMode(ScratchHost.transcript, 0o600)
        #expect(try s.scan([]).status == 0)
        let refused = try s.notify(["--alertmanager", "https://127.0.0.1:\(tls.port)"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("certificate"), "\(refused.stderr)")
        #expect(try s.pending().count == 1, "the resolved alert waits")
    }

    @Test func theExampleRulesPassPromtool() throws {
        let dir = Harness.packageRoot.appendingPathComponent("examples/prometheus").path
        let check = try Harness.run("/usr/bin/promtool", ["check", "rules", dir + "/permdrift-rules.yml"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let test = try Harness.run("/bin/sh", ["-c", "cd '\(dir)' && /usr/bin/promtool test rules permdrift-rules.test.yml"])
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
    }
}
