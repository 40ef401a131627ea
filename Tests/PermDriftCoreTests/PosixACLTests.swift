import Glibc
import PermDriftCore
import PermDriftTestSupport
import Testing

// MARK: - Helpers

/// One raw `posix_acl_xattr` entry as the kernel lays it out: u16 tag, u16 permissions, u32 qualifier.
struct RawACLEntry: Sendable {
    var tag: UInt16
    var permissions: UInt16
    var id: UInt32

    init(_ tag: UInt16, _ permissions: UInt16, _ id: UInt32 = 0xFFFF_FFFF) {
        self.tag = tag
        self.permissions = permissions
        self.id = id
    }
}

/// Kernel tag values, spelled out here rather than taken from `PosixACL.Tag` so a wrong raw value in the
/// library cannot hide behind itself.
private enum KernelTag {
    static let userObject: UInt16 = 0x01
    static let user: UInt16 = 0x02
    static let groupObject: UInt16 = 0x04
    static let group: UInt16 = 0x08
    static let mask: UInt16 = 0x10
    static let other: UInt16 = 0x20
}

/// Little-endian `posix_acl_xattr` bytes, written by hand.
private func xattr(version: UInt32 = 2, _ entries: [RawACLEntry]) -> [UInt8] {
    var out = [UInt8]()
    func append<T: FixedWidthInteger>(_ value: T) {
        for i in 0..<(T.bitWidth / 8) { out.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }
    append(version)
    for e in entries {
        append(e.tag)
        append(e.permissions)
        append(e.id)
    }
    return out
}

private func decode(_ bytes: [UInt8]) throws(ACLDecodingError) -> PosixACL {
    let result: Result<PosixACL, ACLDecodingError> = bytes.withUnsafeBytes { buffer in
        do throws(ACLDecodingError) { return .success(try PosixACL(xattr: buffer)) } catch { return .failure(error) }
    }
    return try result.get()
}

private let base: [RawACLEntry] = [
    RawACLEntry(KernelTag.userObject, 6),
    RawACLEntry(KernelTag.groupObject, 4),
    RawACLEntry(KernelTag.other, 0),
]

/// `user::rw-,user:40001:r--,group::r--,group:40002:rw-,mask::rw-,other::---`.
private let namedACL = PosixACL(entries: [
    .init(.userObject, 6),
    .init(.user, id: 40001, 4),
    .init(.groupObject, 4),
    .init(.group, id: 40002, 6),
    .init(.mask, 6),
    .init(.other, 0),
])

// MARK: - Decoding kernel bytes

@Suite("PosixACL: kernel xattr bytes")
struct PosixACLXattrTests {
    @Test("the byte layout is the kernel's: LE u32 version 2, then LE u16 tag, u16 perms, u32 id")
    func byteLayout() {
        #expect(PosixACL(mode: 0o640).xattrBytes == [
            0x02, 0x00, 0x00, 0x00,
            0x01, 0x00, 0x06, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
            0x04, 0x00, 0x04, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
            0x20, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
        ])
        let named = PosixACL(entries: [
            .init(.userObject, 7), .init(.user, id: 0x0102_0304, 5), .init(.groupObject, 0), .init(.mask, 5),
            .init(.other, 1),
        ])
        #expect(named.xattrBytes == xattr([
            RawACLEntry(KernelTag.userObject, 7),
            RawACLEntry(KernelTag.user, 5, 0x0102_0304),
            RawACLEntry(KernelTag.groupObject, 0),
            RawACLEntry(KernelTag.mask, 5),
            RawACLEntry(KernelTag.other, 1),
        ]))
        #expect(Array(named.xattrBytes[12..<20]) == [0x02, 0x00, 0x05, 0x00, 0x04, 0x03, 0x02, 0x01])
    }

    static let validACLs: [PosixACL] = [
        PosixACL(mode: 0o000),
        PosixACL(mode: 0o777),
        PosixACL(mode: 0o640),
        // A mask without named entries is valid for the kernel (and shown by getfacl).
        PosixACL(entries: [.init(.userObject, 6), .init(.groupObject, 6), .init(.mask, 4), .init(.other, 4)]),
        namedACL,
        PosixACL(entries: [
            .init(.userObject, 7), .init(.user, id: 0, 7), .init(.user, id: 40000, 1), .init(.user, id: 0xFFFF_FFFE, 2),
            .init(.groupObject, 5), .init(.group, id: 0, 3), .init(.group, id: 40050, 7), .init(.mask, 7),
            .init(.other, 0),
        ]),
    ]

    @Test("valid ACLs round-trip through xattrBytes", arguments: validACLs)
    func roundTrip(acl: PosixACL) throws {
        #expect(acl.isWellFormed)
        let bytes = acl.xattrBytes
        #expect(bytes.count == 4 + 8 * acl.entries.count)
        let decoded = try decode(bytes)
        #expect(decoded == acl)
        #expect(decoded.entries == acl.entries)
        #expect(decoded.xattrBytes == bytes)
    }

    @Test("hand-written kernel bytes decode to the entries they spell")
    func handWrittenBytes() throws {
        let bytes = xattr([
            RawACLEntry(KernelTag.userObject, 6),
            RawACLEntry(KernelTag.user, 4, 40001),
            RawACLEntry(KernelTag.groupObject, 4),
            RawACLEntry(KernelTag.group, 6, 40002),
            RawACLEntry(KernelTag.mask, 6),
            RawACLEntry(KernelTag.other, 0),
        ])
        let acl = try decode(bytes)
        #expect(acl == namedACL)
        #expect(acl.xattrBytes == bytes)
        #expect(acl.mask == 6)
        #expect(acl.permissions(of: .user) == 4)
        #expect(acl.permissions(of: .group) == 6)
        #expect(!acl.isMinimal)
    }

    @Test("a base entry's qualifier is ignored (the kernel writes ACL_UNDEFINED_ID, but need not)")
    func baseQualifierIgnored() throws {
        let acl = try decode(xattr([
            RawACLEntry(KernelTag.userObject, 6, 0), RawACLEntry(KernelTag.groupObject, 4, 1234),
            RawACLEntry(KernelTag.other, 0, 7),
        ]))
        #expect(acl == PosixACL(mode: 0o640))
        #expect(acl.entries.allSatisfy { $0.id == PosixACL.Entry.noQualifier })
    }

    @Test("entries stored out of order decode to canonical order")
    func outOfOrderBytes() throws {
        let acl = try decode(xattr([
            RawACLEntry(KernelTag.other, 0),
            RawACLEntry(KernelTag.mask, 6),
            RawACLEntry(KernelTag.group, 6, 40002),
            RawACLEntry(KernelTag.user, 4, 40001),
            RawACLEntry(KernelTag.groupObject, 4),
            RawACLEntry(KernelTag.userObject, 6),
        ]))
        #expect(acl == namedACL)
        #expect(acl.entries.map(\.tag) == [.userObject, .user, .groupObject, .group, .mask, .other])
    }

    @Test("buffers that are not a header plus whole entries are truncated", arguments: [0, 1, 2, 3, 5, 11, 19, 4 + 8 * 3 - 1, 4 + 8 * 3 + 1])
    func truncated(size: Int) {
        // Start from a valid ACL, so only the length can be wrong.
        var bytes = PosixACL(mode: 0o640).xattrBytes + PosixACL(mode: 0o640).xattrBytes
        bytes = Array(bytes.prefix(size))
        #expect(bytes.count == size)
        #expect(throws: ACLDecodingError.truncated(size: size)) { try decode(bytes) }
    }

    @Test("the length is checked before anything is read, even in a larger allocation")
    func truncatedSliceOfLargerBuffer() {
        // 4 + 7 bytes carved out of a valid buffer: the decoder must see only the slice.
        let whole = PosixACL(mode: 0o640).xattrBytes
        let outcome: ACLDecodingError? = whole.withUnsafeBytes { buffer in
            let slice = UnsafeRawBufferPointer(rebasing: buffer[0..<11])
            do throws(ACLDecodingError) { _ = try PosixACL(xattr: slice); return nil } catch { return error }
        }
        #expect(outcome == .truncated(size: 11))
    }

    @Test("a header with no entries lacks the base entries")
    func headerOnly() {
        #expect(throws: ACLDecodingError.malformed) { try decode(xattr([])) }
    }

    @Test("versions other than 2 are rejected", arguments: [UInt32(0), 1, 3, 0x0200_0000, 0xFFFF_FFFF])
    func wrongVersion(version: UInt32) {
        #expect(throws: ACLDecodingError.unsupportedVersion(version)) { try decode(xattr(version: version, base)) }
        // Also with no entries at all: the version is checked before the entries.
        #expect(throws: ACLDecodingError.unsupportedVersion(version)) { try decode(xattr(version: version, [])) }
    }

    @Test("tags the kernel does not define are rejected", arguments: [UInt16(0x00), 0x03, 0x05, 0x11, 0x40, 0x80, 0x100, 0xFFFF])
    func unknownTag(tag: UInt16) {
        var entries = base
        entries.insert(RawACLEntry(tag, 4, 40001), at: 1)
        #expect(throws: ACLDecodingError.unknownTag(tag)) { try decode(xattr(entries)) }
    }

    @Test("permission fields above rwx are rejected, not masked", arguments: [UInt16(8), 9, 0x0F, 0x10, 0x100, 0xFFFF])
    func permissionsAboveSeven(perms: UInt16) {
        for index in base.indices {
            var entries = base
            entries[index].permissions = perms
            #expect(throws: ACLDecodingError.malformed) { try decode(xattr(entries)) }
        }
        #expect(throws: ACLDecodingError.malformed) {
            try decode(xattr(base + [RawACLEntry(KernelTag.user, perms, 40001), RawACLEntry(KernelTag.mask, 7)]))
        }
        #expect(throws: ACLDecodingError.malformed) {
            try decode(xattr(base + [RawACLEntry(KernelTag.user, 7, 40001), RawACLEntry(KernelTag.mask, perms)]))
        }
    }

    static let malformedEntryLists: [(String, [RawACLEntry])] = [
        ("user:: twice", base + [RawACLEntry(KernelTag.userObject, 6)]),
        ("user:: twice with different perms", base + [RawACLEntry(KernelTag.userObject, 0)]),
        ("group:: twice", base + [RawACLEntry(KernelTag.groupObject, 4)]),
        ("other:: twice", base + [RawACLEntry(KernelTag.other, 7)]),
        ("mask:: twice", base + [RawACLEntry(KernelTag.mask, 4), RawACLEntry(KernelTag.mask, 6)]),
        ("user:40001 twice", base + [
            RawACLEntry(KernelTag.user, 4, 40001), RawACLEntry(KernelTag.user, 4, 40001), RawACLEntry(KernelTag.mask, 4),
        ]),
        ("user:40001 twice with different perms", base + [
            RawACLEntry(KernelTag.user, 4, 40001), RawACLEntry(KernelTag.user, 6, 40001), RawACLEntry(KernelTag.mask, 6),
        ]),
        ("group:40002 twice, apart", [
            RawACLEntry(KernelTag.group, 4, 40002), RawACLEntry(KernelTag.userObject, 6), RawACLEntry(KernelTag.groupObject, 4),
            RawACLEntry(KernelTag.other, 0), RawACLEntry(KernelTag.mask, 4), RawACLEntry(KernelTag.group, 5, 40002),
        ]),
        ("no user::", [RawACLEntry(KernelTag.groupObject, 4), RawACLEntry(KernelTag.other, 0)]),
        ("no group::", [RawACLEntry(KernelTag.userObject, 6), RawACLEntry(KernelTag.other, 0)]),
        ("no other::", [RawACLEntry(KernelTag.userObject, 6), RawACLEntry(KernelTag.groupObject, 4)]),
        ("no group:: but a mask", [
            RawACLEntry(KernelTag.userObject, 6), RawACLEntry(KernelTag.mask, 4), RawACLEntry(KernelTag.other, 0),
        ]),
        ("only named entries", [RawACLEntry(KernelTag.user, 4, 40001), RawACLEntry(KernelTag.mask, 4)]),
        ("named user without mask", base + [RawACLEntry(KernelTag.user, 4, 40001)]),
        ("named group without mask", base + [RawACLEntry(KernelTag.group, 4, 40002)]),
        ("named user and group without mask", base + [
            RawACLEntry(KernelTag.user, 4, 40001), RawACLEntry(KernelTag.group, 4, 40002),
        ]),
    ]

    @Test("duplicates, missing base entries and named entries without a mask are malformed",
          arguments: malformedEntryLists)
    func malformed(name: String, entries: [RawACLEntry]) {
        #expect(throws: ACLDecodingError.malformed, "\(name)") { try decode(xattr(entries)) }
        // The same entries through the public initialiser are not well formed either.
        let acl = PosixACL(entries: entries.compactMap { raw in
            PosixACL.Tag(rawValue: raw.tag).map { PosixACL.Entry($0, id: raw.id, UInt8(raw.permissions)) }
        })
        #expect(!acl.isWellFormed, "\(name)")
    }

    @Test("the same user id as a named user and a named group is not a duplicate")
    func sameIDDifferentTag() throws {
        let acl = try decode(xattr(base + [
            RawACLEntry(KernelTag.user, 4, 40001), RawACLEntry(KernelTag.group, 2, 40001), RawACLEntry(KernelTag.mask, 6),
        ]))
        #expect(acl.entries.count == 6)
        #expect(acl.isWellFormed)
    }

    @Test("the largest ACL a 64 KiB xattr holds decodes")
    func maximumSize() throws {
        // XATTR_SIZE_MAX is 65536: a 4-byte header and 8191 entries of 8 bytes (65532 bytes).
        let maxEntries = (65536 - 4) / 8
        #expect(maxEntries == 8191)
        let namedCount = maxEntries - 4
        var raw = [RawACLEntry(KernelTag.userObject, 7), RawACLEntry(KernelTag.groupObject, 5)]
        for i in 0..<namedCount {
            // Half named users, half named groups, ids counting down so decoding has to sort them.
            let tag = i.isMultiple(of: 2) ? KernelTag.user : KernelTag.group
            raw.append(RawACLEntry(tag, UInt16(i % 8), UInt32(100_000 + namedCount - i)))
        }
        raw += [RawACLEntry(KernelTag.mask, 7), RawACLEntry(KernelTag.other, 0)]
        let bytes = xattr(raw)
        #expect(bytes.count == 65532)

        let acl = try decode(bytes)
        #expect(acl.entries.count == maxEntries)
        #expect(acl.isWellFormed)
        #expect(acl.entries.filter { $0.tag == .user }.count == (namedCount + 1) / 2)
        #expect(acl.entries.filter { $0.tag == .group }.count == namedCount / 2)
        #expect(acl.entries == acl.entries.sorted())
        // Canonical bytes re-decode to the same ACL.
        #expect(try decode(acl.xattrBytes) == acl)

        // One byte more than a whole entry count is still rejected at this size.
        #expect(throws: ACLDecodingError.truncated(size: 65533)) { try decode(bytes + [0]) }
    }
}

