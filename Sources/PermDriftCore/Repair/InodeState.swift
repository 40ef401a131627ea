/// What `permdrift fix` may change of an inode, read whole before and after each repair and written to
/// the journal: owner, group, the 12 mode bits, the access and default ACLs, and the raw
/// `security.capability` value. Undo sets the state before back by the same transition (`change`).
public struct InodeState: Hashable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    /// The 12 mode bits (permissions, setuid, setgid, sticky).
    public var mode: UInt32
    /// The extended access ACL; nil when the mode bits are the whole ACL.
    public var acl: PosixACL?
    public var defaultACL: PosixACL?
    /// The `security.capability` bytes, exactly; nil when there are none.
    public var capability: [UInt8]?

    public init(uid: UInt32, gid: UInt32, mode: UInt32, acl: PosixACL?, defaultACL: PosixACL?, capability: [UInt8]?) {
        self.uid = uid
        self.gid = gid
        self.mode = mode & 0o7777
        self.acl = acl.flatMap { $0.isMinimal ? nil : $0 }
        self.defaultACL = defaultACL
        self.capability = capability
    }

    /// The state with one planned change made, as the kernel makes it: an ACL change moves the mode's
    /// permission bits (the group bits follow the mask, or the owning group's entry when no mask is
    /// left), a mode change moves the ACL's owner, mask and other entries, and a new owner or group of
    /// a non-directory clears setuid, setgid (where group-executable) and file capabilities.
    func with(_ change: RepairAction.Change, type: FileType) -> InodeState {
        var s = self
        switch change {
        case .owner(_, let to), .group(_, let to):
            if case .owner = change { s.uid = to } else { s.gid = to }
            if type != .directory {
                s.mode &= ~0o4000
                if s.mode & 0o010 != 0 { s.mode &= ~0o2000 }
                s.capability = nil
            }
        case .removeACLEntries(_, let leaves): s.setAccessACL(leaves)
        case .setACL(let from, let to): s.setAccessACL(to ?? from.baseEntries)
        case .removeDefaultACLEntries(_, let leaves): s.defaultACL = leaves
        case .setDefaultACL(_, let to): s.defaultACL = to
        case .mode(_, let to):
            s.mode = to & 0o7777
            if var acl = s.acl {
                acl = PosixACL(
                    entries: acl.entries.map { e in
                        switch e.tag {
                        case .userObject: PosixACL.Entry(.userObject, UInt8((to >> 6) & 7))
                        case .mask: PosixACL.Entry(.mask, UInt8((to >> 3) & 7))
                        case .other: PosixACL.Entry(.other, UInt8(to & 7))
                        default: e
                        }
                    })
                s.acl = acl
            }
        case .removeCapabilities: s.capability = nil
        }
        return s
    }

    /// Sets the access ACL as the kernel does: the owner, group-class and other bits of the mode follow it.
    private mutating func setAccessACL(_ acl: PosixACL) {
        let owner = UInt32(acl.permissions(of: .userObject) ?? 0)
        let group = UInt32(acl.permissions(of: .mask) ?? acl.permissions(of: .groupObject) ?? 0)
        let other = UInt32(acl.permissions(of: .other) ?? 0)
        mode = (mode & 0o7000) | owner << 6 | group << 3 | other
        self.acl = acl.isMinimal ? nil : acl
    }

    /// The state a scan's record gives (its capability bytes are not kept: nil).
    init(_ record: FileRecord) {
        self.init(
            uid: record.uid, gid: record.gid, mode: record.mode, acl: record.acl, defaultACL: record.defaultACL, capability: nil)
    }

    /// The privilege `target` gives that this state does not: root's ownership, a setuid or setgid bit
    /// (new, or kept across a change of the owner or group it runs as), or file capabilities; nil when
    /// it gives none.
    func privilegeAdded(by target: InodeState) -> String? {
        if target.uid == 0 && uid != 0 { return "root's ownership" }
        if target.mode & ~mode & 0o6000 != 0 { return "a setuid or setgid bit" }
        if target.mode & 0o4000 != 0 && target.uid != uid { return "setuid to another owner" }
        if target.mode & 0o2000 != 0 && target.gid != gid { return "setgid to another group" }
        if let capability = target.capability, capability != self.capability { return "capabilities (security.capability)" }
        return nil
    }

    /// Why going from this state to `target` is refused: fix and undo never give a non-directory
    /// privilege, since neither can know that its content is what should have it (an agent may have
    /// written it, now or at any time it could); nil when the change gives none.
    func privilegeRefusal(to target: InodeState, type: FileType) -> String? {
        guard type != .directory, let added = privilegeAdded(by: target) else { return nil }
        return
            "this would give the file \(added); fix never gives a file privilege, since it cannot know that the content is what should have it: check the content, then make the change by hand"
    }

    /// The fields that differ, for messages: `mode 0600 (expected 0640), owner 33001 (expected 33002)`.
    func differences(from expected: InodeState) -> String {
        var out = [String]()
        if mode != expected.mode { out.append("mode \(ModeSpec.octal(mode)) (expected \(ModeSpec.octal(expected.mode)))") }
        if uid != expected.uid { out.append("owner uid \(uid) (expected \(expected.uid))") }
        if gid != expected.gid { out.append("group gid \(gid) (expected \(expected.gid))") }
        if acl != expected.acl { out.append("ACL \(Self.text(acl)) (expected \(Self.text(expected.acl)))") }
        if defaultACL != expected.defaultACL {
            out.append("default ACL \(Self.text(defaultACL)) (expected \(Self.text(expected.defaultACL)))")
        }
        if capability != expected.capability { out.append("security.capability differs") }
        return out.joined(separator: ", ")
    }

    /// An ACL in the journal's and messages' form: getfacl's text with numeric qualifiers, or `none`.
    static func text(_ acl: PosixACL?) -> String { acl?.text() ?? "none" }
}

