import Foundation
import Testing

@testable import PermDriftCore

/// The state a repair aims at (as the kernel would leave it), and the journal that records it.
struct RepairJournalTests {
    static let named = PosixACL(entries: [
        .init(.userObject, 7), .init(.user, id: 33002, 5), .init(.groupObject, 0), .init(.mask, 5), .init(.other, 0)
    ])

    @Test func removingTheNamedEntriesPutsTheOwningGroupsBitsBackInTheMode() {
        let s = InodeState(uid: 1, gid: 1, mode: 0o750, acl: Self.named, defaultACL: nil, capability: nil)
        let minimal = PosixACL(entries: Self.named.entries.filter { [.userObject, .groupObject, .other].contains($0.tag) })
        let after = s.with(.removeACLEntries([.init(.user, id: 33002, 5)], leaves: minimal), type: .directory)
        #expect(after.acl == nil)
        #expect(after.mode == 0o700)
        #expect(s.with(.setACL(from: Self.named, to: nil), type: .directory) == after)
    }

    @Test func aModeChangeMovesTheMaskOfAnExtendedACL() {
        let s = InodeState(uid: 1, gid: 1, mode: 0o750, acl: Self.named, defaultACL: nil, capability: nil)
        let after = s.with(.mode(from: 0o750, to: 0o700), type: .file)
        #expect(after.mode == 0o700)
        #expect(after.acl?.permissions(of: .mask) == 0)
        #expect(after.acl?.entries.contains(.init(.user, id: 33002, 5)) == true)
    }

    @Test func aNewOwnerOfAFileClearsSetuidAndCapabilitiesButNotOfADirectory() {
        let s = InodeState(uid: 1, gid: 1, mode: 0o6755, acl: nil, defaultACL: nil, capability: [1, 2, 3])
        let file = s.with(.owner(from: 1, to: 2), type: .file)
        #expect(file.uid == 2 && file.mode == 0o755 && file.capability == nil)
        let directory = s.with(.group(from: 1, to: 2), type: .directory)
        #expect(directory.gid == 2 && directory.mode == 0o6755)
    }

