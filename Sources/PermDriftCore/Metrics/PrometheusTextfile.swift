public import Foundation

/// The metrics file for node_exporter's textfile collector (`--prometheus-textfile`). Label values are
/// rule ids, severities and the baseline's name, hash and signer: admin-written, never a path, so an
/// agent cannot mint label series by naming files.
public enum PrometheusTextfile {
    public static func render(run: RunSummary, lastSuccess: Date?, pendingAlerts: Int?) -> String {
        var out = ""
        func metric(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for sample in samples {
                let labels =
                    sample.labels.isEmpty ? "" : "{" + sample.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
                out += name + labels + " " + sample.value + "\n"
            }
        }
        func seconds(_ date: Date) -> String { String(format: "%.3f", date.timeIntervalSince1970) }
        metric(
            "permdrift_findings", "Findings of the last scan, by rule and severity, with those kept firing under paths it could not read.",
            run.counts.map { ([("rule", $0.rule), ("severity", $0.severity)], String($0.count)) })
        metric("permdrift_entries_scanned", "Entries the last scan read.", [([], String(run.entries))])
        metric("permdrift_scan_errors", "Paths the last scan could not read.", [([], String(run.errors))])
        metric(
            "permdrift_scan_complete", "1 when the last scan read everything under an accepted baseline.",
            [([], run.complete ? "1" : "0")])
        metric(
            "permdrift_baseline_rejected", "1 when the last run refused its baseline and enforced nothing.",
            [([], run.baselineRejected ? "1" : "0")])
        metric("permdrift_last_run_timestamp_seconds", "When the last scan finished.", [([], seconds(run.finishedAt))])
        if let lastSuccess {
            metric("permdrift_last_success_timestamp_seconds", "When a scan last completed.", [([], seconds(lastSuccess))])
        }
        metric("permdrift_scan_duration_seconds", "How long the last scan took.", [([], String(format: "%.3f", run.duration))])
        metric(
            "permdrift_baseline_info", "The baseline the last scan enforced.",
            [([("name", run.baselineName), ("sha256", run.baselineSHA256), ("signer", run.baselineSigner ?? "")], "1")])
        if let pendingAlerts {
            metric("permdrift_alerts_pending", "Alerts waiting for delivery to Alertmanager.", [([], String(pendingAlerts))])
        }
        return out
    }

    /// The exposition format's label-value escaping (backslash, double quote, newline); other control
    /// characters and invalid UTF-8 are escaped for people first.
    static func escape(_ value: String) -> String {
        var out = ""
        for scalar in TerminalText.escape(value).unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
