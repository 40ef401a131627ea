/// The rules' `expect` assertions (owner, group, mode, ACLs, link count, capabilities) checked against an
/// entry's record, and the ACL texts their findings carry.
extension RuleEvaluator {
    func check(
        _ box: RuleBox, index r: Int, _ entry: WalkEntry, directory: DirectoryMatch?, capture: (String) -> ResolvedName?,
        findings: inout FindingCollector
    ) {
        let record = entry.record
        let rule = box.rule
        let e = rule.expect
        var path: HostPath?
        func report(
            _ kind: FindingKind, expected: String, actual: String, widening: Bool = true, target: RepairTarget? = nil
        ) {
            if path == nil { path = HostPath(reporting: entry.path) }
            var finding = Finding(
                rule: rule.id, severity: rule.severity, kind: kind, path: path!, expected: expected, actual: actual,
                widening: widening)
            finding.repair = target.map { RepairBasis(record: record, target: $0, ruleTypes: rule.types) }
            emit(finding, rule: r, path: entry.path, directory: directory, into: &findings)
        }
        if let owner = e.owner {
            switch owner {
            case .id(let uid):
                if record.uid != uid {
                    report(
                        .owner, expected: accounts.userDisplay(uid), actual: accounts.userDisplay(record.uid),
                        widening: Widening.owner(actual: record.uid), target: .owner(uid))
                }
            case .capture(let name):
                let value = capture(name)
                if let value, let uid = value.uid {
                    if record.uid != uid {
                        report(
                            .owner, expected: value.text, actual: accounts.userDisplay(record.uid),
                            widening: Widening.owner(actual: record.uid), target: .owner(uid))
                    }
                } else {
                    report(
                        .owner,
                        expected: "the user named by {\(name)} ('\(TerminalText.escape(value?.text ?? "?"))'), which does not exist",
                        actual: accounts.userDisplay(record.uid))
                }
            }
        }
        if let group = e.group {
            switch group {
            case .id(let gid):
                if record.gid != gid {
                    report(
                        .group, expected: accounts.groupDisplay(gid), actual: accounts.groupDisplay(record.gid),
                        widening: Widening.group(record), target: .group(gid))
                }
            case .capture(let name):
                let value = capture(name)
                if let value, let gid = value.gid {
                    if record.gid != gid {
                        report(
                            .group, expected: value.text, actual: accounts.groupDisplay(record.gid), widening: Widening.group(record),
                            target: .group(gid))
                    }
                } else {
                    report(
                        .group,
                        expected: "the group named by {\(name)} ('\(TerminalText.escape(value?.text ?? "?"))'), which does not exist",
                        actual: accounts.groupDisplay(record.gid))
                }
            }
        }
        guard record.type != .symlink else { return }
        if let mode = e.mode, !mode.allows(record.mode) {
            report(
                .mode, expected: mode.description, actual: ModeSpec.octal(record.mode),
                widening: Widening.mode(expected: mode, actual: record.mode, isDirectory: record.type == .directory),
                target: .mode(mode))
        }
        if let acl = e.acl, !Self.accessACL(record, satisfies: acl) {
            report(
                .acl, expected: aclText(acl), actual: record.acl.map(aclText) ?? "none (\(aclText(record.effectiveACL)))",
                widening: Widening.acl(expected: acl.exactACL, actual: acl.exactACL == nil ? record.acl : record.effectiveACL),
                target: .acl(acl))
        }
        if record.type == .directory, let defaultACL = e.defaultACL, !Self.defaultACL(record, satisfies: defaultACL) {
            report(
                .defaultACL, expected: aclText(defaultACL), actual: record.defaultACL.map(aclText) ?? "none",
                widening: Widening.defaultACL(expected: defaultACL.exactACL, actual: record.defaultACL),
                target: .defaultACL(defaultACL))
        }
        if record.type != .directory, let links = e.links, record.links != links {
            report(
                .links, expected: String(links), actual: String(record.links),
                widening: Widening.links(expected: links, actual: record.links))
        }
        if e.noCapabilities {
            switch entry.hasCapabilities() {
            case .success(true):
                report(
                    .capabilities, expected: "none", actual: "file capabilities set (security.capability)",
                    widening: Widening.capabilities, target: .noCapabilities)
            case .success(false): break
            case .failure(.system(_, let errno)) where errno == .noEntry: break
            case .failure(.system(let call, let errno)):
                findings.record(WalkError(path: HostPath(reporting: entry.path), syscall: call, errno: errno))
            case .failure(.decoding(let d)):
                findings.record(WalkError(path: HostPath(reporting: entry.path), message: d.description))
            }
        }
    }

    static func accessACL(_ record: FileRecord, satisfies spec: ACLSpec) -> Bool {
        switch spec {
        case .none: record.acl == nil
        case .exact(let acl): record.effectiveACL == acl
        }
    }

    static func defaultACL(_ record: FileRecord, satisfies spec: ACLSpec) -> Bool {
        switch spec {
        case .none: record.defaultACL == nil
        case .exact(let acl): record.defaultACL == acl
        }
    }

    func aclText(_ spec: ACLSpec) -> String {
        switch spec {
        case .none: "none"
        case .exact(let acl): aclText(acl)
        }
    }

    func aclText(_ acl: PosixACL) -> String {
        acl.text(userName: { accounts.userName($0) }, groupName: { accounts.groupName($0) })
    }
}
