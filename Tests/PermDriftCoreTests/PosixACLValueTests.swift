import Glibc
import PermDriftCore
import PermDriftTestSupport
import Testing

// MARK: - The value type

@Suite("PosixACL: values, ordering and text")
struct PosixACLValueTests {
    @Test(
        "init(mode:) takes the three permission triplets and ignores everything else",
        arguments: [
            (UInt32(0o754), UInt8(7), UInt8(5), UInt8(4)),
            (0o000, 0, 0, 0),
            (0o777, 7, 7, 7),
            (0o4751, 7, 5, 1),
            (0o7000, 0, 0, 0),
            (0o100_640, 6, 4, 0),
            (0o040_705, 7, 0, 5)
        ])
    func fromMode(mode: UInt32, user: UInt8, group: UInt8, other: UInt8) {
        let acl = PosixACL(mode: mode)
        #expect(acl.entries == [.init(.userObject, user), .init(.groupObject, group), .init(.other, other)])
        #expect(acl.isMinimal)
        #expect(acl.isWellFormed)
        #expect(acl.mask == nil)
    }

    @Test("isMinimal is false as soon as there is a mask or a named entry")
    func minimal() {
        #expect(PosixACL(mode: 0o640).isMinimal)
        #expect(!namedACL.isMinimal)
        #expect(!PosixACL(entries: [.init(.userObject, 6), .init(.groupObject, 4), .init(.mask, 4), .init(.other, 0)]).isMinimal)
        #expect(!PosixACL(entries: [.init(.userObject, 6), .init(.user, id: 1, 4), .init(.groupObject, 4), .init(.other, 0)]).isMinimal)
        #expect(!PosixACL(entries: [.init(.userObject, 6), .init(.groupObject, 4), .init(.group, id: 1, 4), .init(.other, 0)]).isMinimal)
    }

    @Test("Entry keeps only rwx bits and drops the qualifier of unnamed entries")
    func entryNormalisation() {
        let mask = PosixACL.Entry(.mask, id: 5, 0xFF)
        #expect(mask.permissions == 7)
        #expect(mask.id == PosixACL.Entry.noQualifier)
        #expect(PosixACL.Entry(.userObject, id: 0, 6) == PosixACL.Entry(.userObject, 6))
        #expect(PosixACL.Entry(.user, id: 0, 6).id == 0)
        #expect(PosixACL.Entry(.group, id: 40002, 0o14).permissions == 4)
    }

    @Test("entries are in getfacl's order whatever order they are given in; named ids sort numerically")
    func canonicalOrder() {
        let canonical: [PosixACL.Entry] = [
            .init(.userObject, 7),
            .init(.user, id: 9, 4), .init(.user, id: 10, 5), .init(.user, id: 100, 6),
            .init(.groupObject, 5),
            .init(.group, id: 2, 1), .init(.group, id: 40000, 2), .init(.group, id: 0xFFFF_FFFE, 3),
            .init(.mask, 7),
            .init(.other, 0)
        ]
        var rng = SplitMix64(seed: 0x5EED_AC1)
        for _ in 0..<50 {
            let acl = PosixACL(entries: canonical.shuffled(using: &rng))
            #expect(acl.entries == canonical)
            #expect(acl == PosixACL(entries: canonical))
            #expect(acl.hashValue == PosixACL(entries: canonical).hashValue)
        }
        #expect(
            PosixACL(entries: canonical).text() == "user::rwx,user:9:r--,user:10:r-x,user:100:rw-,group::r-x,group:2:--x,group:40000:-w-,"
                + "group:4294967294:-wx,mask::rwx,other::---")
    }

    @Test("ACLs that differ in one bit or one qualifier are not equal")
    func inequality() {
        var other = namedACL.entries
        other[1].permissions = 5
        #expect(PosixACL(entries: other) != namedACL)
        other = namedACL.entries
        other[1].id = 40003
        #expect(PosixACL(entries: other) != namedACL)
        #expect(PosixACL(mode: 0o640) != PosixACL(mode: 0o644))
    }

    @Test("permission text", arguments: zip(UInt8(0)...7, ["---", "--x", "-w-", "-wx", "r--", "r-x", "rw-", "rwx"]))
    func permissionText(bits: UInt8, text: String) {
        #expect(PosixACL.permissionText(bits) == text)
    }

    @Test("text() is getfacl's long form, comma separated")
    func text() {
        #expect(PosixACL(mode: 0o640).text() == "user::rw-,group::r--,other::---")
        #expect(namedACL.text() == "user::rw-,user:40001:r--,group::r--,group:40002:rw-,mask::rw-,other::---")
    }

    @Test("text() names qualifiers through the closures and falls back to the number")
    func textWithNames() {
        let acl = PosixACL(entries: namedACL.entries + [.init(.user, id: 40009, 1), .init(.group, id: 40001, 2)])
        let text = acl.text(
            userName: { $0 == 40001 ? "alice" : nil },
            groupName: { $0 == 40002 ? "agents" : nil })
        // 40001 as a group is not the user 40001: the group closure decides, and has no name for it.
        #expect(
            text == "user::rw-,user:alice:r--,user:40009:--x,group::r--,group:40001:-w-,group:agents:rw-,"
                + "mask::rw-,other::---")
    }
}
