/// One entry met by the walk. `path` points into the walker's buffer and is valid only during the call.
public struct WalkEntry {
    public let path: UnsafeBufferPointer<UInt8>
    public let record: FileRecord
    let target: AttributeTarget
    let reader: ExtendedAttributeReader
    /// Whether the entry has a `security.capability` attribute, when the walk listed its attributes.
    let capabilityListed: Bool?

    init(
        path: UnsafeBufferPointer<UInt8>, record: FileRecord, target: AttributeTarget, reader: ExtendedAttributeReader,
        capabilityListed: Bool? = nil
    ) {
        self.path = path
        self.record = record
        self.target = target
        self.reader = reader
        self.capabilityListed = capabilityListed
    }

    /// Whether the entry carries file capabilities (`security.capability`): known from the walk's listing
    /// of its attributes, or read when asked.
    public func hasCapabilities() -> Result<Bool, ACLReadError> {
        if capabilityListed == false { return .success(false) }
        return reader.read(target, .capability).map { $0 != nil }
    }
}

/// Receives what the walk finds. The walk visits a directory before its children and hands each child
/// the context its directory's visit returned, so state can be carried down the tree.
public protocol WalkVisitor {
    associatedtype DirectoryContext

    /// Whether `path` is excluded: neither walked nor reported. `directory` is the context of the
    /// entry's directory, when the walk has one (not for a scan root and its ancestors).
    func isExcluded(_ path: UnsafeBufferPointer<UInt8>, in directory: DirectoryContext?) -> Bool

    /// A scan root is about to be walked; its ancestors follow.
    mutating func beginRoot(_ root: HostPath)

    /// An ancestor directory of a scan root, from `/` down to the scan root's parent.
    mutating func visitAncestor(_ entry: WalkEntry)

    /// The context a scan root starts from.
    mutating func rootContext() -> DirectoryContext

    /// An entry of a scan root (the root itself included). For a directory the returned context is handed
    /// to its children; `nil` means do not descend.
    mutating func visit(_ entry: WalkEntry, in parent: DirectoryContext) -> DirectoryContext?

    /// Something that could not be read; the scan is incomplete.
    mutating func record(_ error: WalkError)

    /// A mount point the walk did not enter.
    mutating func skip(_ mount: SkippedMount)
}

/// A visitor whose work can be split among the walk's threads: each thread gets its own copy, made by
/// `makeWorker`, and what each collected is merged at the end. Directory contexts cross threads (a
/// directory visited on one thread may be walked on another), so they must not change once made.
public protocol ParallelWalkVisitor: WalkVisitor, SendableMetatype {
    /// A visitor for another thread: the same configuration, nothing collected.
    func makeWorker() -> Self

    /// Takes in what another thread's visitor collected.
    mutating func merge(_ other: Self)
}

extension WalkVisitor {
    public mutating func beginRoot(_ root: HostPath) {}
}