// MARK: - The value type

@Suite("PosixACL: values, ordering and text")
struct PosixACLValueTests {
    @Test("init(mode:) takes the three permission triplets and ignores everything else",
          arguments: [(UInt32(0o754), UInt8(7), UInt8(5), UInt8(4)),
                      (0o000, 0, 0, 0),
                      (0o777, 7, 7, 7),
                      (0o4751, 7, 5, 1),
                      (0o7000, 0, 0, 0),
                      (0o100_640, 6, 4, 0),
                      (0o040_705, 7, 0, 5)])
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
            .init(.other, 0),
        ]
        var rng = SplitMix64(seed: 0x5EED_AC1)
        for _ in 0..<50 {
            let acl = PosixACL(entries: canonical.shuffled(using: &rng))
            #expect(acl.entries == canonical)
            #expect(acl == PosixACL(entries: canonical))
            #expect(acl.hashValue == PosixACL(entries: canonical).hashValue)
        }
        #expect(PosixACL(entries: canonical).text() ==
            "user::rwx,user:9:r--,user:10:r-x,user:100:rw-,group::r-x,group:2:--x,group:40000:-w-,"
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
        let text = acl.text(userName: { $0 == 40001 ? "alice" : nil },
                            groupName: { $0 == 40002 ? "agents" : nil })
        // 40001 as a group is not the user 40001: the group closure decides, and has no name for it.
        #expect(text == "user::rw-,user:alice:r--,user:40009:--x,group::r--,group:40001:-w-,group:agents:rw-,"
            + "mask::rw-,other::---")
    }
}