    @Test func aStateGoesThroughTheJournalUnchanged() throws {
        let state = InodeState(
            uid: 33001, gid: 33000, mode: 0o2750, acl: Self.named,
            defaultACL: PosixACL(entries: [
                .init(.userObject, 7), .init(.groupObject, 5), .init(.group, id: 33000, 7), .init(.mask, 7), .init(.other, 0)
            ]),
            capability: [0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        var entry = JournalEntry(event: .done)
        entry.before = JournalState(state)
        let line = try JournalCoding.encode(entry)
        let decoded = try JournalCoding.decode(line, file: "j")
        #expect(decoded.count == 1)
        #expect(decoded[0].entry.before?.state == state)
        #expect(
            InodeState(uid: 0, gid: 0, mode: 0o644, acl: nil, defaultACL: nil, capability: nil)
                == JournalState(.init(uid: 0, gid: 0, mode: 0o644, acl: nil, defaultACL: nil, capability: nil)).state)
    }

    @Test func damagedJournalsAreRefusedNamingTheLine() throws {
        let start = #"{"event":"start","root":"/","run":"R"}"#
        let begin =
            #"{"before":{"gid":0,"mode":"0644","uid":0},"device":1,"event":"begin","inode":2,"path":"/a","path_hex":"2f61","type":"file"}"#
        let done =
            #"{"after":{"gid":0,"mode":"0600","uid":0},"before":{"gid":0,"mode":"0644","uid":0},"ctime_after":"1.000000000","device":1,"event":"done","inode":2,"path":"/a","path_hex":"2f61","type":"file"}"#
        func steps(_ lines: [String]) throws(JournalError) -> [RepairUndo.Step] {
            try RepairUndo.steps(
                try JournalCoding.decode(Array(lines.joined(separator: "\n").utf8), file: "/state/fix-R.jsonl"), file: "/state/fix-R.jsonl"
            ).1
        }
        let good = try steps([start, begin, done])
        #expect(good.count == 1 && good[0].after?.mode == 0o600 && good[0].before.mode == 0o644 && !good[0].interrupted)
        #expect(try steps([start, begin]).first?.interrupted == true)
        let cases: [([String], String)] = [
            ([begin, done], "/state/fix-R.jsonl:1: does not begin with the run's start line"),
            ([start, "{not json"], "/state/fix-R.jsonl:2: not a journal entry (not JSON)"),
            ([start, #"{"event":"begin"}"#], "/state/fix-R.jsonl:2: the begin entry lacks a valid path_hex"),
            ([start, done], "/state/fix-R.jsonl:2: a done entry without its begin entry"),
            (
                [start, begin.replacingOccurrences(of: "\"0644\"", with: "\"99\"")],
                "/state/fix-R.jsonl:2: the begin entry lacks a valid before"
            ),
            ([start, #"{"event":"explode"}"#], "/state/fix-R.jsonl:2: not a journal entry (\"event\" is not valid)")
        ]
        for (lines, message) in cases {
            #expect(throws: JournalError.self) { try steps(lines) }
            do { _ = try steps(lines) } catch { #expect(error.description == message) }
        }
    }

    @Test func runNamesAreNeverPaths() {
        #expect(FixRunName.isValid("20261207T012345Z"))
        #expect(FixRunName.isValid("20261207T012345Z-2"))
        for bad in ["", "../x", "a/b", "fix-1.jsonl", ".", String(repeating: "1", count: 65)] { #expect(!FixRunName.isValid(bad)) }
        #expect(FixRunName.make(now: Date(timeIntervalSince1970: 1_796_604_850)) == "20261207T005410Z")
    }

    @Test func hexRoundTrips() {
        let bytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xff, 0x2f]
        #expect(Hex.encode(bytes) == "00017f80ff2f")
        #expect(Hex.decode("00017f80ff2f") == bytes)
        #expect(Hex.decode("0") == nil && Hex.decode("zz") == nil && Hex.decode("AB") == nil)
    }

    @Test func privilegeIsNeverGivenToAFile() {
        let agents = InodeState(uid: 33001, gid: 33001, mode: 0o755, acl: nil, defaultACL: nil, capability: nil)
        func refusal(_ from: InodeState, _ changes: [RepairAction.Change], _ type: FileType = .file) -> String? {
            from.privilegeRefusal(to: changes.reduce(from) { $0.with($1, type: type) }, type: type)
        }
        #expect(refusal(agents, [.owner(from: 33001, to: 0)])?.hasPrefix("this would give the file root's ownership; ") == true)
        #expect(refusal(agents, [.mode(from: 0o755, to: 0o4755)])?.contains("a setuid or setgid bit") == true)
        // A setgid or setuid bit kept while the group or owner it runs as changes (the review's disk helper).
        let setgid = InodeState(uid: 33001, gid: 33001, mode: 0o2644, acl: nil, defaultACL: nil, capability: nil)
        #expect(refusal(setgid, [.group(from: 33001, to: 6), .mode(from: 0o2644, to: 0o2755)])?.contains("setgid to another group") == true)
        let setuid = InodeState(uid: 33001, gid: 33001, mode: 0o4754, acl: nil, defaultACL: nil, capability: nil)
        #expect(
            refusal(setuid, [.owner(from: 33001, to: 33100), .mode(from: 0o4754, to: 0o4755)])?.contains("setuid to another owner") == true)
        // Root's own unwritable file gets no setuid bit from fix either (the review's two-run attack).
        let roots = InodeState(uid: 0, gid: 0, mode: 0o755, acl: nil, defaultACL: nil, capability: nil)
        #expect(refusal(roots, [.mode(from: 0o755, to: 0o4755)]) != nil)
        var capable = agents
        capable.capability = [1]
        #expect(agents.privilegeRefusal(to: capable, type: .file)?.contains("capabilities (security.capability)") == true)
        // Taking privilege away, handing a file from one agent to another, and directories: allowed.
        #expect(capable.privilegeRefusal(to: agents, type: .file) == nil)
        #expect(refusal(agents, [.owner(from: 33001, to: 33002)]) == nil)
        #expect(refusal(setuid, [.mode(from: 0o4754, to: 0o754)]) == nil)
        #expect(refusal(agents, [.owner(from: 33001, to: 0), .mode(from: 0o755, to: 0o2755)], .directory) == nil)
    }

    @Test func removingAnACLNeverGivesTheOwningGroupMoreThanTheMaskAllowed() {
        let acl = PosixACL(entries: [
            .init(.userObject, 6), .init(.user, id: 33002, 4), .init(.groupObject, 7), .init(.mask, 4), .init(.other, 0)
        ])
        #expect(acl.baseEntries == PosixACL(mode: 0o640))
        let s = InodeState(uid: 1, gid: 1, mode: 0o640, acl: acl, defaultACL: nil, capability: nil)
        #expect(s.with(.setACL(from: acl, to: nil), type: .file).mode == 0o640)
    }
}
