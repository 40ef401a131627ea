/// The machine-readable report (`--format json`), described by docs/report.schema.json.
public enum JSONReport {
    public static func render(_ r: ScanResult) -> String {
        document(r).serialized()
    }

    static func document(_ r: ScanResult) -> JSONValue {
        .object([
            ("schema_version", .int(Int64(ScanResult.schemaVersion))),
            ("host", .string(r.host)),
            ("root", .string(r.rootDirectory)),
            ("started_at", .string(ScanResult.timestamp(r.startedAt))),
            ("finished_at", .string(ScanResult.timestamp(r.finishedAt))),
            ("version", .string(ScanResult.toolVersion)),
            ("sandbox", .bool(r.sandboxed)),
            (
                "baseline",
                .object([
                    ("name", .string(r.baselineName)),
                    ("sha256", .string(r.baselineOrigin.sha256)),
                    ("source", .string(r.baselineOrigin.source)),
                    ("signer", .string(r.baselineOrigin.signer))
                ])
            ),
            (
                "summary",
                .object([
                    ("entries", .int(Int64(r.entries))),
                    ("findings", .int(Int64(r.findingCount))),
                    ("findings_listed", .int(Int64(r.findings.count))),
                    ("errors", .int(Int64(r.errorCount))),
                    ("errors_listed", .int(Int64(r.errors.count))),
                    ("complete", .bool(r.isComplete))
                ])
            ),
            ("omitted", .object(r.omitted.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })),
            ("findings", .array(r.findings.map(finding))),
            ("errors", .array(r.errors.map(error))),
            ("skipped", .array(r.skipped.map { s in .object(JSONValue.pathFields(s.path) + [("reason", .string(s.reason))]) })),
            ("notices", .array(r.notices.map { .string($0) }))
        ])
    }

    static func finding(_ f: Finding) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("rule", .string(f.rule)),
            ("severity", .string(f.severity.rawValue)),
            ("kind", .string(f.kind.rawValue))
        ]
        fields += JSONValue.pathFields(f.path)
        fields += [("expected", .string(f.expected)), ("actual", .string(f.actual))]
        if let p = f.principal { fields.append(("principal", .string(p))) }
        if let r = f.right { fields.append(("right", .string(r))) }
        if let via = f.via { fields.append(("via", .array(via.map { .string($0.plainText) }))) }
        if let cause = f.cause { fields.append(("cause", .string(cause.plainText))) }
        fields.append(("widening", .bool(f.widening)))
        fields.append(("fingerprint", .string(f.fingerprint)))
        return .object(fields)
    }

    static func error(_ e: WalkError) -> JSONValue {
        .object(
            JSONValue.pathFields(e.path) + [
                ("syscall", .string(e.syscall)),
                ("errno", e.errno.map { .int(Int64($0.rawValue)) } ?? .null),
                ("errno_name", .string(e.errno?.name)),
                ("message", .string(e.message))
            ])
    }
}
