import Foundation
import Testing

@testable import PermDriftCore

/// `RepairPlan` built from findings directly: the exact change per kind, one change per cause, the
/// refusals, and names escaped.
struct RepairPlanTests {
    static let names: [UInt32: String] = [0: "root", 1001: "ann", 1002: "bob", 1003: "b\u{1B}[2J\u{202E}x"]

    static func result(_ findings: [Finding], errors: [WalkError] = []) -> ScanResult {
        ScanResult(
            host: "h", rootDirectory: "/", startedAt: Date(), finishedAt: Date(), baselineName: "b",
            baselineOrigin: BaselineOrigin(source: "b", sha256: "", isBuiltIn: false, signer: nil), entries: 1,
            findings: findings, errors: errors, skipped: [], notices: [], rules: [])
    }

    static func finding(
        _ kind: FindingKind, _ path: String, _ target: RepairTarget?, _ record: FileRecord, rule: String = "r",
        types: Set<FileType>? = nil
    ) -> Finding {
        var f = Finding(rule: rule, severity: .high, kind: kind, path: HostPath(path), expected: "e", actual: "a")
        f.repair = target.map { RepairBasis(record: record, target: $0, ruleTypes: types) }
        return f
    }

    static func text(_ findings: [Finding], errors: [WalkError] = []) -> [String] {
        RepairPlan(result(findings, errors: errors)).text(userName: { names[$0] }, groupName: { names[$0] })
            .split(separator: "\n").map(String.init)
    }

    static func acl(_ entries: [PosixACL.Entry]) -> PosixACL { PosixACL(entries: entries) }
    static let file = FileRecord(type: .file, mode: 0o4644, uid: 1002, gid: 1002, inode: 7)
    static let withACL = FileRecord(
        type: .directory, mode: 0o750, uid: 1001, gid: 1001, links: 4, inode: 9,
        acl: acl([.init(.userObject, 7), .init(.user, id: 1002, 5), .init(.groupObject, 0), .init(.mask, 5), .init(.other, 0)]),
        defaultACL: acl([.init(.userObject, 7), .init(.groupObject, 0), .init(.other, 0)]))

    @Test func eachKindHasItsExactChange() {
        let lines = Self.text([
            Self.finding(.mode, "/a", .mode(.exact(0o600)), Self.file),
            Self.finding(.mode, "/b", .mode(.atMost(0o2750)), FileRecord(type: .directory, mode: 0o2777, uid: 0, gid: 0)),
            Self.finding(.owner, "/a", .owner(1001), Self.file),
            Self.finding(.group, "/a", .group(0), Self.file),
            Self.finding(.capabilities, "/a", .noCapabilities, Self.file),
            Self.finding(.acl, "/d", .acl(.none), Self.withACL),
            Self.finding(.defaultACL, "/d", .defaultACL(.none), Self.withACL),
            Self.finding(.acl, "/e", .acl(.exact(Self.acl([.init(.userObject, 6), .init(.groupObject, 4), .init(.other, 0)]))), Self.file),
            Self.finding(
                .defaultACL, "/f", .defaultACL(.exact(Self.acl([.init(.userObject, 7), .init(.groupObject, 0), .init(.other, 0)]))),
                FileRecord(type: .directory, mode: 0o700, uid: 0, gid: 0))
        ])
        for change in [
            "  mode 4644 → 0600", "  mode 2777 → 2750", "  owner bob → ann", "  group bob → root", "  remove security.capability",
            "  remove ACL entry user:bob:r-x", "  remove the default ACL", "  set ACL to user::rw-,group::r--,other::---"
        ] {
            #expect(lines.contains(change), "\(change) not in \(lines)")
        }
        #expect(lines.contains("  set default ACL to user::rwx,group::---,other::---"), "\(lines)")
        #expect(lines.contains("    leaves no extended ACL (user::rwx,group::---,other::---)"), "\(lines)")
        #expect(lines.contains("  the scan saw: file, device 0, inode 7, ctime 0.000000000, 1 link (a repair checks these first)"))
    }

