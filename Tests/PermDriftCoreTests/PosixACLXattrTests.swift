import Glibc
import PermDriftCore
import PermDriftTestSupport
import Testing

// MARK: - Helpers (shared with PosixACLValueTests and ACLTextTests)

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
enum KernelTag {
    static let userObject: UInt16 = 0x01
    static let user: UInt16 = 0x02
    static let groupObject: UInt16 = 0x04
    static let group: UInt16 = 0x08
    static let mask: UInt16 = 0x10
    static let other: UInt16 = 0x20
}

/// Little-endian `posix_acl_xattr` bytes, written by hand.
func xattr(version: UInt32 = 2, _ entries: [RawACLEntry]) -> [UInt8] {
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

func decode(_ bytes: [UInt8]) throws(ACLDecodingError) -> PosixACL {
    let result: Result<PosixACL, ACLDecodingError> = bytes.withUnsafeBytes { buffer in
        do throws(ACLDecodingError) { return .success(try PosixACL(xattr: buffer)) } catch { return .failure(error) }
    }
    return try result.get()
}

private let base: [RawACLEntry] = [
    RawACLEntry(KernelTag.userObject, 6),
    RawACLEntry(KernelTag.groupObject, 4),
    RawACLEntry(KernelTag.other, 0)
]

/// `user::rw-,user:40001:r--,group::r--,group:40002:rw-,mask::rw-,other::---`.
let namedACL = PosixACL(entries: [
    .init(.userObject, 6),
    .init(.user, id: 40001, 4),
    .init(.groupObject, 4),
    .init(.group, id: 40002, 6),
    .init(.mask, 6),
    .init(.other, 0)
])

// MARK: - Decoding kernel bytes

@Suite("PosixACL: kernel xattr bytes")
struct PosixACLXattrTests {
    @Test("the byte layout is the kernel's: LE u32 version 2, then LE u16 tag, u16 perms, u32 id")
    func byteLayout() {
        #expect(
            PosixACL(mode: 0o640).xattrBytes == [
                0x02, 0x00, 0x00, 0x00,
                0x01, 0x00, 0x06, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
                0x04, 0x00, 0x04, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
                0x20, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF
            ])
        let named = PosixACL(entries: [
            .init(.userObject, 7), .init(.user, id: 0x0102_0304, 5), .init(.groupObject, 0), .init(.mask, 5),
            .init(.other, 1)
        ])
        #expect(
            named.xattrBytes
                == xattr([
                    RawACLEntry(KernelTag.userObject, 7),
                    RawACLEntry(KernelTag.user, 5, 0x0102_0304),
                    RawACLEntry(KernelTag.groupObject, 0),
                    RawACLEntry(KernelTag.mask, 5),
                    RawACLEntry(KernelTag.other, 1)
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
            .init(.other, 0)
        ])
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
            RawACLEntry(KernelTag.other, 0)
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
        let acl = try decode(
            xattr([
                RawACLEntry(KernelTag.userObject, 6, 0), RawACLEntry(KernelTag.groupObject, 4, 1234),
                RawACLEntry(KernelTag.other, 0, 7)
            ]))
        #expect(acl == PosixACL(mode: 0o640))
        #expect(acl.entries.allSatisfy { $0.id == PosixACL.Entry.noQualifier })
    }

    @Test("entries stored out of order decode to canonical order")
    func outOfOrderBytes() throws {
        let acl = try decode(
            xattr([
                RawACLEntry(KernelTag.other, 0),
                RawACLEntry(KernelTag.mask, 6),
                RawACLEntry(KernelTag.group, 6, 40002),
                RawACLEntry(KernelTag.user, 4, 40001),
                RawACLEntry(KernelTag.groupObject, 4),
                RawACLEntry(KernelTag.userObject, 6)
            ]))
        #expect(acl == namedACL)
        #expect(acl.entries.map(\.tag) == [.userObject, .user, .groupObject, .group, .mask, .other])
    }

    @Test(
        "buffers that are not a header plus whole entries are truncated", arguments: [0, 1, 2, 3, 5, 11, 19, 4 + 8 * 3 - 1, 4 + 8 * 3 + 1])
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
        (
            "user:40001 twice",
            base + [
                RawACLEntry(KernelTag.user, 4, 40001), RawACLEntry(KernelTag.user, 4, 40001), RawACLEntry(KernelTag.mask, 4)
            ]
        ),
        (
            "user:40001 twice with different perms",
            base + [
                RawACLEntry(KernelTag.user, 4, 40001), RawACLEntry(KernelTag.user, 6, 40001), RawACLEntry(KernelTag.mask, 6)
            ]
        ),
        (
            "group:40002 twice, apart",
            [
                RawACLEntry(KernelTag.group, 4, 40002), RawACLEntry(KernelTag.userObject, 6), RawACLEntry(KernelTag.groupObject, 4),
                RawACLEntry(KernelTag.other, 0), RawACLEntry(KernelTag.mask, 4), RawACLEntry(KernelTag.group, 5, 40002)
            ]
        ),
        ("no user::", [RawACLEntry(KernelTag.groupObject, 4), RawACLEntry(KernelTag.other, 0)]),
        ("no group::", [RawACLEntry(KernelTag.userObject, 6), RawACLEntry(KernelTag.other, 0)]),
        ("no other::", [RawACLEntry(KernelTag.userObject, 6), RawACLEntry(KernelTag.groupObject, 4)]),
        (
            "no group:: but a mask",
            [
                RawACLEntry(KernelTag.userObject, 6), RawACLEntry(KernelTag.mask, 4), RawACLEntry(KernelTag.other, 0)
            ]
        ),
        ("only named entries", [RawACLEntry(KernelTag.user, 4, 40001), RawACLEntry(KernelTag.mask, 4)]),
        ("named user without mask", base + [RawACLEntry(KernelTag.user, 4, 40001)]),
        ("named group without mask", base + [RawACLEntry(KernelTag.group, 4, 40002)]),
        (
            "named user and group without mask",
            base + [
                RawACLEntry(KernelTag.user, 4, 40001), RawACLEntry(KernelTag.group, 4, 40002)
            ]
        )
    ]

    @Test(
        "duplicates, missing base entries and named entries without a mask are malformed",
        arguments: malformedEntryLists)
    func malformed(name: String, entries: [RawACLEntry]) {
        #expect(throws: ACLDecodingError.malformed, "\(name)") { try decode(xattr(entries)) }
        // The same entries through the public initialiser are not well formed either.
        let acl = PosixACL(
            entries: entries.compactMap { raw in
                PosixACL.Tag(rawValue: raw.tag).map { PosixACL.Entry($0, id: raw.id, UInt8(raw.permissions)) }
            })
        #expect(!acl.isWellFormed, "\(name)")
    }

    @Test("the same user id as a named user and a named group is not a duplicate")
    func sameIDDifferentTag() throws {
        let acl = try decode(
            xattr(
                base + [
                    RawACLEntry(KernelTag.user, 4, 40001), RawACLEntry(KernelTag.group, 2, 40001), RawACLEntry(KernelTag.mask, 6)
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
