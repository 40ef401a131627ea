import Glibc

/// The system's account database, through NSS (so LDAP and SSSD accounts resolve), and the identity
/// this process runs as.
enum SystemAccounts {
    struct User {
        let name: String
        let uid: UInt32
        let gid: UInt32
    }

    struct Group {
        let name: String
        let gid: UInt32
        let members: [String]
    }

    /// The effective user id of this process.
    static var effectiveUserID: UInt32 { geteuid() }

    /// Every user NSS enumerates (`getpwent`).
    static func allUsers() -> [User] {
        var users = [User]()
        setpwent()
        while let pw = getpwent() {
            users.append(User(name: String(cString: pw.pointee.pw_name), uid: pw.pointee.pw_uid, gid: pw.pointee.pw_gid))
        }
        endpwent()
        return users
    }

    /// Every group NSS enumerates (`getgrent`), with its listed members.
    static func allGroups() -> [Group] {
        var groups = [Group]()
        setgrent()
        while let gr = getgrent() {
            var members = [String]()
            if var p = gr.pointee.gr_mem {
                while let m = p.pointee { members.append(String(cString: m)); p += 1 }
            }
            groups.append(Group(name: String(cString: gr.pointee.gr_name), gid: gr.pointee.gr_gid, members: members))
        }
        endgrent()
        return groups
    }

    /// The user named `name` (`getpwnam_r`): its uid and primary group.
    static func user(named name: String) -> (uid: UInt32, gid: UInt32)? {
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwnam_r(name, &pw, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return (pw.pw_uid, pw.pw_gid)
    }

    /// The name of user `uid` (`getpwuid_r`).
    static func userName(_ uid: UInt32) -> String? {
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwuid_r(uid, &pw, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return String(cString: pw.pw_name)
    }

    /// The id of the group named `name` (`getgrnam_r`).
    static func groupID(named name: String) -> UInt32? {
        var group = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrnam_r(name, &group, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return group.gr_gid
    }

    /// The name of group `gid` (`getgrgid_r`).
    static func groupName(_ gid: UInt32) -> String? {
        var group = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrgid_r(gid, &group, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return String(cString: group.gr_name)
    }

    /// Every group user `name` is in (`getgrouplist`), its primary group `primary` included; empty when
    /// NSS cannot say.
    static func groupIDs(ofUser name: String, primary: UInt32) -> [UInt32] {
        var count: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var n = count
            if getgrouplist(name, primary, &groups, &n) >= 0 { return Array(groups.prefix(Int(n))) }
            if n <= count { return [] }
            count = n
        }
    }
}
