/// The report for people: findings grouped by severity and rule, a few samples when many paths drift,
/// errors, skipped mounts, notices and a summary line. Every name is escaped (TerminalText).
public enum TextReport {
    /// Findings shown per rule before the rest are counted.
    public static let samplesPerRule = 10

    public static func render(_ r: ScanResult) -> String {
        var out = ""
        let e = TerminalText.escape
        out += "permdrift \(ScanResult.toolVersion): host \(e(r.host))"
        if r.rootDirectory != "/" { out += ", root \(e(r.rootDirectory))" }
        out += "\n"
        let source = r.baselineOrigin.isBuiltIn ? "the built-in default" : e(r.baselineOrigin.source)
        out += "baseline \(e(r.baselineName)) from \(source) (sha256 \(r.baselineOrigin.sha256.prefix(16)))"
        if let signer = r.baselineOrigin.signer { out += ", approved by \(e(signer))" }
        out += r.sandboxed ? ", Landlock sandbox on\n" : "\n"
        for group in r.findingsByRule {
            let more = r.omitted[group.rule] ?? 0
            out += "\n\(group.severity.rawValue.uppercased())  \(group.rule)  \(count(group.findings.count + more, "finding"))"
            out += more > 0 ? " (the first \(group.findings.count) in report order are listed, the rest counted)\n" : "\n"
            if let d = r.description(ofRule: group.rule) { out += "  \(e(d))\n" }
            let plain = group.findings.filter { $0.kind != .access && $0.kind != .inheritedAccess }
            let shown = plain.count <= samplesPerRule * 2 ? plain : Array(plain.prefix(samplesPerRule))
            for f in shown { out += "  \(line(f))\n" }
            if shown.count < plain.count {
                out += "  … and \(plain.count - shown.count) more (see --format json for all)\n"
            }
            out += accessCauses(group.findings.filter { $0.kind == .access || $0.kind == .inheritedAccess })
        }
        if !r.errors.isEmpty {
            out += "\nERRORS  the scan is incomplete: \(count(r.errorCount, "path")) could not be read\n"
            for err in r.errors.prefix(50) { out += "  \(err.description)\n" }
            if r.errorCount > 50 { out += "  … and \(r.errorCount - 50) more\n" }
        }
        if !r.skipped.isEmpty {
            out += "\nSKIPPED  not entered\n"
            for s in r.skipped { out += "  \(s.path): \(e(s.reason))\n" }
        }
        if !r.notices.isEmpty {
            out += "\nNOTICES\n"
            for n in r.notices { out += "  \(e(n))\n" }
        }
        out += "\n" + summary(r) + "\n"
        return out
    }

    /// Access findings grouped by cause (the right and the entries that grant it up to the last step), with
    /// counts and samples of the users and paths each cause exposes.
    static func accessCauses(_ findings: [Finding]) -> String {
        guard !findings.isEmpty else { return "" }
        let e = TerminalText.escape
        struct Cause { var principals: [String] = []; var paths: [(HostPath, String)] = [] }
        var causes = [String: Cause]()
        var order = [String]()
        for f in findings {
            let via = f.via ?? []
            let prefix = via.dropLast().map(\.terminalText).joined(separator: "; ")
            let verb = f.kind == .inheritedAccess ? "would \(e(f.right ?? "?")) new entries of" : "can \(e(f.right ?? "?"))"
            let key = "\(verb) (through \(prefix.isEmpty ? "the entry itself" : prefix))"
            if causes[key] == nil { order.append(key); causes[key] = Cause() }
            if let p = f.principal, !causes[key]!.principals.contains(p) { causes[key]!.principals.append(p) }
            let last = via.last.map { TerminalText.escape($0.entry) } ?? TerminalText.escape(f.actual)
            if !causes[key]!.paths.contains(where: { $0.0 == f.path }) { causes[key]!.paths.append((f.path, last)) }
        }
        var out = ""
        for key in order.sorted(by: { (causes[$0]!.paths.count, $1) > (causes[$1]!.paths.count, $0) }) {
            let c = causes[key]!
            let who =
                c.principals.count <= 5
                ? c.principals.map(e).joined(separator: ", ")
                : c.principals.prefix(5).map(e).joined(separator: ", ") + " and \(c.principals.count - 5) more"
            out += "  \(who) \(key): \(count(c.paths.count, "path"))\n"
            let shown = c.paths.count <= samplesPerRule * 2 ? c.paths[...] : c.paths.prefix(samplesPerRule)
            for (path, last) in shown { out += "    \(path) (\(last))\n" }
            if shown.count < c.paths.count { out += "    … and \(c.paths.count - shown.count) more (see --format json for all)\n" }
        }
        return out
    }

    static func line(_ f: Finding) -> String {
        let e = TerminalText.escape
        switch f.kind {
        case .pinMissing: return "\(f.path): pinned path missing: \(e(f.actual))"
        case .baselineRejected: return "\(f.path): baseline rejected, nothing was scanned: \(e(f.actual))"
        case .access, .inheritedAccess:
            var s = "\(f.path): \(e(f.principal ?? "?")) can \(e(f.right ?? "?"))"
            if let via = f.via, !via.isEmpty { s += " via " + via.map(\.terminalText).joined(separator: "; ") }
            return s
        default:
            let what = f.kind == .pin ? "pin" : f.kind.rawValue
            return "\(f.path): \(what) is \(e(f.actual)), expected \(e(f.expected))"
        }
    }

    static func summary(_ r: ScanResult) -> String {
        var bySeverity = [Severity: Int]()
        for f in r.findings { bySeverity[f.severity, default: 0] += 1 }
        for (rule, more) in r.omitted {
            if let severity = r.findings.first(where: { $0.rule == rule })?.severity { bySeverity[severity, default: 0] += more }
        }
        let parts = Severity.allCases.compactMap { s in bySeverity[s].map { "\($0) \(s.rawValue)" } }
        var s = "\(count(r.entries, "entry", plural: "entries")) scanned, \(count(r.findingCount, "finding"))"
        if !parts.isEmpty { s += " (" + parts.joined(separator: ", ") + ")" }
        s += ", \(count(r.errorCount, "error"))"
        if !r.isComplete {
            s += ": INCOMPLETE, the result cannot be trusted"
        } else if r.findings.isEmpty {
            s += ": no drift"
        } else if r.failingFindings == 0 {
            s += ": drift below --fail-on \(r.failOn.rawValue), the run passes"
        } else if r.failOn != .low {
            s += ": drift found (\(r.failingFindings) at or above --fail-on \(r.failOn.rawValue))"
        } else {
            s += ": drift found"
        }
        return s
    }

    static func count(_ n: Int, _ word: String, plural: String? = nil) -> String {
        "\(n) \(n == 1 ? word : (plural ?? word + "s"))"
    }
}
