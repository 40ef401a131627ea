/// Whether a difference from the baseline grants some principal a right the baseline's state would not
/// (widening) or only takes rights away (narrowing), kind by kind. docs/baseline.md, "Widening or
/// narrowing", has the table; when permdrift cannot tell, a finding is widening.
enum Widening {
    /// Any permission, setuid or setgid bit the actual mode has and the expected one lacks, or a sticky
    /// bit a directory lost (anyone who may write it may then remove others' entries). A mode beyond
    /// a `<=` mode always has such a bit.
    static func mode(expected: ModeSpec, actual: UInt32, isDirectory: Bool) -> Bool {
        switch expected {
        case .atMost(let m): return actual & 0o7777 & ~m != 0
        case .exact(let m):
            if actual & 0o6777 & ~m != 0 { return true }
            return isDirectory && m & 0o1000 != 0 && actual & 0o1000 == 0
        }
    }

    /// Any entry of the actual ACL that grants, after the mask, a right the same entry of the expected
    /// ACL does not (an entry the expected ACL lacks grants nothing there). `expected` nil (`none`):
    /// any named user or group entry that grants anything.
    static func acl(expected: PosixACL?, actual: PosixACL?) -> Bool {
        guard let actual else { return false }
        let granted = effective(actual)
        guard let expected else {
            return granted.contains { ($0.key.tag == .user || $0.key.tag == .group) && $0.value != 0 }
        }
        let allowed = effective(expected)
        return granted.contains { key, bits in bits & ~(allowed[key] ?? 0) != 0 }
    }

    /// A default ACL where none is expected widens when new entries would grant anyone but their owner
    /// something (a named entry, the owning group or others); else as `acl`.
    static func defaultACL(expected: PosixACL?, actual: PosixACL?) -> Bool {
        guard let actual else { return false }
        guard let expected else {
            return effective(actual).contains { $0.key.tag != .userObject && $0.value != 0 }
        }
        return acl(expected: expected, actual: actual)
    }

    /// A new owner can change the mode and the ACL: any owner but root (who can do anything already)
    /// widens.
    static func owner(actual uid: UInt32) -> Bool { uid != 0 }

    /// A new group gains the group class's rights: widening when they are not empty (the owning group's
    /// entry after the mask, or the mode's group bits).
    static func group(_ record: FileRecord) -> Bool {
        effective(record.effectiveACL)[Key(tag: .groupObject, id: PosixACL.Entry.noQualifier), default: 0] != 0
    }

    /// More links than expected: another name reaches the inode.
    static func links(expected: UInt64, actual: UInt64) -> Bool { actual > expected }

    /// File capabilities where none are asserted: always (they grant privileges to whoever runs the file).
    static let capabilities = true

    /// A pinned path of another type: always (permdrift cannot compare what the two grant).
    static let type = true

    /// A pinned path that is missing: never (nothing there grants anything).
    static let missing = false

    private struct Key: Hashable {
        let tag: PosixACL.Tag
        let id: UInt32
    }

    /// Each entry's rights after the mask (the mask itself left out).
    private static func effective(_ acl: PosixACL) -> [Key: UInt8] {
        let mask = acl.mask
        var out = [Key: UInt8]()
        for e in acl.entries where e.tag != .mask {
            let masked = e.tag == .user || e.tag == .group || e.tag == .groupObject
            out[Key(tag: e.tag, id: e.id)] = masked ? e.permissions & (mask ?? 7) : e.permissions
        }
        return out
    }
}

extension ACLSpec {
    /// The entries of an exact ACL; nil for `none`.
    var exactACL: PosixACL? {
        if case .exact(let acl) = self { return acl }
        return nil
    }
}
