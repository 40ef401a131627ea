import Foundation

/// SARIF 2.1.0 for code-scanning tools: one result per finding, with rule metadata (description and
/// severity level) for every rule of the baseline. Paths are URIs relative to the scanned host's root
/// (`HOSTROOT`, `file:///`), percent-encoded byte by byte, so any name is carried exactly.
public enum SARIFReport {
    static let informationURI = "https://github.com/permdrift/permdrift"

    public static func render(_ r: ScanResult) -> String {
        var ruleIDs = r.rules.map(\.id)
        if r.findings.contains(where: { $0.rule == "pin" }) || r.hasPins { ruleIDs.append("pin") }
        if r.findings.contains(where: { $0.rule == "baseline" }) { ruleIDs.append("baseline") }
        var rules = [JSONValue]()
        for id in ruleIDs {
            let rule = r.rules.first { $0.id == id }
            let severity = rule?.severity ?? (id == "baseline" ? .critical : .high)
            let description =
                rule?.description
                ?? (id == "pin"
                    ? "A pinned path matches its approved state exactly."
                    : id == "baseline"
                        ? "The baseline is approved: signed by an allowed signer, its serial never going down." : "Baseline rule \(id).")
            rules.append(
                .object([
                    ("id", .string(id)),
                    ("name", .string(id)),
                    ("shortDescription", .object([("text", .string(description))])),
                    (
                        "fullDescription",
                        .object([
                            (
                                "text",
                                .string(
                                    description + (rule.map { " Matches " + $0.patterns.map(\.source).joined(separator: ", ") + "." } ?? "")
                                )
                            )
                        ])
                    ),
                    ("defaultConfiguration", .object([("level", .string(level(severity)))])),
                    (
                        "properties",
                        .object([
                            ("severity", .string(severity.rawValue)),
                            ("security-severity", .string(securitySeverity(severity))),
                            ("tags", .array([.string("security"), .string("permissions")]))
                        ])
                    )
                ]))
        }
        let results = r.findings.map { f -> JSONValue in
            var properties: [(String, JSONValue)] = [
                ("severity", .string(f.severity.rawValue)),
                ("kind", .string(f.kind.rawValue)),
                ("expected", .string(f.expected)),
                ("actual", .string(f.actual))
            ]
            if let p = f.principal { properties.append(("principal", .string(p))) }
            if let right = f.right { properties.append(("right", .string(right))) }
            if let via = f.via { properties.append(("via", .array(via.map { .string($0.plainText) }))) }
            if let cause = f.cause { properties.append(("cause", .string(cause.plainText))) }
            properties.append(("widening", .bool(f.widening)))
            // A finding below --fail-on does not fail the run: it is a note, so code scanning does not fail
            // the check on it either.
            let failing = r.failOn.counts(f)
            return .object([
                ("ruleId", .string(f.rule)),
                ("ruleIndex", .int(Int64(ruleIDs.firstIndex(of: f.rule) ?? 0))),
                ("level", .string(failing ? level(f.severity) : "note")),
                ("kind", .string(failing ? "fail" : "informational")),
                ("message", .object([("text", .string(message(f)))])),
                ("locations", .array([location(f.path)])),
                ("partialFingerprints", .object([("permdrift/v1", .string(f.fingerprint))])),
                ("properties", .object(properties))
            ])
        }
        var notifications = r.errors.map { e -> JSONValue in
            .object([
                ("level", .string("error")),
                ("message", .object([("text", .string(e.description))])),
                ("locations", .array([location(e.path)]))
            ])
        }
        notifications += r.notices.map { n in
            .object([("level", .string("note")), ("message", .object([("text", .string(TerminalText.escape(n)))]))])
        }
        let run: JSONValue = .object([
            (
                "tool",
                .object([
                    (
                        "driver",
                        .object([
                            ("name", .string("permdrift")),
                            ("version", .string(ScanResult.toolVersion)),
                            ("semanticVersion", .string(ScanResult.toolVersion)),
                            ("informationUri", .string(informationURI)),
                            ("rules", .array(rules))
                        ])
                    )
                ])
            ),
            (
                "invocations",
                .array([
                    .object([
                        ("executionSuccessful", .bool(r.isComplete)),
                        ("startTimeUtc", .string(ScanResult.timestamp(r.startedAt))),
                        ("endTimeUtc", .string(ScanResult.timestamp(r.finishedAt))),
                        ("toolExecutionNotifications", .array(notifications))
                    ])
                ])
            ),
            ("originalUriBaseIds", .object([("HOSTROOT", .object([("uri", .string("file:///"))]))])),
            ("results", .array(results)),
            (
                "properties",
                .object([
                    ("host", .string(r.host)),
                    ("root", .string(r.rootDirectory)),
                    (
                        "baseline",
                        .object([
                            ("name", .string(r.baselineName)),
                            ("sha256", .string(r.baselineOrigin.sha256)),
                            ("source", .string(r.baselineOrigin.source)),
                            ("signer", .string(r.baselineOrigin.signer))
                        ])
                    ),
                    ("complete", .bool(r.isComplete)),
                    ("entries", .int(Int64(r.entries))),
                    ("sandbox", .bool(r.sandboxed)),
                    ("failOn", .string(r.failOn.description))
                ])
            )
        ])
        return JSONValue.object([
            ("$schema", .string("https://json.schemastore.org/sarif-2.1.0.json")),
            ("version", .string("2.1.0")),
            ("runs", .array([run]))
        ]).serialized()
    }

    static func level(_ s: Severity) -> String {
        switch s {
        case .critical, .high: "error"
        case .medium: "warning"
        case .low: "note"
        }
    }

    /// GitHub code scanning's numeric scale (critical ≥ 9.0, high ≥ 7.0, medium ≥ 4.0).
    static func securitySeverity(_ s: Severity) -> String {
        switch s {
        case .critical: "9.5"
        case .high: "8.0"
        case .medium: "5.5"
        case .low: "3.0"
        }
    }

    /// Text for people (names escaped as in the text report; the location's URI is exact).
    static func message(_ f: Finding) -> String {
        let e = TerminalText.escape
        switch f.kind {
        case .access, .inheritedAccess:
            var text = "\(e(f.actual)) \(f.path); expected \(e(f.expected))."
            if let via = f.via, !via.isEmpty { text += " Via: " + via.map(\.terminalText).joined(separator: "; ") + "." }
            return text
        case .pinMissing:
            return "Pinned path \(f.path) is missing: \(e(f.actual))."
        case .baselineRejected:
            return "The baseline \(f.path) was rejected and nothing was scanned: \(e(f.actual))."
        default:
            return "\(f.kind.rawValue) of \(f.path) is \(e(f.actual)), expected \(e(f.expected))."
        }
    }

    static func location(_ path: HostPath) -> JSONValue {
        .object([
            (
                "physicalLocation",
                .object([
                    (
                        "artifactLocation",
                        .object([
                            ("uri", .string(uri(path))),
                            ("uriBaseId", .string("HOSTROOT"))
                        ])
                    )
                ])
            )
        ])
    }

    /// The path without its leading `/`, every byte outside RFC 3986's unreserved set (and `/`)
    /// percent-encoded.
    static func uri(_ path: HostPath) -> String {
        var out = ""
        for byte in path.bytes.drop(while: { $0 == UInt8(ascii: "/") }) {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out.isEmpty ? "./" : out
    }
}
