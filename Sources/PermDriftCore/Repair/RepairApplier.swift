/// Makes a plan's changes, race-safely (docs/design.md, "Repair"): each path is opened from the host
/// root one component at a time without following a symlink (`InodeHandle`); the inode must be the
/// one the scan saw (type, device, inode number, ctime, and mode and owners for filesystems with coarse
/// timestamps), checked once before its first change, since every change moves the ctime; a
/// non-directory that now has more than one link is not changed, nor one whose content someone other
/// than root could write given privilege; nothing outside the baseline's scan roots is touched. Each inode's state is written
/// to the journal before its first change and again, as read back, after its last.
public struct RepairApplier {
    public enum Outcome: Sendable, Equatable {
        /// The changes were made and the inode now holds what the plan asked.
        case applied
        /// Nothing was changed: the path is not what the scan saw, or is outside the scan roots.
        case skipped(String)
        /// A change failed or left something else than planned (the journal holds what it left).
        case failed(String)
    }

    public struct PathOutcome: Sendable {
        public var path: HostPath
        public var changes: [RepairAction.Change]
        public var outcome: Outcome
    }

    let root: FileDescriptor
    let scanRoots: [HostPath]
    let journal: JournalWriter

    init(root: FileDescriptor, scanRoots: [HostPath], journal: JournalWriter) {
        self.root = root
        self.scanRoots = scanRoots
        self.journal = journal
    }

    /// The order in which one inode's changes are made (and so the order of the state they lead to).
    static func order(_ change: RepairAction.Change) -> Int {
        ["owner": 0, "group": 1, "acl": 2, "default-acl": 3, "mode": 4, "capabilities": 5][change.kind] ?? 6
    }

    /// Applies every change of the plan that is not refused; stops (throws) only when the journal cannot
    /// be written, since no change may be made that the journal does not hold.
    func apply(_ plan: RepairPlan) throws(SystemCallError) -> [PathOutcome] {
        var outcomes = [PathOutcome]()
        for p in plan.paths {
            let changes = p.actions.filter { $0.refusal == nil }.map(\.change).sorted { Self.order($0) < Self.order($1) }
            guard !changes.isEmpty, let facts = p.inode else { continue }
            let outcome = try apply(changes, to: p.path, facts: facts)
            outcomes.append(PathOutcome(path: p.path, changes: changes, outcome: outcome))
        }
        return outcomes
    }

    func apply(_ changes: [RepairAction.Change], to path: HostPath, facts: InodeFacts) throws(SystemCallError) -> Outcome {
        guard path.shortenedFrom == nil, scanRoots.contains(where: { path.isWithin($0) }) else {
            return .skipped("outside the baseline's scan roots; fix never changes anything there")
        }
        let handle: InodeHandle
        switch InodeHandle.open(root: root, path: path) {
        case .success(let h): handle = h
        case .failure(.changed(let why)): return .skipped("changed since the scan: \(why)")
        case .failure(.failed(let call, let e)): return .failed("\(call): \(e)")
        }
        defer { handle.close() }
        let before: InodeState
        let status: FileStatus
        switch InodeState.read(handle) {
        case .success(let read): (before, status) = read
        case .failure(let e): return .failed(e.description)
        }
        if let differs = Self.differences(status, facts) { return .skipped("changed since the scan: \(differs)") }
        if before.acl != facts.acl || before.defaultACL != facts.defaultACL {
            return .skipped("changed since the scan: its ACLs are not those the scan read")
        }
        if status.type != .directory, status.links > 1 {
            return .skipped("it now has \(status.links) links; fix changes nothing that another name reaches")
        }
        if status.type == .symlink { return .skipped("it is a symlink; fix never changes one") }
        let target = changes.reduce(before) { $0.with($1, type: status.type) }
        if let refused = before.privilegeRefusal(to: target, type: status.type) { return .skipped(refused) }
        var entry = JournalEntry(event: .begin)
        entry.path = path.description
        entry.pathHex = Hex.encode(path.bytes)
        entry.type = status.type.rawValue
        entry.device = status.device
        entry.inode = status.inode
        entry.ctime = ctimeText(seconds: status.ctimeSeconds, nanoseconds: status.ctimeNanoseconds)
        entry.before = JournalState(before)
        entry.changes = changes.map { RepairPlan.describe($0, .numeric) }
        try journal.append(entry)
        let made = before.change(handle, to: target, type: status.type)
        let after = InodeState.read(handle)
        entry.event = .done
        if case .success(let (state, st)) = after {
            entry.after = JournalState(state)
            entry.ctimeAfter = ctimeText(seconds: st.ctimeSeconds, nanoseconds: st.ctimeNanoseconds)
        }
        var outcome = Outcome.applied
        switch (made, after) {
        case (.failure(let e), _):
            outcome = .failed(e.description)
        case (.success, .failure(let e)):
            outcome = .failed("the state after the change cannot be read: \(e)")
        case (.success, .success(let (state, _))) where state != target:
            outcome = .failed("after the change it holds \(state.differences(from: target))")
        default: break
        }
        if case .failed(let why) = outcome {
            entry.event = .failed
            entry.error = why
        }
        try journal.append(entry)
        return outcome
    }

    /// What differs between an inode and the scan's facts of it, or nil.
    static func differences(_ st: FileStatus, _ facts: InodeFacts) -> String? {
        if st.type != facts.type { return "it is a \(st.type.rawValue), the scan saw a \(facts.type.rawValue)" }
        if st.device != facts.device || st.inode != facts.inode {
            return "another inode (device \(st.device), inode \(st.inode); the scan saw device \(facts.device), inode \(facts.inode))"
        }
        if st.ctimeSeconds != facts.ctimeSeconds || st.ctimeNanoseconds != facts.ctimeNanoseconds || st.mode & 0o7777 != facts.mode
            || st.uid != facts.uid || st.gid != facts.gid
        {
            return
                "its ctime is \(ctimeText(seconds: st.ctimeSeconds, nanoseconds: st.ctimeNanoseconds)), the scan saw \(ctimeText(seconds: facts.ctimeSeconds, nanoseconds: facts.ctimeNanoseconds)): its mode, owner, ACL or links changed"
        }
        return nil
    }
}

/// Appends journal lines to a file the run created (`O_EXCL`, 0600, never through a symlink), each
/// written whole and synced before the change it announces is made.
final class JournalWriter {
    let path: String
    private let descriptor: FileDescriptor

    /// Creates `name` in the state directory; fails when it exists.
    init(state: StateDirectory, name: String) throws(SystemCallError) {
        path = (state.path.hasSuffix("/") ? state.path : state.path + "/") + name
        switch name.withCString({ Syscalls.createExclusive(state.descriptor, $0, mode: 0o600) }) {
        case .success(let fd): descriptor = fd
        case .failure(let e): throw SystemCallError("openat", path: path, errno: e)
        }
    }

    deinit { descriptor.close() }

    func append(_ entry: JournalEntry) throws(SystemCallError) {
        var bytes: [UInt8]
        do { bytes = try JournalCoding.encode(entry) } catch {
            throw SystemCallError("encode", path: path, errno: .invalidArgument)
        }
        bytes.append(UInt8(ascii: "\n"))
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Syscalls.write(descriptor, UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            switch written {
            case .success(let n) where n > 0: offset += n
            case .success: throw SystemCallError("write", path: path, errno: .ioError)
            case .failure(let e): throw SystemCallError("write", path: path, errno: e)
            }
        }
        if case .failure(let e) = Syscalls.fsync(descriptor) { throw SystemCallError("fsync", path: path, errno: e) }
    }
}
