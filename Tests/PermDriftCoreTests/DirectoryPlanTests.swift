import Foundation
import PermDriftTestSupport
import Testing

@testable import PermDriftCore

/// The evaluator decides most rules once per directory (`DirectoryMatch`, handed down the walk). Held against matching
/// every entry on its own, over a tree whose walk leaves directories and comes back to them, with
/// directories of the same depth one after another, captures bound in several segments, `where`
/// clauses, several patterns per rule, and access rules whose allowed principals come from captures.
@Suite("Rules decided once per directory")
struct DirectoryPlanTests {
    static let accounts = AccountDatabase(
        passwd: "root:x:0:0::/root:/bin/sh\nann:x:33001:33001::/home/ann:/bin/sh\nbob:x:33002:33002::/home/bob:/bin/sh\n"
            + "carol:x:33003:33003::/home/carol:/bin/sh\n",
        group: "root:x:0:\nann:x:33001:\nbob:x:33002:\ncarol:x:33003:\nagents:x:33000:ann,bob\n")

    static let baseline = """
        version: 1
        name: plans
        scan:
          roots: [/home, /srv]
        rules:
          - id: home-owned
            severity: high
            match: /home/{agent}
            where: { agent: member-of agents }
            types: [directory]
            expect: { owner: "{agent}", mode: "0700" }
          - id: transcripts
            severity: critical
            match: ["/home/{agent}/transcripts/**", "/home/{agent}/t2/**"]
            where: { agent: member-of agents }
            types: [file]
            expect: { owner: "{agent}", mode: "0600" }
          - id: not-agents
            severity: low
            match: /home/{who}/**
            where: { who: not-member-of agents }
            expect: { mode: "<=0755" }
          - id: named-after-home
            severity: medium
            match: /home/{a}/**/{a}.md
            types: [file]
            expect: { owner: "{a}" }
          - id: caches
            severity: low
            match: /home/**/cache/**
            expect: { mode: "<=0750" }
          - id: private
            severity: critical
            match: /home/{agent}/**
            where: { agent: member-of agents }
            access: { read: ["{agent}"], write: ["{agent}"] }
          - id: jsonl
            severity: low
            match: /home/*/transcripts/t?.jsonl
            expect: { mode: "0600" }
          - id: srv
            severity: high
            match: /srv/**
            access: { write: [] }
        """

    static func build(_ root: String) throws {
        let fm = FileManager.default
        func dir(_ p: String, _ mode: Int, _ uid: UInt32) throws {
            try fm.createDirectory(atPath: root + p, withIntermediateDirectories: true)
            chmod(root + p, mode_t(mode)); chown(root + p, uid, uid)
        }
        func file(_ p: String, _ mode: Int, _ uid: UInt32) {
            #expect(fm.createFile(atPath: root + p, contents: nil))
            chmod(root + p, mode_t(mode)); chown(root + p, uid, uid)
        }
        chmod(root, 0o755)  // it stands for `/`: everyone reaches what is below
        try dir("/home", 0o755, 0)
        try dir("/srv", 0o755, 0)
        for (name, uid) in [("ann", UInt32(33001)), ("bob", 33002), ("carol", 33003)] {
            try dir("/home/\(name)", name == "bob" ? 0o755 : 0o700, uid)
            try dir("/home/\(name)/transcripts", 0o700, uid)
            try dir("/home/\(name)/t2", 0o700, uid)
            try dir("/home/\(name)/ws/a/cache/deep", 0o755, uid)
            try dir("/home/\(name)/ws/b", 0o777, uid)
            // Files after and between subdirectories, so the walk returns to each directory.
            for i in 0..<6 {
                file("/home/\(name)/transcripts/t\(i).jsonl", i % 3 == 0 ? 0o644 : 0o600, i == 4 ? 33002 : uid)
                file("/home/\(name)/t2/s\(i)", i == 2 ? 0o640 : 0o600, uid)
                file("/home/\(name)/ws/a/f\(i)", 0o644, uid)
                file("/home/\(name)/ws/a/cache/c\(i)", i % 2 == 0 ? 0o770 : 0o640, uid)
                file("/home/\(name)/ws/a/cache/deep/d\(i)", 0o666, uid)
                file("/home/\(name)/ws/b/g\(i)", 0o606, uid)
            }
            file("/home/\(name)/ws/a/\(name).md", 0o644, name == "ann" ? 33002 : uid)
            file("/home/\(name)/ws/a/cache/\(name).md", 0o600, uid)
            file("/home/\(name)/ws/a/other.md", 0o644, 0)
            file("/home/\(name)/transcripts/t10.jsonl", 0o644, uid)
        }
        try dir("/srv/shared", 0o775, 0)
        for i in 0..<5 { file("/srv/shared/m\(i)", i == 3 ? 0o666 : 0o644, 0) }
    }

    static func scan(_ root: String, perDirectory: Bool, threads: Int) throws -> [Finding] {
        let baseline = try BaselineLoader(accounts: accounts).load(Array(Self.baseline.utf8), file: "plans.yaml")
        var scanner = Scanner(baseline: baseline, accounts: accounts, rootDirectory: root)
        scanner.options.threads = threads
        scanner.decidesPerDirectory = perDirectory
        let result = try scanner.run()
        #expect(result.errors.isEmpty, "\(result.errors.prefix(3))")
        return result.findings
    }

    @Test(
        "the same findings as matching every entry, on one thread and on two",
        .enabled(if: geteuid() == 0, "needs root to give files to other owners"))
    func sameFindingsAsMatchingEveryEntry() throws {
        let root = try makeTemporaryDirectory(prefix: "pd-walk")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.build(root)
        let reference = try Self.scan(root, perDirectory: false, threads: 1)
        // The tree drifts against every rule; a plan that decided wrongly would lose or add findings.
        let rules = Set(reference.map(\.rule))
        #expect(
            rules == ["home-owned", "transcripts", "not-agents", "named-after-home", "caches", "private", "jsonl", "srv"],
            "\(rules.sorted())")
        #expect(reference.count > 60, "\(reference.count)")
        for threads in [1, 2] {
            let planned = try Self.scan(root, perDirectory: true, threads: threads)
            let same = planned == reference
            let firstDifference = zip(planned, reference).first { $0 != $1 }.map {
                "\($0.0.rule) \($0.0.path) vs \($0.1.rule) \($0.1.path)"
            }
            #expect(
                same,
                "threads \(threads): \(planned.count) findings, \(reference.count) expected; first difference: \(firstDifference ?? "none")"
            )
        }
    }
}
