import Foundation

/// `permdrift status`: the last run and the alert outbox, from the state directory.
public enum StatusReport {
    public static func text(_ ledger: FindingLedger, directory: String) -> String {
        var out = "state: \(TerminalText.escape(directory))\n"
        if let run = ledger.lastRun {
            out +=
                "last run: \(ScanResult.timestamp(run.finishedAt)) on \(TerminalText.escape(run.host)), \(run.entries) entries in \(String(format: "%.1f", run.duration)) s\n"
            let state =
                run.baselineRejected
                ? "baseline rejected, nothing enforced"
                : run.complete ? "complete" : "INCOMPLETE (\(run.errors) path\(run.errors == 1 ? "" : "s") could not be read)"
            out += "result: \(state)\n"
            out += "baseline: \(TerminalText.escape(run.baselineName)) sha256:\(run.baselineSHA256)"
            out += run.baselineSigner.map { ", signed by \(TerminalText.escape($0))" } ?? ""
            out += "\n"
            out += "findings: \(run.firing) firing (\(run.new) new, \(run.resolved) resolved, \(run.kept) kept from paths not read)\n"
            for count in run.counts where count.count > 0 {
                out += "  \(TerminalText.escape(count.rule)) [\(count.severity)]: \(count.count)\n"
            }
        }
        out += "last complete scan: \(ledger.lastSuccess.map { ScanResult.timestamp($0) } ?? "never")\n"
        let pending = ledger.pendingAlerts
        out += "alerts waiting for delivery: \(pending.count)\n"
        for alert in pending {
            out +=
                "  \(TerminalText.escape(alert.key)) \(alert.resolved ? "resolved" : "firing") since \(ScanResult.timestamp(alert.resolved ? alert.endsAt : alert.startsAt))\n"
        }
        return out
    }

    public static func json(_ ledger: FindingLedger) -> String {
        var fields: [(String, JSONValue)] = []
        if let run = ledger.lastRun {
            fields.append(
                (
                    "last_run",
                    .object([
                        ("started_at", .string(ScanResult.timestamp(run.startedAt))),
                        ("finished_at", .string(ScanResult.timestamp(run.finishedAt))),
                        ("host", .string(run.host)),
                        ("complete", .bool(run.complete)),
                        ("baseline_rejected", .bool(run.baselineRejected)),
                        ("entries", .int(Int64(run.entries))),
                        ("errors", .int(Int64(run.errors))),
                        (
                            "baseline",
                            .object([
                                ("name", .string(run.baselineName)), ("sha256", .string(run.baselineSHA256)),
                                ("signer", .string(run.baselineSigner))
                            ])
                        ),
                        (
                            "findings",
                            .object([
                                ("firing", .int(Int64(run.firing))), ("new", .int(Int64(run.new))),
                                ("resolved", .int(Int64(run.resolved))), ("kept", .int(Int64(run.kept)))
                            ])
                        ),
                        (
                            "by_rule",
                            .array(
                                run.counts.map {
                                    .object([
                                        ("rule", .string($0.rule)), ("severity", .string($0.severity)),
                                        ("count", .int(Int64($0.count)))
                                    ])
                                })
                        )
                    ])
                ))
        } else {
            fields.append(("last_run", .null))
        }
        fields.append(("last_success", .string(ledger.lastSuccess.map { ScanResult.timestamp($0) })))
        fields.append(
            (
                "pending_alerts",
                .array(
                    ledger.pendingAlerts.map { alert in
                        .object([
                            ("key", .string(alert.key)), ("resolved", .bool(alert.resolved)),
                            ("starts_at", .string(ScanResult.timestamp(alert.startsAt))),
                            ("ends_at", .string(ScanResult.timestamp(alert.endsAt))),
                            ("labels", .object(alert.labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))
                        ])
                    })
            ))
        return JSONValue.object(fields).serialized()
    }
}
