extension RuleEvaluator {
    /// Findings of kind `access`: users who have a right the rule does not allow them.
    func checkAccess(
        _ box: RuleBox, index r: Int, decided: DirectoryMatch?, _ entry: WalkEntry, parent: AccessContext?,
        directory: DirectoryMatch?, capture: (String) -> ResolvedName?, findings: inout FindingCollector
    ) {
        guard let access else { return }
        // Without its ancestors' records (they could not be read) reach is unknown; the scan is incomplete.
        guard parent != nil || entry.path.count == 1 else { return }
        let rule = box.rule
        let record = entry.record
        let holders = access.holders(record: record, parent: parent)
        for k in box.accessSpecs.indices {
            guard let specs = box.accessSpecs[k] else { continue }
            let right = AccessRight.ordered[k]
            let allowed: UserSet
            var missing: [String] = []
            if let known = decidedAllowed(decided, rule: r, right: k) {
                allowed = known
            } else {
                captureUIDScratch.removeAll(keepingCapacity: true)
                for case .capture(let name) in specs { captureUIDScratch.append(capture(name)?.uid ?? UInt32.max) }
                if let last = lastAllowed[r][k], last.uids == captureUIDScratch {
                    allowed = last.set
                } else {
                    let key = AccessEvaluator.AllowedKey(rule: r, right: right, captures: captureUIDScratch)
                    (allowed, missing) = access.allowedCached(key, specs, capture: capture)
                    if missing.isEmpty { lastAllowed[r][k] = (captureUIDScratch, allowed) }
                }
            }
            // The common case: everyone who has the right is allowed it.
            if missing.isEmpty && holders[k].isSubset(of: allowed) { continue }
            let extra = holders[k].subtracting(allowed).intersection(access.reportable(parent: parent, record: record))
            if missing.isEmpty && extra.isEmpty { continue }
            if isSilenced(rule: r, path: entry.path, directory: directory, findings: &findings) { continue }
            let path = HostPath(reporting: entry.path)
            let expected = "\(right.rawValue) only by \(describe(specs, capture: { capture($0)?.text })) and root"
            for m in missing {
                emit(
                    Finding(
                        rule: rule.id, severity: rule.severity, kind: .access, path: path, expected: expected,
                        actual: "the capture \(m) names no user, so the rule cannot hold", right: right.rawValue),
                    rule: r, path: entry.path, directory: directory, into: &findings)
            }
            guard !extra.isEmpty else { continue }
            for i in extra.members(upTo: access.index.count) {
                let uid = access.index.uid(at: i)
                let label = accounts.userLabel(uid)
                // Beyond what the report lists: counted, and its explanation is never worked out.
                guard findings.wants(rule: rule.id, path: path, kind: .access, principal: label, right: right.rawValue) else {
                    findings.omit(rule: rule.id)
                    continue
                }
                findings.append(
                    Finding(
                        rule: rule.id, severity: rule.severity, kind: .access, path: path, expected: expected,
                        actual: "\(label) can \(right.rawValue)", principal: label, right: right.rawValue,
                        via: access.via(uid: uid, right: right, path: entry.path, record: record, parent: parent)))
            }
        }
    }

