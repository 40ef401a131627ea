import Testing

@testable import PermDriftCore

/// The widening table of docs/baseline.md ("Widening or narrowing"), kind by kind, against `Widening`
/// and, for pins, `RuleEvaluator.checkPin` and `missingPin`.
struct WideningTests {
    static let accounts = AccountDatabase(
        passwd: "root:x:0:0::/root:/bin/sh\nann:x:33001:33001::/home/ann:/bin/sh\nbob:x:33002:33002::/home/bob:/bin/sh\n",
        group: "root:x:0:\nann:x:33001:\nbob:x:33002:\nagents:x:33000:ann,bob\n",
        root: "ROOT")

    static func acl(_ entries: [PosixACL.Entry]) -> PosixACL { PosixACL(entries: entries) }

    /// `user::rw-,user:bob:BOB,group::r--,mask::MASK,other::---`
    static func bobACL(_ bob: UInt8, mask: UInt8 = 7) -> PosixACL {
        acl([.init(.userObject, 6), .init(.user, id: 33002, bob), .init(.groupObject, 4), .init(.mask, mask), .init(.other, 0)])
    }

    // MARK: - mode

    @Test func modeAnExtraPermissionBitWidensAndALostOneNarrows() {
        #expect(Widening.mode(expected: .exact(0o600), actual: 0o640, isDirectory: false))
        #expect(Widening.mode(expected: .exact(0o600), actual: 0o604, isDirectory: false))
        #expect(!Widening.mode(expected: .exact(0o600), actual: 0o400, isDirectory: false))
        #expect(!Widening.mode(expected: .exact(0o750), actual: 0o700, isDirectory: true))
        // One bit gained and one lost: widening.
        #expect(Widening.mode(expected: .exact(0o640), actual: 0o604, isDirectory: false))
    }

    @Test func modeSetuidAndSetgidWiden() {
        #expect(Widening.mode(expected: .exact(0o755), actual: 0o4755, isDirectory: false))
        #expect(Widening.mode(expected: .exact(0o755), actual: 0o2755, isDirectory: false))
        #expect(Widening.mode(expected: .exact(0o750), actual: 0o2750, isDirectory: true))
        // Losing them narrows.
        #expect(!Widening.mode(expected: .exact(0o4755), actual: 0o755, isDirectory: false))
        #expect(!Widening.mode(expected: .exact(0o2750), actual: 0o750, isDirectory: true))
    }

    @Test func modeAStickyBitLostOnADirectoryWidensGainedOrOnAFileNot() {
        #expect(Widening.mode(expected: .exact(0o1777), actual: 0o777, isDirectory: true))
        #expect(Widening.mode(expected: .exact(0o1770), actual: 0o770, isDirectory: true))
        #expect(!Widening.mode(expected: .exact(0o1777), actual: 0o777, isDirectory: false))
        #expect(!Widening.mode(expected: .exact(0o777), actual: 0o1777, isDirectory: true))
    }

    @Test func modeBeyondAnAtMostModeAlwaysWidens() {
        #expect(Widening.mode(expected: .atMost(0o750), actual: 0o770, isDirectory: true))
        #expect(Widening.mode(expected: .atMost(0o640), actual: 0o4640, isDirectory: false))
        #expect(Widening.mode(expected: .atMost(0o777), actual: 0o1777, isDirectory: true))
        // Every mode a `<=` mode does not allow (and so reports) widens.
        for spec in [0o600, 0o640, 0o750, 0o2750] as [UInt32] {
            for actual in stride(from: UInt32(0), through: 0o7777, by: 1) where !ModeSpec.atMost(spec).allows(actual) {
                #expect(Widening.mode(expected: .atMost(spec), actual: actual, isDirectory: actual & 1 == 0))
            }
        }
    }

    // MARK: - acl

    @Test func aclAnEntryThatGrantsMoreWidensOneThatGrantsLessNarrows() {
        let expected = Self.bobACL(4)
        #expect(Widening.acl(expected: expected, actual: Self.bobACL(6)))
        #expect(!Widening.acl(expected: expected, actual: Self.bobACL(0)))
        #expect(!Widening.acl(expected: expected, actual: Self.bobACL(4)))
        // After the mask: rw- under mask r-- grants only r--.
        #expect(!Widening.acl(expected: expected, actual: Self.bobACL(6, mask: 4)))
        // A mask that lets the owning group do more widens.
        #expect(Widening.acl(expected: Self.bobACL(4, mask: 4), actual: Self.bobACL(4, mask: 7).with(.groupObject, 6)))
        // An entry the expected ACL lacks grants nothing there: a new one that grants anything widens.
        #expect(Widening.acl(expected: PosixACL(mode: 0o640), actual: Self.bobACL(4)))
        #expect(!Widening.acl(expected: PosixACL(mode: 0o640), actual: Self.bobACL(0, mask: 4)))
        // Other gains a right.
        #expect(Widening.acl(expected: PosixACL(mode: 0o640), actual: PosixACL(mode: 0o644)))
        #expect(!Widening.acl(expected: PosixACL(mode: 0o640), actual: PosixACL(mode: 0o600)))
    }

