/// What a rule asks of an entry, as a change `permdrift fix` could make.
public enum RepairTarget: Sendable, Hashable {
    /// The one owner the rule names (a uid, or a capture that resolved to one).
    case owner(UInt32)
    /// The one group the rule names.
    case group(UInt32)
    case mode(ModeSpec)
    case acl(ACLSpec)
    case defaultACL(ACLSpec)
    /// No `security.capability` attribute.
    case noCapabilities
}

/// The scan's record of the entry a finding is about and what its rule asks: the base of a repair.
public struct RepairBasis: Sendable, Hashable {
    public var record: FileRecord
    public var target: RepairTarget
    /// The rule's `type:` (nil: the rule names none).
    public var ruleTypes: Set<FileType>?

    public init(record: FileRecord, target: RepairTarget, ruleTypes: Set<FileType>?) {
        self.record = record
        self.target = target
        self.ruleTypes = ruleTypes
    }
}

/// What the apply step will check of an inode before it changes it: the scan saw these, and anything
/// else there is "changed since the scan".
public struct InodeFacts: Sendable, Hashable, CustomStringConvertible {
    public var type: FileType
    public var device: UInt64
    public var inode: UInt64
    public var ctimeSeconds: Int64
    public var ctimeNanoseconds: UInt32
    public var links: UInt64
    /// The 12 mode bits and the owners: compared too, for filesystems whose ctime is
    /// coarse (not printed).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// The ACLs the scan read (nil: none), compared for the same reason.
    public var acl: PosixACL?
    public var defaultACL: PosixACL?

    public init(_ record: FileRecord) {
        type = record.type
        device = record.device
        inode = record.inode
        ctimeSeconds = record.ctimeSeconds
        ctimeNanoseconds = record.ctimeNanoseconds
        links = record.links
        mode = record.mode
        uid = record.uid
        gid = record.gid
        acl = record.acl.flatMap { $0.isMinimal ? nil : $0 }
        defaultACL = record.defaultACL
    }

    /// `directory, device 2049, inode 131, ctime 1719830000.123456789, 1 link`.
    public var description: String {
        "\(type.rawValue), device \(device), inode \(inode), ctime \(ctimeText(seconds: ctimeSeconds, nanoseconds: ctimeNanoseconds)), \(links) link\(links == 1 ? "" : "s")"
    }
}