extension InodeState {
    /// Reads the state of the inode a handle holds.
    static func read(_ handle: InodeHandle) -> Result<(InodeState, FileStatus), RepairError> {
        let st: FileStatus
        switch handle.status() {
        case .success(let s): st = s
        case .failure(let e): return .failure(.system("statx", e))
        }
        var acls = [PosixACL?]()
        for name in [ACLAttribute.access, ACLAttribute.defaultACL] {
            switch handle.attribute(name) {
            case .success(nil): acls.append(nil)
            case .success(let bytes?):
                do {
                    acls.append(try bytes.withUnsafeBytes { b throws(ACLDecodingError) in try PosixACL(xattr: b) })
                } catch {
                    return .failure(.unreadable("its \(name) attribute: \(error)"))
                }
            case .failure(let e) where e == .notSupported: acls.append(nil)
            case .failure(let e): return .failure(.system("getxattr \(name)", e))
            }
        }
        let capability: [UInt8]?
        switch handle.attribute(ACLAttribute.capability) {
        case .success(let bytes): capability = bytes
        case .failure(let e) where e == .notSupported: capability = nil
        case .failure(let e): return .failure(.system("getxattr \(ACLAttribute.capability)", e))
        }
        // The attributes were read after the status: a change in between would mix two states.
        switch handle.status() {
        case .success(let again) where again.hasSameChangeTime(as: st) && again.isSameInode(as: st): break
        case .success: return .failure(.unreadable("it: it changed while it was read"))
        case .failure(let e): return .failure(.system("statx", e))
        }
        let state = InodeState(uid: st.uid, gid: st.gid, mode: st.mode, acl: acls[0], defaultACL: acls[1], capability: capability)
        return .success((state, st))
    }

    /// Makes the inode's state `target`, from `self` (its state as just read): owner and group first (a
    /// chown clears setuid, setgid and capabilities, which the later steps set again where the target
    /// has them), then the access ACL (which sets the mode's permission bits), the default ACL, the mode
    /// bits, and the capabilities last. Each step runs only when its part differs. Before an owner or
    /// group change the mode is narrowed to what both states allow.
    func change(_ handle: InodeHandle, to target: InodeState, type: FileType) -> Result<Void, RepairError> {
        if uid != target.uid || gid != target.gid {
            // First only the bits both states have, so that the new owner or group never holds, even
            // for a moment, what the old one had and the target does not (with an ACL, this narrows the mask).
            let narrow = mode & target.mode
            if narrow != mode, case .failure(let e) = handle.changeMode(narrow) { return .failure(.system("chmod", e)) }
            if case .failure(let e) = handle.changeOwner(
                uid: uid == target.uid ? nil : target.uid, gid: gid == target.gid ? nil : target.gid)
            {
                return .failure(.system("fchownat", e))
            }
        }
        if acl != target.acl {
            let whole = target.acl ?? PosixACL(mode: target.mode)
            if case .failure(let e) = handle.setAttribute(ACLAttribute.access, whole.xattrBytes) {
                return .failure(.system("setxattr \(ACLAttribute.access)", e))
            }
        }
        if type == .directory, defaultACL != target.defaultACL {
            let result =
                target.defaultACL.map { handle.setAttribute(ACLAttribute.defaultACL, $0.xattrBytes) }
                ?? handle.removeAttribute(ACLAttribute.defaultACL)
            if case .failure(let e) = result { return .failure(.system("setxattr \(ACLAttribute.defaultACL)", e)) }
        }
        // The mode as the steps above left it: a chown may have cleared bits, an ACL moved others.
        switch handle.status() {
        case .success(let st):
            if st.mode & 0o7777 != target.mode, case .failure(let e) = handle.changeMode(target.mode) {
                return .failure(.system("chmod", e))
            }
        case .failure(let e): return .failure(.system("statx", e))
        }
        // Read again: a chown has removed them.
        switch handle.attribute(ACLAttribute.capability) {
        case .success(let now) where now != target.capability:
            let result =
                target.capability.map { handle.setAttribute(ACLAttribute.capability, $0) }
                ?? handle.removeAttribute(ACLAttribute.capability)
            if case .failure(let e) = result { return .failure(.system("setxattr \(ACLAttribute.capability)", e)) }
        case .success: break
        case .failure(let e) where e == .notSupported && target.capability == nil: break
        case .failure(let e): return .failure(.system("getxattr \(ACLAttribute.capability)", e))
        }
        return .success(())
    }
}

/// The names of the extended attributes a repair reads and writes.
enum ACLAttribute {
    static let access = "system.posix_acl_access"
    static let defaultACL = "system.posix_acl_default"
    static let capability = "security.capability"
}

/// Why a repair of one inode failed.
public enum RepairError: Error, Sendable, CustomStringConvertible {
    case system(String, Errno)
    case unreadable(String)

    public var description: String {
        switch self {
        case .system(let call, let e): "\(call): \(e)"
        case .unreadable(let what): "cannot read \(what)"
        }
    }
}
