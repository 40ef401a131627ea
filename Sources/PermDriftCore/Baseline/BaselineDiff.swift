/// A semantic diff of two baselines for review: what changed in meaning, not in text — rules added,
/// removed and changed field by field, scan settings, pins and exceptions.
public struct BaselineDiff: Sendable {
    public enum Change: Sendable, Equatable {
        case added(String)
        case removed(String)
        case changed(field: String, old: String, new: String)
        /// Not a change between the files, but worth a reviewer's eye (an exception that has expired).
        case note(String)
    }

    /// A section (`scan`, `rule transcripts-private`, `pin /srv/shared-memory`, `exception …`) and its changes.
    public struct Entry: Sendable, Equatable {
        public let section: String
        public let changes: [Change]
    }

    public let entries: [Entry]
    public var isEmpty: Bool { entries.isEmpty }

    /// Whether anything differs in meaning (notes about expiry aside).
    public var hasChanges: Bool {
        entries.contains { $0.changes.contains { if case .note = $0 { false } else { true } } }
    }

    /// Compares two loaded baselines; names come from `accounts` (the host the baselines are for).
    public init(old: Baseline, new: Baseline, accounts: AccountDatabase, today: String) {
        let d = Describer(accounts: accounts)
        var entries = [Entry]()
        func fields(_ section: String, _ a: [(String, String)], _ b: [(String, String)]) {
            var changes = [Change]()
            let keys = (a.map(\.0) + b.map(\.0)).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            for key in keys {
                let x = a.first { $0.0 == key }?.1, y = b.first { $0.0 == key }?.1
                if x != y { changes.append(.changed(field: key, old: x ?? "(none)", new: y ?? "(none)")) }
            }
            if !changes.isEmpty { entries.append(Entry(section: section, changes: changes)) }
        }
        fields("baseline", d.header(old), d.header(new))
        let oldRules = Dictionary(old.rules.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let newRules = Dictionary(new.rules.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for id in old.rules.map(\.id) where newRules[id] == nil {
            entries.append(Entry(section: "rule \(id)", changes: [.removed(d.summary(oldRules[id]!))]))
        }
        for id in new.rules.map(\.id) {
            guard let o = oldRules[id] else {
                entries.append(Entry(section: "rule \(id)", changes: [.added(d.summary(newRules[id]!))]))
                continue
            }
            fields("rule \(id)", d.fields(o), d.fields(newRules[id]!))
        }
        let oldPins = Dictionary(old.pins.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let newPins = Dictionary(new.pins.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        for pin in old.pins where newPins[pin.path] == nil {
            entries.append(
                Entry(section: "pin \(pin.path)", changes: [.removed(d.pin(pin).map { "\($0.0) \($0.1)" }.joined(separator: ", "))]))
        }
        for pin in new.pins {
            guard let o = oldPins[pin.path] else {
                entries.append(
                    Entry(section: "pin \(pin.path)", changes: [.added(d.pin(pin).map { "\($0.0) \($0.1)" }.joined(separator: ", "))]))
                continue
            }
            fields("pin \(pin.path)", d.pin(o), d.pin(pin))
        }
        func key(_ e: BaselineException) -> String { "\(e.rule) on \(e.pattern.source)" }
        for e in old.exceptions where !new.exceptions.contains(e) {
            entries.append(Entry(section: "exception \(key(e))", changes: [.removed(d.exception(e))]))
        }
        for e in new.exceptions where !old.exceptions.contains(e) {
            entries.append(Entry(section: "exception \(key(e))", changes: [.added(d.exception(e))]))
        }
        for e in new.exceptions where old.exceptions.contains(e) && e.isExpired(today: today) {
            entries.append(
                Entry(section: "exception \(key(e))", changes: [.note("expired on \(e.expires!); its findings are reported again")]))
        }
        self.entries = entries
    }

    public var text: String {
        var out = hasChanges ? "" : "no change in meaning\n"
        for entry in entries {
            out += TerminalText.escape(entry.section) + "\n"
            for change in entry.changes {
                switch change {
                case .added(let what): out += "  + \(TerminalText.escape(what))\n"
                case .removed(let what): out += "  - \(TerminalText.escape(what))\n"
                case .changed(let field, let old, let new):
                    out += "  ~ \(TerminalText.escape(field)): \(TerminalText.escape(old)) -> \(TerminalText.escape(new))\n"
                case .note(let what): out += "  ! \(TerminalText.escape(what))\n"
                }
            }
        }
        return out
    }

    public var json: String {
        JSONValue.object([
            (
                "changes",
                .array(
                    entries.map { entry in
                        .object([
                            ("section", .string(entry.section)),
                            (
                                "changes",
                                .array(
                                    entry.changes.map { change in
                                        switch change {
                                        case .added(let what): JSONValue.object([("change", .string("added")), ("value", .string(what))])
                                        case .removed(let what):
                                            JSONValue.object([("change", .string("removed")), ("value", .string(what))])
                                        case .changed(let field, let old, let new):
                                            JSONValue.object([
                                                ("change", .string("changed")), ("field", .string(field)), ("old", .string(old)),
                                                ("new", .string(new))
                                            ])
                                        case .note(let what): JSONValue.object([("change", .string("note")), ("value", .string(what))])
                                        }
                                    })
                            )
                        ])
                    })
            )
        ]).serialized()
    }
}

/// Renders baseline parts as readable field values (names, not ids).
struct Describer {
    let accounts: AccountDatabase

    func header(_ b: Baseline) -> [(String, String)] {
        [
            ("name", b.name), ("serial", b.serial.map(String.init) ?? "(none)"),
            ("scan.roots", b.roots.map(\.description).joined(separator: ", ")),
            ("scan.exclude", b.excludes.map(\.source).joined(separator: ", ")),
            ("scan.one-filesystem", String(b.oneFilesystem))
        ]
    }

    func summary(_ r: Rule) -> String {
        fields(r).map { "\($0.0) \($0.1)" }.joined(separator: "; ")
    }

    func fields(_ r: Rule) -> [(String, String)] {
        var out: [(String, String)] = [("severity", r.severity.rawValue), ("match", r.patterns.map(\.source).joined(separator: ", "))]
        if let d = r.description { out.append(("description", d)) }
        if let t = r.types { out.append(("types", t.sorted().map(\.rawValue).joined(separator: ", "))) }
        for c in r.conditions {
            let kind: String
            switch c.kind {
            case .isUser: kind = "user"
            case .memberOf(let g): kind = "member-of " + g.map { accounts.groupDisplay($0) }.joined(separator: "|")
            case .notMemberOf(let g): kind = "not-member-of " + g.map { accounts.groupDisplay($0) }.joined(separator: "|")
            }
            out.append(("where.\(c.capture)", kind))
        }
        let e = r.expect
        if let o = e.owner { out.append(("expect.owner", identity(o, user: true))) }
        if let g = e.group { out.append(("expect.group", identity(g, user: false))) }
        if let m = e.mode { out.append(("expect.mode", m.description)) }
        if let a = e.acl { out.append(("expect.acl", acl(a))) }
        if let a = e.defaultACL { out.append(("expect.default-acl", acl(a))) }
        if let l = e.links { out.append(("expect.links", String(l))) }
        if e.noCapabilities { out.append(("expect.capabilities", "none")) }
        if let access = r.access {
            for right in AccessRight.allCases {
                if let specs = access.principals(for: right) { out.append(("access.\(right.rawValue)", principals(specs))) }
            }
        }
        return out
    }

    func pin(_ p: Pin) -> [(String, String)] {
        var out = [(String, String)]()
        if let t = p.type { out.append(("type", t.rawValue)) }
        if let o = p.owner { out.append(("owner", accounts.userDisplay(o))) }
        if let g = p.group { out.append(("group", accounts.groupDisplay(g))) }
        if let m = p.mode { out.append(("mode", ModeSpec.octal(m))) }
        if let a = p.acl { out.append(("acl", acl(a))) }
        if let a = p.defaultACL { out.append(("default-acl", acl(a))) }
        return out
    }

    func exception(_ e: BaselineException) -> String {
        "\(e.rule) on \(e.pattern.source), approved by \(e.approvedBy): \(e.reason)" + (e.expires.map { ", until \($0)" } ?? ", no expiry")
    }

    func identity(_ i: IdentitySpec, user: Bool) -> String {
        switch i {
        case .id(let id): user ? accounts.userDisplay(id) : accounts.groupDisplay(id)
        case .capture(let name): "{\(name)}"
        }
    }

    func acl(_ spec: ACLSpec) -> String {
        switch spec {
        case .none: "none"
        case .exact(let a): a.text(userName: { accounts.userName($0) }, groupName: { accounts.groupName($0) })
        }
    }

    func principals(_ specs: [PrincipalSpec]) -> String {
        let names = specs.map { spec -> String in
            switch spec {
            case .user(let uid): "user:\(accounts.userDisplay(uid))"
            case .group(let gid): "group:\(accounts.groupDisplay(gid))"
            case .capture(let name): "{\(name)}"
            }
        }
        return names.isEmpty ? "(root only)" : names.joined(separator: ", ")
    }
}