// MARK: - Text parsed by libacl

/// A tiny account database for the parser; deliberately disagrees with the host's (root is not 0 here).
private let testUsers: [String: UInt32] = ["alice": 40001, "bob": 40002, "root": 40007, "nobody": 40008]
private let testGroups: [String: UInt32] = ["agents": 40010, "staff": 40011, "root": 40017]

private func parse(_ text: String) throws(ACLTextError) -> PosixACL {
    try ACLText.parse(text, uid: { testUsers[$0] }, gid: { testGroups[$0] })
}

@Suite("ACLText.parse (libacl)")
struct ACLTextTests {
    static let aliceACL = PosixACL(entries: [
        .init(.userObject, 6), .init(.user, id: 40001, 4), .init(.groupObject, 4), .init(.group, id: 40011, 6),
        .init(.mask, 6), .init(.other, 0),
    ])

    static let equivalentSpellings: [String] = [
        "user::rw-,user:alice:r--,group::r--,group:staff:rw-,mask::rw-,other::---",
        "u::rw-,u:alice:r--,g::r--,g:staff:rw-,m::rw-,o::---",
        "u::rw,u:alice:r,g::r,g:staff:rw,m::rw,o::-",
        "u::rw-,u:40001:r--,g::r--,g:40011:rw-,m::rw-,o::---",
        "o::---,m::rw-,g:staff:rw-,u:alice:r--,g::r--,u::rw-",
        "g:staff:rw-,other::---,user:alice:r--,mask::rw-,user::rw-,group::r--",
        "user::rw-\nuser:alice:r--\ngroup::r--\ngroup:staff:rw-\nmask::rw-\nother::---\n",
        "  u::rw-\tu:alice:r--  g::r-- g:staff:rw- m::rw- o::---",
    ]

