/// A POSIX access control list as the kernel stores it: the three base entries, optional named users and
/// groups, and the mask. Entries are kept in getfacl's canonical order, so two ACLs are equal exactly
/// when they grant the same entries.
public struct PosixACL: Hashable, Sendable {
    /// The kind of an ACL entry; raw values are the kernel's `ACL_*` tags.
    public enum Tag: UInt16, Sendable, Comparable {
        case userObject = 0x01
        case user = 0x02
        case groupObject = 0x04
        case group = 0x08
        case mask = 0x10
        case other = 0x20

        public static func < (a: Tag, b: Tag) -> Bool { a.rawValue < b.rawValue }
    }

    /// One entry: a tag, a qualifier (uid or gid for named entries, otherwise unused) and `rwx` bits.
    public struct Entry: Hashable, Sendable, Comparable {
        public var tag: Tag
        public var id: UInt32
        public var permissions: UInt8

        public init(_ tag: Tag, id: UInt32 = Entry.noQualifier, _ permissions: UInt8) {
            self.tag = tag
            self.id = (tag == .user || tag == .group) ? id : Entry.noQualifier
            self.permissions = permissions & 7
        }

        public static let noQualifier: UInt32 = 0xFFFF_FFFF

        public static func < (a: Entry, b: Entry) -> Bool {
            a.tag != b.tag ? a.tag < b.tag : a.id < b.id
        }
    }

    /// Entries in canonical order (owner, named users by uid, owning group, named groups by gid, mask, other).
    public private(set) var entries: [Entry]

    /// Builds an ACL from entries in any order; duplicates are the caller's concern (see `isWellFormed`).
    public init(entries: [Entry]) {
        self.entries = entries.sorted()
    }

    /// The ACL that plain mode bits amount to.
    public init(mode: UInt32) {
        entries = [
            Entry(.userObject, UInt8((mode >> 6) & 7)),
            Entry(.groupObject, UInt8((mode >> 3) & 7)),
            Entry(.other, UInt8(mode & 7))
        ]
    }

    /// True when the ACL holds only the three base entries (no named entry, no mask).
    public var isMinimal: Bool {
        entries.allSatisfy { $0.tag == .userObject || $0.tag == .groupObject || $0.tag == .other }
    }

    /// The base entries this ACL leaves when its named entries and mask go, the owning group's limited by
    /// the mask: what the owning group had in effect, and no more.
    public var baseEntries: PosixACL {
        let mask = self.mask ?? 7
        return PosixACL(
            entries: entries.compactMap { e in
                switch e.tag {
                case .userObject, .other: e
                case .groupObject: Entry(.groupObject, e.permissions & mask)
                case .user, .group, .mask: nil
                }
            })
    }

    public func permissions(of tag: Tag) -> UInt8? {
        entries.first { $0.tag == tag }?.permissions
    }

    public var mask: UInt8? { permissions(of: .mask) }

    /// Exactly one of each base entry, a mask when named entries exist, no duplicate qualifier.
    public var isWellFormed: Bool {
        var counts = [Tag: Int]()
        for (i, e) in entries.enumerated() {
            counts[e.tag, default: 0] += 1
            if i > 0, entries[i - 1] == e || (entries[i - 1].tag == e.tag && entries[i - 1].id == e.id) {
                return false
            }
        }
        guard counts[.userObject] == 1, counts[.groupObject] == 1, counts[.other] == 1 else { return false }
        let named = (counts[.user] ?? 0) + (counts[.group] ?? 0)
        let masks = counts[.mask] ?? 0
        return masks <= 1 && (named == 0 || masks == 1)
    }

    /// `rwx` text for permission bits.
    public static func permissionText(_ bits: UInt8) -> String {
        String([bits & 4 != 0 ? "r" : "-", bits & 2 != 0 ? "w" : "-", bits & 1 != 0 ? "x" : "-"])
    }

    /// getfacl's long text form, one entry after another separated by commas, e.g.
    /// `user::rw-,user:bob:r--,group::r--,mask::r--,other::---`. Named qualifiers are rendered by
    /// `userName`/`groupName`, which fall back to the number.
    public func text(
        userName: (UInt32) -> String? = { _ in nil },
        groupName: (UInt32) -> String? = { _ in nil }
    ) -> String {
        entries.map { e in
            let perms = PosixACL.permissionText(e.permissions)
            switch e.tag {
            case .userObject: return "user::\(perms)"
            case .user: return "user:\(userName(e.id) ?? String(e.id)):\(perms)"
            case .groupObject: return "group::\(perms)"
            case .group: return "group:\(groupName(e.id) ?? String(e.id)):\(perms)"
            case .mask: return "mask::\(perms)"
            case .other: return "other::\(perms)"
            }
        }.joined(separator: ",")
    }
}

/// Why bytes read from a `system.posix_acl_*` attribute are not a valid ACL.
public enum ACLDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(size: Int)
    case unsupportedVersion(UInt32)
    case unknownTag(UInt16)
    case malformed

    public var description: String {
        switch self {
        case .truncated(let size): "ACL attribute of \(size) bytes is not a whole number of entries"
        case .unsupportedVersion(let v): "ACL attribute has unsupported version \(v)"
        case .unknownTag(let t): "ACL attribute has unknown entry tag 0x\(String(t, radix: 16))"
        case .malformed: "ACL attribute lacks a base entry, repeats one, or has named entries without a mask"
        }
    }
}

extension PosixACL {
    /// The kernel's `posix_acl_xattr` version.
    static let xattrVersion: UInt32 = 2

    /// Decodes the kernel's `posix_acl_xattr` bytes (a little-endian u32 version, then 8-byte entries
    /// of u16 tag, u16 permissions, u32 qualifier), checking every bound.
    public init(xattr bytes: UnsafeRawBufferPointer) throws(ACLDecodingError) {
        guard bytes.count >= 4, (bytes.count - 4) % 8 == 0 else { throw .truncated(size: bytes.count) }
        let version = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        guard version == PosixACL.xattrVersion else { throw .unsupportedVersion(version) }
        let count = (bytes.count - 4) / 8
        var entries = [Entry]()
        entries.reserveCapacity(count)
        for i in 0..<count {
            let offset = 4 + i * 8
            let rawTag = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            let perm = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self))
            let id = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
            guard let tag = Tag(rawValue: rawTag) else { throw .unknownTag(rawTag) }
            guard perm <= 7 else { throw .malformed }
            entries.append(Entry(tag, id: id, UInt8(perm)))
        }
        self.init(entries: entries)
        guard isWellFormed else { throw .malformed }
    }

    /// Encodes the ACL in the kernel's `posix_acl_xattr` form (used by tests and the demo).
    public var xattrBytes: [UInt8] {
        var out = [UInt8]()
        func append<T: FixedWidthInteger>(_ v: T) {
            withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        }
        append(PosixACL.xattrVersion)
        for e in entries {
            append(e.tag.rawValue)
            append(UInt16(e.permissions))
            append(e.id)
        }
        return out
    }
}