    @Test func aclNoneWithANamedEntryWidensWhenItGrantsAnything() {
        #expect(Widening.acl(expected: nil, actual: Self.bobACL(4)))
        #expect(
            Widening.acl(
                expected: nil,
                actual: Self.acl([
                    .init(.userObject, 6), .init(.groupObject, 0), .init(.group, id: 33000, 4), .init(.mask, 4), .init(.other, 0)
                ])))
        // A named entry the mask takes everything from grants nothing.
        #expect(!Widening.acl(expected: nil, actual: Self.bobACL(6, mask: 0)))
        #expect(!Widening.acl(expected: nil, actual: nil))
    }

    // MARK: - default-acl

    @Test func defaultACLWhereNoneIsExpected() {
        let ownerOnly = Self.acl([.init(.userObject, 7), .init(.groupObject, 0), .init(.other, 0)])
        #expect(!Widening.defaultACL(expected: nil, actual: ownerOnly))
        #expect(Widening.defaultACL(expected: nil, actual: ownerOnly.with(.groupObject, 5)))
        #expect(Widening.defaultACL(expected: nil, actual: ownerOnly.with(.other, 4)))
        #expect(Widening.defaultACL(expected: nil, actual: Self.bobACL(5)))
        #expect(!Widening.defaultACL(expected: nil, actual: nil))
    }

    @Test func defaultACLAgainstAnExpectedOneIsAsACL() {
        #expect(Widening.defaultACL(expected: Self.bobACL(4), actual: Self.bobACL(6)))
        #expect(!Widening.defaultACL(expected: Self.bobACL(6), actual: Self.bobACL(4)))
        #expect(!Widening.defaultACL(expected: Self.bobACL(6), actual: nil))
    }

    // MARK: - owner, group, links, capabilities, type

    @Test func ownerWidensUnlessRoot() {
        #expect(!Widening.owner(actual: 0))
        #expect(Widening.owner(actual: 33002))
        #expect(Widening.owner(actual: 65534))
    }

    @Test func groupWidensWhenTheGroupClassGrantsAnything() {
        #expect(!Widening.group(FileRecord(type: .file, mode: 0o600, uid: 33001, gid: 33000)))
        #expect(!Widening.group(FileRecord(type: .directory, mode: 0o707, uid: 33001, gid: 33000)))
        #expect(Widening.group(FileRecord(type: .file, mode: 0o640, uid: 33001, gid: 33000)))
        #expect(Widening.group(FileRecord(type: .directory, mode: 0o710, uid: 33001, gid: 33000)))
        // With an ACL: the owning group's entry after the mask (the mode's group bits are the mask).
        let masked = Self.bobACL(7, mask: 0).with(.groupObject, 5)
        #expect(!Widening.group(FileRecord(type: .directory, mode: 0o700, uid: 33001, gid: 33000, acl: masked)))
        let open = Self.bobACL(4, mask: 4).with(.groupObject, 4)
        #expect(Widening.group(FileRecord(type: .file, mode: 0o640, uid: 33001, gid: 33000, acl: open)))
        let groupNothing = Self.bobACL(7).with(.groupObject, 0)
        #expect(!Widening.group(FileRecord(type: .file, mode: 0o670, uid: 33001, gid: 33000, acl: groupNothing)))
    }

    @Test func linksWidenWhenMore() {
        #expect(Widening.links(expected: 1, actual: 2))
        #expect(!Widening.links(expected: 2, actual: 1))
    }

    @Test func capabilitiesAndTypeAlwaysWiden() {
        #expect(Widening.capabilities)
        #expect(Widening.type)
    }

    // MARK: - pin, pin-missing

    static func pinEvaluator() throws -> (RuleEvaluator, Pin) {
        let text = """
            version: 1
            name: t
            scan:
              roots: [/srv]
            rules: []
            pins:
              /srv/shared:
                type: directory
                owner: root
                group: agents
                mode: "2750"

            """
        let baseline = try BaselineLoader(accounts: accounts).load(Array(text.utf8), file: "baseline.yaml")
        return (RuleEvaluator(baseline: baseline, accounts: accounts), try #require(baseline.pins.first))
    }

    @Test func aPinWidensWhenOneOfItsDifferencesDoes() throws {
        let (evaluator, pin) = try Self.pinEvaluator()
        func record(type: FileType = .directory, mode: UInt32 = 0o2750, uid: UInt32 = 0, gid: UInt32 = 33000) -> FileRecord {
            FileRecord(type: type, mode: mode, uid: uid, gid: gid)
        }
        #expect(evaluator.checkPin(pin, record: record()) == nil)
        // Narrowing only: a mode with less.
        let narrower = try #require(evaluator.checkPin(pin, record: record(mode: 0o2700)))
        #expect(!narrower.widening)
        #expect(narrower.actual == "mode 2700")
        // One widening difference among narrowing ones: widening.
        let mixed = try #require(evaluator.checkPin(pin, record: record(mode: 0o2700, uid: 33002)))
        #expect(mixed.widening)
        #expect(mixed.actual == "owner bob; mode 2700")
        // Root as the new owner and a group with nothing: narrowing.
        #expect(evaluator.checkPin(pin, record: record(mode: 0o2700, uid: 0, gid: 33001))?.widening == false)
        // A group whose class grants something, a mode bit more, another type: widening each.
        #expect(evaluator.checkPin(pin, record: record(gid: 33001))?.widening == true)
        #expect(evaluator.checkPin(pin, record: record(mode: 0o2770))?.widening == true)
        #expect(evaluator.checkPin(pin, record: record(type: .file, mode: 0o2700))?.widening == true)
    }

    @Test func aMissingPinNarrows() throws {
        let (evaluator, pin) = try Self.pinEvaluator()
        let missing = evaluator.missingPin(pin, why: "missing")
        #expect(missing.kind == .pinMissing)
        #expect(!missing.widening)
        #expect(!Widening.missing)
    }
}

extension PosixACL {
    /// This ACL with the permissions of its `tag` entry (one without a qualifier) set to `bits`.
    fileprivate func with(_ tag: Tag, _ bits: UInt8) -> PosixACL {
        PosixACL(entries: entries.map { $0.tag == tag ? Entry(tag, id: $0.id, bits) : $0 })
    }
}