    @Test func accessFindingsPointToTheirCausesChangeAndEachChangeIsListedOnce() {
        var access = [Finding]()
        for (path, right) in [("/d", "read"), ("/d", "execute"), ("/d/x", "read")] {
            var f = Finding(
                rule: "p", severity: .high, kind: .access, path: HostPath(path), expected: "", actual: "", principal: "user:bob",
                right: right,
                via: [AccessStep(entry: "user:bob:r-x", path: HostPath("/d")), AccessStep(entry: "other::r--", path: HostPath(path))])
            f.cause = AccessStep(entry: "user:bob:r-x", path: HostPath("/d"))
            access.append(f)
        }
        var member = Finding(
            rule: "p", severity: .high, kind: .access, path: HostPath("/s"), expected: "", actual: "", principal: "user:bob",
            right: "write", via: [AccessStep(entry: "group:agents:rwx", path: HostPath("/s"))])
        member.cause = AccessStep(entry: "group:agents:rwx", path: HostPath("/s"))
        let plan = RepairPlan(
            Self.result(
                [
                    Self.finding(.acl, "/d", .acl(.none), Self.withACL, rule: "one"),
                    Self.finding(.acl, "/d", .acl(.none), Self.withACL, rule: "two")
                ]
                    + access + [member]))
        #expect(plan.actions.count == 1)
        #expect(plan.actions.first?.findings.count == 2)
        #expect(plan.actions.first?.access.count == 3)
        #expect(plan.unrepairable.count == 1)
        #expect(plan.unrepairable.first?.advice.contains("membership in group agents") == true)
        #expect(plan.unrepairable.first?.path == HostPath("/s"))
    }

    @Test func ownerAndGroupChangesAreRefusedOnAMultiplyLinkedInodeOrATypeTheRuleDoesNotName() {
        var linked = Self.file
        linked.links = 2
        let symlink = FileRecord(type: .symlink, mode: 0o777, uid: 1002, gid: 1002)
        let plan = RepairPlan(
            Self.result([
                Self.finding(.owner, "/a", .owner(1001), linked),
                Self.finding(.group, "/b", .group(1001), symlink),
                Self.finding(.owner, "/c", .owner(1002), Self.withACL),
                Self.finding(.owner, "/e", .owner(1001), Self.file, types: [.directory]),
                Self.finding(.mode, "/a", .mode(.exact(0o600)), linked)
            ]))
        #expect(plan.actions.count == 5)
        func refusal(_ key: String) -> String? { plan.actions.first { "\($0.path) \($0.change.kind)" == key }?.refusal }
        #expect(refusal("/a owner")?.hasPrefix("the inode has 2 links") == true)
        #expect(refusal("/b group")?.hasPrefix("the entry is a symlink, which the rule does not name (directory, file); ") == true)
        #expect(refusal("/c owner") == nil, "a directory's link count is its subdirectories")
        #expect(refusal("/e owner")?.hasPrefix("the entry is a file, which the rule does not name (directory); ") == true)
        #expect(refusal("/a mode")?.hasPrefix("the inode has 2 links") == true, "any change reaches the other name too")
    }

    @Test func namesAreEscapedAndAnIncompleteScanSaysSo() {
        let lines = Self.text(
            [Self.finding(.owner, "/h/\u{7}\u{202E}", .owner(1003), Self.file)], errors: [WalkError(path: HostPath("/x"), message: "m")])
        let joined = lines.joined(separator: "\n")
        #expect(!joined.contains("\u{1B}") && !joined.contains("\u{202E}") && !joined.contains("\u{7}"))
        #expect(lines.contains("  owner bob → b\\x1b[2J\\u202ex"), "\(lines)")
        #expect(lines.contains("/h/\\x07\\u202e"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("The scan is incomplete") })
    }

    @Test func unrepairableFindingsSayWhyAndWhatAnAdminWouldDo() {
        let lines = Self.text([
            Finding(rule: "r", severity: .high, kind: .links, path: HostPath("/l"), expected: "1", actual: "2"),
            Finding(rule: "pin", severity: .high, kind: .pinMissing, path: HostPath("/p"), expected: "", actual: "no such file")
        ])
        #expect(lines.contains { $0.hasPrefix("  cannot repair: 2 links where the rule expects 1") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("  cannot repair: the pinned path is missing") }, "\(lines)")
        #expect(lines.filter { $0.hasPrefix("    an admin would: ") }.count == 2)
    }
}