    @Test("long and short forms, any order, any separator, names or numbers: all the same ACL",
          arguments: equivalentSpellings)
    func equivalentForms(text: String) throws {
        let acl = try parse(text)
        #expect(acl == Self.aliceACL)
        #expect(acl.entries == Self.aliceACL.entries)
        #expect(acl.text() == "user::rw-,user:40001:r--,group::r--,group:40011:rw-,mask::rw-,other::---")
    }

    @Test("a minimal ACL parses to what its mode amounts to")
    func minimal() throws {
        let acl = try parse("u::rwx,g::r-x,o::r--")
        #expect(acl == PosixACL(mode: 0o754))
        #expect(acl.isMinimal)
    }

    @Test("getfacl's own output parses back to the same ACL", arguments: [
        PosixACL(mode: 0o640), namedACL,
        PosixACL(entries: [.init(.userObject, 7), .init(.groupObject, 0), .init(.mask, 0), .init(.other, 1)]),
    ])
    func textRoundTrip(acl: PosixACL) throws {
        #expect(try parse(acl.text()) == acl)
    }

    @Test("names go through the closures, never the host's accounts")
    func namesFromClosuresOnly() throws {
        // On the host root is uid 0 and nobody 65534; the scanned root says otherwise, and wins.
        let acl = try parse("u::rw-,u:root:r--,u:nobody:--x,g::r--,g:root:r--,m::r-x,o::---")
        #expect(acl.entries.filter { $0.tag == .user }.map(\.id) == [40007, 40008])
        #expect(acl.entries.filter { $0.tag == .group }.map(\.id) == [40017])

        // A name the scanned root lacks is unknown even though the host has it.
        #expect(throws: ACLTextError.unknownUser("root")) {
            try ACLText.parse("u::rw-,u:root:r--,g::r--,m::r--,o::---", uid: { _ in nil }, gid: { _ in nil })
        }
        #expect(throws: ACLTextError.unknownGroup("root")) {
            try ACLText.parse("u::rw-,g::r--,g:root:r--,m::r--,o::---", uid: { _ in 1 }, gid: { _ in nil })
        }
    }

    @Test("numeric qualifiers are taken as ids without asking the closures")
    func numericQualifiers() throws {
        var asked = [String]()
        let acl = try ACLText.parse("u::rw-,u:40001:r--,g::r--,g:0:r--,m::r--,o::---",
                                    uid: { asked.append($0); return 1 },
                                    gid: { asked.append($0); return 1 })
        #expect(asked.isEmpty)
        #expect(acl.entries.contains(.init(.user, id: 40001, 4)))
        #expect(acl.entries.contains(.init(.group, id: 0, 4)))
    }

    @Test("numeric qualifiers are decimal ids; one that does not fit a uid is rejected, not wrapped")
    func numericQualifiersAreDecimal() throws {
        // libacl reads qualifiers with strtol(_, _, 0) and truncates to id_t; ACLText parses them as decimal
        // first, so 010 is uid 10 and a number that does not fit a uid is an error, never root.
        let leadingZero = try parse("u::rw-,u:010:r--,g::r--,m::r--,o::---")
        #expect(leadingZero.entries.filter { $0.tag == .user }.map(\.id) == [10])
        #expect(throws: ACLTextError.self) { try parse("u::rw-,u:4294967296:r--,g::r--,m::r--,o::---") }
        #expect(throws: ACLTextError.self) { try parse("u::rw-,u:99999999999:r--,g::r--,m::r--,o::---") }
        #expect(throws: ACLTextError.self) { try parse("u::rw-,u:4294967295:r--,g::r--,m::r--,o::---") }
    }

    @Test("user names are looked up as users, group names as groups")
    func lookupKinds() throws {
        var users = [String](), groups = [String]()
        _ = try ACLText.parse("u::rw-,user:alice:r--,g::r--,group:agents:r--,m::r--,o::---",
                              uid: { users.append($0); return 1 }, gid: { groups.append($0); return 2 })
        #expect(users == ["alice"])
        #expect(groups == ["agents"])
    }

    @Test("unknown names", arguments: [
        ("u::rw-,u:mallory:r--,g::r--,m::r--,o::---", ACLTextError.unknownUser("mallory")),
        ("u::rw-,user:eve:r--,g::r--,m::r--,o::---", .unknownUser("eve")),
        ("u::rw-,g::r--,g:wheel:r--,m::r--,o::---", .unknownGroup("wheel")),
        ("u::rw-,g::r--,group:adm:r--,m::r--,o::---", .unknownGroup("adm")),
        // alice is a user, not a group; agents is a group, not a user.
        ("u::rw-,g::r--,g:alice:r--,m::r--,o::---", .unknownGroup("alice")),
        ("u::rw-,u:agents:r--,g::r--,m::r--,o::---", .unknownUser("agents")),
    ])
    func unknownNames(text: String, expected: ACLTextError) {
        #expect(throws: expected) { try parse(text) }
    }

    @Test("entries libacl parses but that are not a valid ACL", arguments: [
        // named entries without a mask
        "u::rw-,u:alice:r--,g::r--,o::---",
        "u::rw-,g::r--,g:staff:r--,o::---",
        // missing base entries
        "u::rw-,o::---",
        "g::r--,o::---",
        "u::rw-,g::r--",
        // the same entry twice
        "u::rw-,u::r--,g::r--,o::---",
        "u::rw-,u:alice:r--,u:40001:rw-,g::r--,m::rw-,o::---",
        "u::rw-,g::r--,m::r--,m::rw-,o::---",
    ])
    func invalid(text: String) {
        do {
            let acl = try parse(text)
            Issue.record("accepted \(text.debugDescription) as \(acl.text())")
        } catch {
            guard case .invalid(let why) = error else {
                Issue.record("expected .invalid for \(text.debugDescription), got \(error)")
                return
            }
            #expect(!why.isEmpty)
            #expect(error.description.hasPrefix("invalid ACL: "))
        }
    }

    @Test("a missing mask is reported in libacl's words")
    func missingMaskMessage() {
        do {
            _ = try parse("u::rw-,u:alice:r--,g::r--,o::---")
            Issue.record("a named entry without a mask was accepted")
        } catch {
            guard case .invalid(let why) = error else { Issue.record("expected .invalid, got \(error)"); return }
            // libacl's ACL_MISS_ERROR text, lowercased; the library may add a hint after it.
            #expect(why.hasPrefix("missing or wrong entry"), "\(why)")
        }
    }

    @Test("garbage is a syntax error", arguments: [
        "", " ", ",,,", "\n", "garbage", "u:rw-", "u::", "x::rwx", "u::rwz", "u::rwxr",
        "u:alice:bob:rw-", "default:user::rwx,g::r--,o::---", "d:u::rwx",
        "m:alice:rwx", "o:nobody:r--", "u::rw-;g::r--;o::---", "user::rw-,group::r--,other::---,#comment",
    ])
    func syntax(text: String) {
        do {
            let acl = try parse(text)
            Issue.record("accepted \(text.debugDescription) as \(acl.text())")
        } catch {
            guard case .syntax = error else {
                Issue.record("expected .syntax for \(text.debugDescription), got \(error)")
                return
            }
        }
    }
}

