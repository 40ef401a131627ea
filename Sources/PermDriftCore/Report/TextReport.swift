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
            for f in shown { out += "  \(line(f)) [\(f.change)]\n" }
            if shown.count < plain.count {
                out += "  … and \(plain.count - shown.count) more (see --format json for all)\n"
            }
            out += accessCauses(group.findings)
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

    /// Access findings grouped by cause (`Finding.cause`, the entry where the access first opens): one
    /// entry per cause with the principals, their rights merged, the chain up to the cause once, and the
    /// paths (counted, with samples) with the rights on each and the entry that grants them there.
    static func accessCauses(_ findings: [Finding]) -> String {
        let e = TerminalText.escape
        var out = ""
        for c in causes(findings) {
            out += "  \(c.heading) [widening]\n"
            if !c.chain.isEmpty { out += "    through \(c.chain.map(\.terminalText).joined(separator: "; "))\n" }
            let shown = c.paths.count <= samplesPerRule * 2 ? c.paths[...] : c.paths.prefix(samplesPerRule)
            for p in shown {
                let granted = AccessRight.ordered.map(\.rawValue).filter(p.rights.contains).map(e).joined(separator: ", ")
                out += "    \(p.path) (\(granted): \(p.last))\n"
            }
            if shown.count < c.paths.count { out += "    … and \(c.paths.count - shown.count) more (see --format json for all)\n" }
        }
        return out
    }

    /// The access findings among `findings` by cause, those with the most paths first.
    static func causes(_ findings: [Finding]) -> [Cause] {
        let e = TerminalText.escape
        var causes = [String: Cause]()
        var order = [String]()
        for f in findings where f.isAccess {
            let via = f.via ?? []
            let inherited = f.kind == .inheritedAccess
            let key = "\(inherited)\u{0}" + (f.cause.map { "\($0.entry)\u{0}\($0.path)" } ?? "\u{0}\(f.actual)")
            if causes[key] == nil {
                order.append(key)
                // The chain up to and including the cause's step, printed once.
                let end = f.cause.flatMap { c in via.firstIndex { Finding.causeStep($0) == c } } ?? via.count - 1
                causes[key] = Cause(step: f.cause, inherited: inherited, chain: Array(via.prefix(end + 1)))
            }
            if let p = f.principal, !causes[key]!.principals.contains(p) { causes[key]!.principals.append(p) }
            let right = f.right ?? "?"
            causes[key]!.rights.insert(right)
            let last = via.last.map { e($0.entry) } ?? e(f.actual)
            if let i = causes[key]!.paths.firstIndex(where: { $0.path == f.path }) {
                if !causes[key]!.paths[i].rights.contains(right) { causes[key]!.paths[i].rights.append(right) }
            } else {
                causes[key]!.paths.append((f.path, [right], last))
            }
        }
        return order.sorted(by: { (causes[$0]!.paths.count, $1) > (causes[$1]!.paths.count, $0) }).map { causes[$0]! }
    }

    /// Access findings that share a cause.
    struct Cause {
        var step: AccessStep?
        var inherited: Bool
        var chain: [AccessStep]
        var principals: [String] = []
        var rights = Set<String>()
        var paths: [(path: HostPath, rights: [String], last: String)] = []

        /// `user:agent-bo:r-x on /home/agent-ada lets user:agent-bo read and execute: 3 paths`, escaped.
        var heading: String {
            let e = TerminalText.escape
            let who =
                principals.count <= 5
                ? principals.map(e).joined(separator: ", ")
                : principals.prefix(5).map(e).joined(separator: ", ") + " and \(principals.count - 5) more"
            let verb = inherited ? "would let" : "lets"
            let object =
                inherited
                ? "new entries of \(TextReport.count(paths.count, "directory", plural: "directories"))"
                : TextReport.count(paths.count, "path")
            return "\(step?.terminalText ?? "?") \(verb) \(who) \(TextReport.rights(rights)): \(object)"
        }
    }

    /// Rights merged for people: "read", "read and execute", "read, write and execute".
    static func rights(_ rights: Set<String>) -> String {
        let known = AccessRight.ordered.map(\.rawValue)
        let names = known.filter(rights.contains) + rights.subtracting(known).sorted().map(TerminalText.escape)
        return names.count <= 1 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names.last!
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
        if !parts.isEmpty {
            let widening = r.findings.filter(\.widening).count
            s += " (" + parts.joined(separator: ", ") + "; \(widening) widening, \(r.findings.count - widening) narrowing)"
        }
        s += ", \(count(r.errorCount, "error"))"
        if !r.isComplete {
            s += ": INCOMPLETE, the result cannot be trusted"
        } else if r.findings.isEmpty {
            s += ": no drift"
        } else if r.failingFindings == 0 && r.failOn.wideningOnly {
            s +=
                ": no drift that --fail-on \(r.failOn) counts (narrowing only\(r.failOn.severity == .low ? "" : " or lower severity")), the run passes"
        } else if r.failingFindings == 0 {
            s += ": drift below --fail-on \(r.failOn), the run passes"
        } else if r.failOn.wideningOnly {
            s += ": drift found (\(r.failingFindings) counted by --fail-on \(r.failOn))"
        } else if !r.failOn.isAnyDrift {
            s += ": drift found (\(r.failingFindings) at or above --fail-on \(r.failOn))"
        } else {
            s += ": drift found"
        }
        return s
    }

    static func count(_ n: Int, _ word: String, plural: String? = nil) -> String {
        "\(n) \(n == 1 ? word : (plural ?? word + "s"))"
    }
}
