/// JUnit XML for CI: one test case per rule (and one for pins), failures listing the paths and what
/// was expected; an incomplete scan is an error case of its own.
public enum JUnitReport {
    public static func render(_ r: ScanResult) -> String {
        var cases = [(name: String, failures: [Finding])]()
        var grouped = [String: [Finding]]()
        for f in r.findings { grouped[f.rule, default: []].append(f) }
        for rule in r.rules { cases.append((rule.id, grouped[rule.id] ?? [])) }
        if let pins = grouped["pin"] { cases.append(("pin", pins)) }
        if let rejected = grouped["baseline"] { cases.append(("baseline", rejected)) }
        // A rule none of whose findings --fail-on counts passes; its findings are still listed, in the
        // case's output.
        func failing(_ name: String) -> Bool {
            (grouped[name] ?? []).contains(where: r.failOn.counts)
        }
        let failures = cases.filter { !$0.failures.isEmpty && failing($0.name) }.count
        let errorCount = r.isComplete ? 0 : 1
        let suite = "permdrift." + TerminalText.escape(r.baselineName)
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"permdrift\" tests=\"\(cases.count + errorCount)\" failures=\"\(failures)\" errors=\"\(errorCount)\">\n"
        out +=
            "  <testsuite name=\"\(xml(suite))\" tests=\"\(cases.count + errorCount)\" failures=\"\(failures)\" errors=\"\(errorCount)\" hostname=\"\(xml(TerminalText.escape(r.host)))\" timestamp=\"\(ScanResult.timestamp(r.startedAt))\">\n"
        var properties: [(String, String)] = [
            ("baseline", r.baselineName), ("baseline.sha256", r.baselineOrigin.sha256), ("baseline.source", r.baselineOrigin.source),
            ("sandbox", r.sandboxed ? "true" : "false"), ("fail-on", r.failOn.description), ("complete", r.isComplete ? "true" : "false")
        ]
        if let signer = r.baselineOrigin.signer { properties.append(("baseline.signer", signer)) }
        for (i, notice) in r.notices.enumerated() { properties.append(("notice.\(i + 1)", notice)) }
        out += "    <properties>\n"
        for (name, value) in properties {
            out += "      <property name=\"\(xml(name))\" value=\"\(xml(TerminalText.escape(value)))\"/>\n"
        }
        out += "    </properties>\n"
        for c in cases {
            out += "    <testcase classname=\"\(xml(suite))\" name=\"\(xml(TerminalText.escape(c.name)))\""
            if c.failures.isEmpty { out += "/>\n"; continue }
            out += ">\n"
            let total = c.failures.count + (r.omitted[c.name] ?? 0)
            var message = "\(total) finding\(total == 1 ? "" : "s")"
            if total > c.failures.count { message += " (the first \(c.failures.count) listed)" }
            let lines = xml(c.failures.map { "\(TextReport.line($0)) [\($0.change)]" }.joined(separator: "\n"))
            if failing(c.name) {
                out += "      <failure message=\"\(xml(message))\" type=\"drift\">\(lines)</failure>\n"
            } else {
                out +=
                    "      <system-out>\(xml(message)) \(r.failOn.wideningOnly ? "not counted by" : "below") --fail-on \(r.failOn):\n\(lines)</system-out>\n"
            }
            out += "    </testcase>\n"
        }
        if !r.isComplete {
            out += "    <testcase classname=\"\(xml(suite))\" name=\"scan-complete\">\n"
            out += "      <error message=\"the scan is incomplete\" type=\"incomplete\">"
            out += xml(r.errors.map(\.description).joined(separator: "\n"))
            out += "</error>\n    </testcase>\n"
        }
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }

    /// XML-escapes text whose names are already escaped for terminals; any control character left (other
    /// than the line breaks between paths) is one XML 1.0 cannot carry and becomes U+FFFD.
    static func xml(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
