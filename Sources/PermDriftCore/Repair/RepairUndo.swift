/// Reverts one fix run from its journal (`permdrift fix --undo RUN`), newest change first, with the
/// apply step's checks: each path is opened the same way (`InodeHandle`), and its inode must be the one
/// the fix left (type, device, inode number, the ctime the fix left, and the state the fix read back),
/// else it is skipped as changed since the fix. The undo writes a journal of its own
/// (`fix-RUN.undo.jsonl`), which also keeps a run from being undone twice.
struct RepairUndo {
    /// One change of the fix run that the journal says was made (or begun), checked and ready to revert.
    struct Step {
        var line: Int
        var path: HostPath
        var type: FileType
        var device: UInt64
        var inode: UInt64
        var ctimeAfter: String?
        var before: InodeState
        var after: InodeState?
        /// The fix stopped between its `begin` line and its result: nothing says what it left.
        var interrupted: Bool
    }

    /// The steps of a journal, newest first; a journal without its `start` line or with an entry that
    /// lacks what undo needs is refused whole, naming the line.
    static func steps(_ entries: [(line: Int, entry: JournalEntry)], file: String) throws(JournalError) -> (start: JournalEntry, [Step]) {
        guard let first = entries.first, first.entry.event == .start, first.entry.root != nil else {
            throw JournalError(file: file, line: entries.first?.line, why: "does not begin with the run's start line")
        }
        var steps = [Step]()
        var open = [String: Int]()  // path_hex → index of a step begun and not yet finished
        for (line, e) in entries.dropFirst() {
            func missing(_ what: String) -> JournalError {
                JournalError(file: file, line: line, why: "the \(e.event.rawValue) entry lacks a valid \(what)")
            }
            switch e.event {
            case .start: throw JournalError(file: file, line: line, why: "a second start line")
            case .begin, .done, .failed:
                guard let hex = e.pathHex, let bytes = Hex.decode(hex), bytes.first == UInt8(ascii: "/") else { throw missing("path_hex") }
                guard let typeName = e.type, let type = FileType(rawValue: typeName) else { throw missing("type") }
                guard let device = e.device, let inode = e.inode else { throw missing("device and inode") }
                guard let before = e.before?.state else { throw missing("before") }
                if e.event == .begin {
                    open[hex] = steps.count
                    steps.append(
                        Step(
                            line: line, path: HostPath(bytes: bytes), type: type, device: device, inode: inode, ctimeAfter: nil,
                            before: before, after: nil, interrupted: true))
                    continue
                }
                guard let i = open.removeValue(forKey: hex), steps[i].device == device, steps[i].inode == inode else {
                    throw JournalError(file: file, line: line, why: "a \(e.event.rawValue) entry without its begin entry")
                }
                steps[i].line = line
                steps[i].interrupted = false
                if let after = e.after {
                    guard let state = after.state, e.ctimeAfter != nil else { throw missing("after") }
                    steps[i].after = state
                    steps[i].ctimeAfter = e.ctimeAfter
                }
            }
        }
        return (first.entry, steps.reversed())
    }

    let root: FileDescriptor
    let journal: JournalWriter

    /// Reverts each step; stops (throws) only when the undo journal cannot be written.
    func revert(_ steps: [Step]) throws(SystemCallError) -> [(step: Step, outcome: RepairApplier.Outcome)] {
        var out = [(step: Step, outcome: RepairApplier.Outcome)]()
        for step in steps { out.append((step, try revert(step))) }
        return out
    }

