/// A right in the baseline's `access` vocabulary.
public enum AccessRight: String, CaseIterable, Sendable, Comparable {
    case read, write, execute

    /// The permission bit the ACL check tests.
    var bit: UInt8 {
        switch self {
        case .read: 4
        case .write: 2
        case .execute: 1
        }
    }

    public static func < (a: AccessRight, b: AccessRight) -> Bool { a.bit > b.bit }
}

/// The POSIX ACL check of acl(5) on one object, for all users at once: the owner entry; else a named-user
/// entry, masked; else, for members of the owning group or of a named group, the group class alone
/// decides (granted if any matching entry grants after the mask, denied otherwise, with no fall-through
/// to other); else other.
struct AccessCheck {
    let index: PrincipalIndex

    /// Who the ACL of `record` grants `bit` (4 read, 2 write, 1 execute), before reach is considered.
    func granted(_ record: FileRecord, bit: UInt8) -> UserSet {
        let acl = record.effectiveACL
        let mask = acl.mask ?? 7
        var result = UserSet.empty
        var classified = index.user(record.uid)
        if (acl.permissions(of: .userObject) ?? 0) & bit != 0 { result = result.union(classified) }
        for e in acl.entries where e.tag == .user && e.id != record.uid {
            let user = index.user(e.id)
            classified = classified.union(user)
            if e.permissions & mask & bit != 0 { result = result.union(user) }
        }
        var groupClass = UserSet.empty
        var groupGrants = UserSet.empty
        for e in acl.entries where e.tag == .groupObject || e.tag == .group {
            let members = index.members(of: e.tag == .groupObject ? record.gid : e.id)
            groupClass = groupClass.union(members)
            let perms = acl.mask == nil ? e.permissions : e.permissions & mask
            if perms & bit != 0 { groupGrants = groupGrants.union(members) }
        }
        groupClass = groupClass.subtracting(classified)
        result = result.union(groupClass.intersection(groupGrants))
        classified = classified.union(groupClass)
        if (acl.permissions(of: .other) ?? 0) & bit != 0 {
            result = result.union(UserSet.everyone.subtracting(classified))
        }
        return result
    }

    /// The entry that decides `bit` for one user, in getfacl's form, and whether it grants it.
    func decidingEntry(_ record: FileRecord, uid: UInt32, bit: UInt8) -> (entry: String, grants: Bool) {
        let acl = record.effectiveACL
        let accounts = index.accounts
        let mask = acl.mask
        func text(_ e: PosixACL.Entry, masked: Bool) -> String {
            let qualifier: String
            switch e.tag {
            case .user: qualifier = "user:\(accounts.userName(e.id) ?? String(e.id))"
            case .group: qualifier = "group:\(accounts.groupName(e.id) ?? String(e.id))"
            case .userObject: qualifier = "user:"
            case .groupObject: qualifier = "group:"
            case .mask: qualifier = "mask:"
            case .other: qualifier = "other:"
            }
            var s = "\(qualifier):\(PosixACL.permissionText(e.permissions))"
            if masked, let mask, e.permissions & ~mask != 0 { s += " (mask \(PosixACL.permissionText(mask)))" }
            return s
        }
        if uid == record.uid, let e = acl.entries.first(where: { $0.tag == .userObject }) {
            return (text(e, masked: false), e.permissions & bit != 0)
        }
        if let e = acl.entries.first(where: { $0.tag == .user && $0.id == uid }) {
            return (text(e, masked: true), e.permissions & (mask ?? 7) & bit != 0)
        }
        let matching = acl.entries.filter { e in
            (e.tag == .groupObject && accounts.isMember(uid: uid, ofGroup: record.gid))
                || (e.tag == .group && accounts.isMember(uid: uid, ofGroup: e.id))
        }
        if !matching.isEmpty {
            if let e = matching.first(where: { $0.permissions & (mask ?? 7) & bit != 0 }) { return (text(e, masked: true), true) }
            return (text(matching[0], masked: true), false)
        }
        let other = acl.entries.first { $0.tag == .other }!
        return (text(other, masked: false), other.permissions & bit != 0)
    }
}