// MARK: - Bytes from the real kernel

@Suite("PosixACL: bytes the kernel wrote")
struct PosixACLKernelTests {
    @Test("setfacl's ACL read back with getxattr decodes to what ACLText parses")
    func kernelBytes() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-acl-unit")
        defer { removeTree(dir) }
        let file = dir + "/f"
        let fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        close(fd)

        let text = "u::rw-,u:40001:r--,u:9:rwx,g::r--,g:40002:-w-,m::rwx,o::--x"
        let set = try Harness.run(["/usr/bin/setfacl", "--set", text, file], environment: .cLocale)
        try #require(set.status == 0, "setfacl: \(set.stderr)")

        let bytes = try #require(rawAccessACL(file), "lgetxattr: errno \(errno)")
        let decoded = try decode(bytes)
        #expect(decoded == (try parse(text)))
        // The kernel stores canonical order and ACL_UNDEFINED_ID for base entries: exactly our encoding.
        #expect(decoded.xattrBytes == bytes)
        #expect(decoded.text() == "user::rw-,user:9:rwx,user:40001:r--,group::r--,group:40002:-w-,mask::rwx,other::--x")
    }
}

/// The raw `system.posix_acl_access` value of `path`, through lgetxattr(2), which Swift's Glibc module does
/// not export (it lacks <sys/xattr.h>), so it is looked up in the C library at run time.
private func rawAccessACL(_ path: String) -> [UInt8]? {
    typealias LGetXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int
    guard let symbol = dlsym(nil, "lgetxattr") else { return nil }
    let lgetxattr = unsafeBitCast(symbol, to: LGetXattr.self)
    var buffer = [UInt8](repeating: 0, count: 65536)
    let n = buffer.withUnsafeMutableBytes { lgetxattr(path, "system.posix_acl_access", $0.baseAddress, $0.count) }
    return n > 0 ? Array(buffer[0..<n]) : nil
}
