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

    /// `allCases`, made once (the synthesized property builds a new array on every call).
    static let ordered = allCases
}

/// The POSIX ACL check of acl(5) on one object, for all users at once, as Linux performs it: the owner
/// entry; else a named-user entry, masked; else, for members of the owning group or of a named group, the
/// group class alone decides (granted if one matching entry grants every requested bit after the mask,
/// denied otherwise, with no fall-through to other); else other.
///
/// Two details follow the kernel (`acl_permission_check` and `posix_acl_permission`) where acl(5) is
/// silent: a request for several bits at once (write and search in a directory) must be granted by one
/// entry, and an extended ACL whose mask is empty is not consulted at all — the mode bits decide, so
/// named users and named groups fall to the other class.
struct AccessCheck {
    let index: PrincipalIndex

    /// The ACL the kernel evaluates for `record`.
    static func enforcedACL(_ record: FileRecord) -> PosixACL {
        guard let acl = record.acl, acl.mask != 0 else { return PosixACL(mode: record.mode) }
        return acl
    }

    /// Who the ACL of `record` grants all of `bits` (4 read, 2 write, 1 execute), before reach is considered.
    func granted(_ record: FileRecord, bits: UInt8) -> UserSet {
        let acl = Self.enforcedACL(record)
        let mask = acl.mask ?? 7
        func grants(_ perms: UInt8) -> Bool { perms & bits == bits }
        var result = UserSet.empty
        var classified = index.user(record.uid)
        if grants(acl.permissions(of: .userObject) ?? 0) { result = result.union(classified) }
        for e in acl.entries where e.tag == .user && e.id != record.uid {
            let user = index.user(e.id)
            classified = classified.union(user)
            if grants(e.permissions & mask) { result = result.union(user) }
        }
        var groupClass = UserSet.empty
        var groupGrants = UserSet.empty
        for e in acl.entries where e.tag == .groupObject || e.tag == .group {
            let members = index.members(of: e.tag == .groupObject ? record.gid : e.id)
            groupClass = groupClass.union(members)
            if grants(e.permissions & mask) { groupGrants = groupGrants.union(members) }
        }
        groupClass = groupClass.subtracting(classified)
        result = result.union(groupClass.intersection(groupGrants))
        classified = classified.union(groupClass)
        if grants(acl.permissions(of: .other) ?? 0) {
            result = result.union(UserSet.everyone.subtracting(classified))
        }
        return result
    }

    /// The entry that decides `bits` for one user, in getfacl's form, and whether it grants them all.
    func decidingEntry(_ record: FileRecord, uid: UInt32, bits: UInt8) -> (entry: String, grants: Bool) {
        let acl = Self.enforcedACL(record)
        let accounts = index.accounts
        let mask = acl.mask
        let ignoredMask = record.acl != nil && record.acl?.mask == 0
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
            if ignoredMask { s += " (the ACL's mask is empty, so the kernel uses the mode bits)" }
            return s
        }
        func grants(_ perms: UInt8) -> Bool { perms & bits == bits }
        if uid == record.uid, let e = acl.entries.first(where: { $0.tag == .userObject }) {
            return (text(e, masked: false), grants(e.permissions))
        }
        if let e = acl.entries.first(where: { $0.tag == .user && $0.id == uid }) {
            return (text(e, masked: true), grants(e.permissions & (mask ?? 7)))
        }
        let matching = acl.entries.filter { e in
            (e.tag == .groupObject && accounts.isMember(uid: uid, ofGroup: record.gid))
                || (e.tag == .group && accounts.isMember(uid: uid, ofGroup: e.id))
        }
        if !matching.isEmpty {
            if let e = matching.first(where: { grants($0.permissions & (mask ?? 7)) }) { return (text(e, masked: true), true) }
            return (text(matching[0], masked: true), false)
        }
        let other = acl.entries.first { $0.tag == .other }!
        return (text(other, masked: false), grants(other.permissions))
    }
}