    /// A directory's default ACL is future access: what a file (create mode 0666) or a directory (0777)
    /// created in it would grant, held against the access rules for paths below it.
    func inheritedAccess(
        _ entry: WalkEntry, directory: AccessContext, in parentDirectory: DirectoryMatch?,
        findings: inout FindingCollector
    ) {
        guard let access, let defaultACL = entry.record.defaultACL else { return }
        var directoryPath = Array(entry.path)
        if directoryPath.last != UInt8(ascii: "/") { directoryPath.append(UInt8(ascii: "/")) }
        var reported = Set<String>()
        let directoryHostPath = HostPath(reporting: entry.path)
        for type in [FileType.file, .directory] {
            let child = Self.inheritedRecord(defaultACL, type: type, in: entry.record, accounts: accounts)
            for (r, rule) in baseline.rules.enumerated() {
                guard let accessRule = rule.access else { continue }
                if let types = rule.types, !types.contains(type) { continue }
                // A name a new entry could have that the rule's patterns match (`x`, or `x.jsonl` for `*.jsonl`).
                var childPath = directoryPath
                var matched: Int?
                for name in [Array("x".utf8)] + rule.patterns.compactMap(\.sampleLastName) {
                    childPath = directoryPath + name
                    matched = childPath.withUnsafeBufferPointer { matchingPattern(rule: r, path: $0, segments: PathSegments($0)) }
                    if matched != nil { break }
                }
                guard let p = matched else { continue }
                let capture: (String) -> String? = { name in
                    childPath.withUnsafeBufferPointer { self.captured(name, rule: r, pattern: p, in: $0)?.text }
                }
                for right in AccessRight.allCases {
                    guard let specs = accessRule.principals(for: right) else { continue }
                    let allowed = access.allowed(specs, capture: capture).set
                    // Only the new entry's own ACL: replacing entries is reported on the entries that exist.
                    let objectHolders = access.objectHolders(right, record: child, parent: directory)
                    let extra = objectHolders.subtracting(allowed).intersection(access.reportable(parent: directory, record: child))
                    for i in extra.members(upTo: access.index.count) {
                        let uid = access.index.uid(at: i)
                        let label = accounts.userLabel(uid)
                        guard reported.insert("\(rule.id)\u{0}\(label)\u{0}\(right.rawValue)").inserted else { continue }
                        if isSilenced(rule: r, path: entry.path, directory: parentDirectory, findings: &findings) { continue }
                        guard
                            findings.wants(
                                rule: rule.id, path: directoryHostPath, kind: .inheritedAccess, principal: label,
                                right: right.rawValue)
                        else {
                            findings.omit(rule: rule.id)
                            continue
                        }
                        var via = access.searchSteps(uid: uid, through: directory, path: entry.path)
                        let deciding = access.check.decidingEntry(
                            child, uid: uid, bits: right == .write && type == .directory ? 3 : right.bit
                        ).entry
                        via.append(
                            AccessStep(
                                entry: "default:\(deciding)", path: directoryHostPath,
                                note: " (inherited by new \(type == .file ? "files" : "directories"))"))
                        findings.append(
                            Finding(
                                rule: rule.id, severity: rule.severity, kind: .inheritedAccess, path: directoryHostPath,
                                expected: "\(right.rawValue) only by \(describe(specs, capture: capture)) and root, also for new entries",
                                actual: "new \(type == .file ? "files" : "directories") would let \(label) \(right.rawValue)",
                                principal: label, right: right.rawValue, via: via))
                    }
                }
            }
        }
    }

    /// The record a new entry would get from a default ACL: entries limited by the create mode (0666 for
    /// files, 0777 for directories) as acl(5) describes, owned by the directory's owner, with the
    /// directory's group when it is setgid (else the owner's primary group).
    static func inheritedRecord(
        _ defaultACL: PosixACL, type: FileType, in directory: FileRecord,
        accounts: AccountDatabase
    ) -> FileRecord {
        let createMode: UInt8 = type == .directory ? 7 : 6
        let hasMask = defaultACL.mask != nil
        let entries = defaultACL.entries.map { e -> PosixACL.Entry in
            switch e.tag {
            case .userObject, .other: return PosixACL.Entry(e.tag, e.permissions & createMode)
            case .mask: return PosixACL.Entry(.mask, e.permissions & createMode)
            case .groupObject where !hasMask: return PosixACL.Entry(.groupObject, e.permissions & createMode)
            default: return e
            }
        }
        let acl = PosixACL(entries: entries)
        let user = acl.permissions(of: .userObject) ?? 0
        let group = acl.mask ?? acl.permissions(of: .groupObject) ?? 0
        let other = acl.permissions(of: .other) ?? 0
        let setgid = directory.mode & 0o2000 != 0
        let gid = setgid ? directory.gid : (accounts.primaryGroup(ofUser: directory.uid) ?? directory.gid)
        return FileRecord(
            type: type, mode: UInt32(user) << 6 | UInt32(group) << 3 | UInt32(other),
            uid: directory.uid, gid: gid, acl: acl.isMinimal ? nil : acl)
    }

    /// The principals a rule allows, for people.
    func describe(_ specs: [PrincipalSpec], capture: (String) -> String?) -> String {
        let names = specs.map { spec -> String in
            switch spec {
            case .user(let uid): accounts.userDisplay(uid)
            case .group(let gid): "group:\(accounts.groupDisplay(gid))"
            case .capture(let name): capture(name).map(TerminalText.escape) ?? "{\(name)}"
            }
        }
        return names.isEmpty ? "nobody" : names.joined(separator: ", ")
    }
}
