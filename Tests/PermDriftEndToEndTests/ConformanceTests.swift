import Foundation
import PermDriftTestSupport
import Testing

/// The shared conformance contract (the baseline format, docs/baseline.md, in executable form: the project contract's `conformance/run.py`), ported case by case.
///
/// Each case builds its own scratch host, changes it for real (chmod, chown, setfacl, setcap, mkfifo, link,
/// etc/group), writes a baseline, runs `permdrift scan --root ROOT --baseline FILE --format json` and checks the
/// exit code and which findings are present and absent, as run.py does. The scratch accounts use uids 33001..
/// where run.py uses 32001.. (ann 33001, bob 33002, svc 33100, eve 33101, group agents 33000).
@Suite(.enabled(if: Harness.isRoot, "needs root: builds trees owned by other uids"))
struct ConformanceTests {
    // MARK: The contract's cases

    @Test("conformance", arguments: ConformanceTests.scanCases)
    func scan(_ c: Case) throws {
        let host = try ScratchHost()
        defer { host.remove() }
        for mutation in c.mutations { try mutation.apply(to: host) }
        let (run, report) = try host.scanJSON(try host.baseline(c.baseline))
        let findings = report.findings
        #expect(run.status == c.exit, "exit \(run.status), want \(c.exit): \(run.stderr)")
        for want in c.present {
            #expect(findings.contains(where: want.matches), "missing finding \(want); got \(Self.describe(findings))")
        }
        for want in c.absent {
            #expect(!findings.contains(where: want.matches), "unexpected finding \(want); got \(Self.describe(findings))")
        }
    }

    @Test("conformance: baseline errors exit 2 at FILE:LINE:COLUMN", arguments: ConformanceTests.baselineErrorCases)
    func baselineError(_ c: BaselineErrorCase) throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(c.baseline)
        let run = try Harness.permdrift(["scan", "--root", host.root, "--baseline", file, "--format", "json"])
        #expect(run.status == 2, "exit \(run.status), want 2: \(run.stderr)")
        let location = try #require(
            run.stderr.firstMatch(of: /baseline\.yaml:(\d+):(\d+)/),
            "no FILE:LINE:COLUMN in the message: \(run.stderr)")
        #expect(Int(location.output.1) == c.line, "error points at line \(location.output.1), want \(c.line): \(run.stderr)")
    }
}

// MARK: - Case types

extension ConformanceTests {
    /// A scan case: baseline text, changes to the scratch host, the exit code and the findings that must
    /// (and must not) appear.
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let baseline: String
        let exit: Int32
        let present: [Want]
        let absent: [Want]
        let mutations: [Mutation]

        init(
            _ name: String, _ baseline: String, exit: Int32, present: [Want] = [], absent: [Want] = [],
            mutations: [Mutation] = []
        ) {
            self.name = name
            self.baseline = baseline
            self.exit = exit
            self.present = present
            self.absent = absent
            self.mutations = mutations
        }

        var testDescription: String { name }
    }

    struct BaselineErrorCase: Sendable, CustomTestStringConvertible {
        let name: String
        let line: Int
        let baseline: String

        init(_ name: String, line: Int, _ baseline: String) {
            self.name = name
            self.line = line
            self.baseline = baseline
        }

        var testDescription: String { "baseline error: \(name)" }
    }

    /// A finding named by (rule, path) or (rule, path, principal, right); rule nil means any rule.
    struct Want: Sendable, CustomStringConvertible {
        let rule: String?
        let path: String
        let principal: String?
        let right: String?

        init(_ rule: String?, _ path: String, _ principal: String? = nil, _ right: String? = nil) {
            self.rule = rule
            self.path = path
            self.principal = principal
            self.right = right
        }

        func matches(_ finding: [String: Any]) -> Bool {
            if let rule, finding["rule"] as? String != rule { return false }
            if finding["path"] as? String != path { return false }
            if let principal, finding["principal"] as? String != principal { return false }
            if let right, finding["right"] as? String != right { return false }
            return true
        }

        var description: String {
            "(" + [rule ?? "any rule", path, principal, right].compactMap { $0 }.joined(separator: ", ") + ")"
        }
    }

    /// A real change to the scratch host, made before the scan.
    enum Mutation: Sendable {
        case chmod(String, mode_t)
        case chown(String, uid: UInt32, gid: UInt32)
        case make(String, mode: mode_t, uid: UInt32 = 0, gid: UInt32 = 0, fifo: Bool = false)
        case mkdir(String, mode: mode_t)
        case setfacl(String, String, isDefault: Bool = false)
        /// `setfacl -n`: the mask is left as written, not recalculated.
        case setfaclKeepingMask(String, String)
        case setcap(String, String)
        case hardLink(String, at: String)
        case symlink(to: String, at: String)
        case addMember(String, toGroup: String)

        func apply(to host: ScratchHost) throws {
            switch self {
            case let .chmod(p, mode): try host.changeMode(p, mode)
            case let .chown(p, uid, gid): try host.changeOwner(p, uid: uid, gid: gid)
            case let .make(p, mode, uid, gid, fifo): try host.make(p, mode: mode, uid: uid, gid: gid, fifo: fifo)
            case let .mkdir(p, mode): try host.directory(p, mode: mode)
            case let .setfacl(p, spec, isDefault): try host.setfacl(p, spec, isDefault: isDefault)
            case let .setfaclKeepingMask(p, spec): try Harness.sh("/usr/bin/setfacl", "-P", "-n", "-m", spec, host.path(p))
            case let .setcap(p, capabilities): try host.setcap(p, capabilities)
            case let .hardLink(existing, p): try host.hardLink(existing, at: p)
            case let .symlink(target, p): try host.symbolicLink(to: target, at: p)
            case let .addMember(user, group): try host.addMember(user, toGroup: group)
            }
        }
    }

    static func describe(_ findings: [[String: Any]]) -> String {
        "["
            + findings.map { f in
                [f["rule"], f["path"], f["kind"], f["principal"], f["right"]].compactMap { $0 as? String }.joined(separator: " ")
            }.joined(separator: "; ") + "]"
    }
}