    private func revert(_ step: Step) throws(SystemCallError) -> RepairApplier.Outcome {
        if step.interrupted {
            return .failed(
                "the fix run stopped during this change (journal line \(step.line)); compare it by hand with the state before: \(JournalState(step.before).summary)"
            )
        }
        guard let after = step.after, let ctimeAfter = step.ctimeAfter else {
            return .failed(
                "the fix could not read what it left (journal line \(step.line)); compare it by hand with the state before: \(JournalState(step.before).summary)"
            )
        }
        let handle: InodeHandle
        switch InodeHandle.open(root: root, path: step.path) {
        case .success(let h): handle = h
        case .failure(.changed(let why)): return .skipped("changed since the fix: \(why)")
        case .failure(.failed(let call, let e)): return .failed("\(call): \(e)")
        }
        defer { handle.close() }
        let current: InodeState
        let status: FileStatus
        switch InodeState.read(handle) {
        case .success(let read): (current, status) = read
        case .failure(let e): return .failed(e.description)
        }
        if status.type != step.type || status.device != step.device || status.inode != step.inode {
            return .skipped("changed since the fix: another inode is there now")
        }
        if ctimeText(seconds: status.ctimeSeconds, nanoseconds: status.ctimeNanoseconds) != ctimeAfter {
            return .skipped("changed since the fix: its ctime is not the one the fix left")
        }
        if current != after { return .skipped("changed since the fix: it holds \(current.differences(from: after))") }
        if current == step.before { return .applied }
        if status.type != .directory, status.links > 1 {
            return .skipped("it now has \(status.links) links; undo changes nothing that another name reaches")
        }
        if let refused = current.privilegeRefusal(to: step.before, type: status.type) { return .skipped(refused) }
        var entry = JournalEntry(event: .begin)
        entry.path = step.path.description
        entry.pathHex = Hex.encode(step.path.bytes)
        entry.type = status.type.rawValue
        entry.device = status.device
        entry.inode = status.inode
        entry.ctime = ctimeAfter
        entry.before = JournalState(current)
        entry.changes = ["restore \(JournalState(step.before).summary)"]
        try journal.append(entry)
        let made = current.change(handle, to: step.before, type: status.type)
        entry.event = .done
        var outcome = RepairApplier.Outcome.applied
        switch InodeState.read(handle) {
        case .success(let (state, st)):
            entry.after = JournalState(state)
            entry.ctimeAfter = ctimeText(seconds: st.ctimeSeconds, nanoseconds: st.ctimeNanoseconds)
            if case .failure(let e) = made {
                outcome = .failed(e.description)
            } else if state != step.before {
                outcome = .failed("after the undo it holds \(state.differences(from: step.before))")
            }
        case .failure(let e): outcome = .failed("the state after the undo cannot be read: \(e)")
        }
        if case .failed(let why) = outcome {
            entry.event = .failed
            entry.error = why
        }
        try journal.append(entry)
        return outcome
    }
}

extension InodeState {
    /// The fields that `other` changes: `mode 0600 → 0644, ACL none → user::rw-,user:33002:r--,…`.
    func changes(to other: InodeState) -> String {
        var out = [String]()
        if uid != other.uid { out.append("owner \(uid) → \(other.uid)") }
        if gid != other.gid { out.append("group \(gid) → \(other.gid)") }
        if mode != other.mode { out.append("mode \(ModeSpec.octal(mode)) → \(ModeSpec.octal(other.mode))") }
        if acl != other.acl { out.append("ACL \(Self.text(acl)) → \(Self.text(other.acl))") }
        if defaultACL != other.defaultACL { out.append("default ACL \(Self.text(defaultACL)) → \(Self.text(other.defaultACL))") }
        if capability != other.capability {
            out.append(other.capability == nil ? "security.capability removed" : "security.capability set again")
        }
        return out.isEmpty ? "nothing to change" : out.joined(separator: ", ")
    }
}

extension JournalState {
    /// `owner 33001, group 33001, mode 0644, ACL user::rw-,…, no default ACL, no capabilities`.
    var summary: String {
        [
            "owner \(uid)", "group \(gid)", "mode \(mode)", acl.map { "ACL \($0)" } ?? "no extended ACL",
            defaultACL.map { "default ACL \($0)" } ?? "no default ACL",
            capabilityHex.map { "security.capability \($0)" } ?? "no capabilities"
        ].joined(separator: ", ")
    }
}
