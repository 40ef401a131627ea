import Yams

extension LoadContext {
    static let ruleKeys = ["id", "severity", "description", "match", "types", "where", "expect", "access"]
    static let expectKeys = ["owner", "group", "mode", "acl", "default-acl", "links", "capabilities"]

    func rules(_ node: Node) -> [Rule] {
        guard let items = sequence(node, "rules") else { return [] }
        var out = [Rule]()
        var seen = [String: Int]()
        for item in items {
            guard let pairs = mapping(item, "a rule") else { continue }
            let f = fields(pairs, allowed: Self.ruleKeys, in: "a rule")
            var rule = Rule(id: "", severity: .medium, patterns: [], conditions: [], expect: Expectations(), line: line(item))
            rule.column = item.mark?.column ?? 1
            if let i = f["id"], let id = scalar(i.value, "id") {
                if !Self.isRuleID(id) {
                    error(i.value, "rule id '\(id)' must be lowercase letters, digits and '-', starting with a letter or digit")
                } else if BaselineLoader.reservedRuleIDs.contains(id) {
                    error(i.value, "rule id '\(id)' is reserved (permdrift uses it for its own findings)")
                } else if let first = seen[id] {
                    error(i.value, "duplicate rule id '\(id)' (first at line \(first))")
                } else {
                    seen[id] = line(i.value)
                }
                rule.id = id
            } else if f["id"] == nil {
                error(item, "rule is missing required key 'id'")
            }
            if let s = f["severity"], let text = scalar(s.value, "severity") {
                if let sev = Severity(rawValue: text) {
                    rule.severity = sev
                } else {
                    error(s.value, "severity '\(text)' is not one of critical, high, medium, low")
                }
            }
            if let d = f["description"] { rule.description = scalar(d.value, "description") }
            if let m = f["match"] {
                if let items = scalars(m.value, "match") {
                    if items.isEmpty { error(m.value, "match must name at least one pattern") }
                    for (node, text) in items { if let p = pattern(node, text) { rule.patterns.append(p) } }
                }
            } else {
                error(item, "rule '\(rule.id)' is missing required key 'match'")
            }
            let captures = rule.patterns.map(\.captureNames)
            if let t = f["types"], let items = scalars(t.value, "types") {
                if items.isEmpty { error(t.value, "types is empty, so the rule would match nothing; leave it out to match every type") }
                var types = Set<FileType>()
                for (node, text) in items {
                    if let type = FileType(rawValue: text) {
                        types.insert(type)
                    } else {
                        error(node, "unknown type '\(text)': use \(FileType.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                }
                rule.types = types
            }
            if let w = f["where"] { rule.conditions = conditions(w.value, captures: captures) }
            if let e = f["expect"] { rule.expect = expectations(e.value, captures: captures) }
            if let a = f["access"] { rule.access = accessRule(a.value, captures: captures) }
            if f["expect"] == nil && f["access"] == nil {
                error(item, "rule '\(rule.id)' asserts nothing: give it expect or access")
            }
            out.append(rule)
        }
        return out
    }

    static func isRuleID(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, ("a"..."z").contains(first) || ("0"..."9").contains(first) else { return false }
        return id.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    func conditions(_ node: Node, captures: [[String]]) -> [CaptureCondition] {
        guard let pairs = mapping(node, "where") else { return [] }
        var out = [CaptureCondition]()
        for (k, v) in pairs {
            guard let name = keyName(k) else { continue }
            guard !captures.isEmpty, captures.allSatisfy({ $0.contains(name) }) else {
                error(k, "where names capture '\(name)', which the rule's pattern lacks"); continue
            }
            guard let text = scalar(v, "where.\(name)") else { continue }
            let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            switch words.first {
            case "user" where words.count == 1:
                out.append(CaptureCondition(capture: name, kind: .isUser))
            case "member-of" where words.count == 2, "not-member-of" where words.count == 2:
                guard let gids = groups(v, words[1]) else { continue }
                out.append(CaptureCondition(capture: name, kind: words[0] == "member-of" ? .memberOf(gids) : .notMemberOf(gids)))
            default:
                error(v, "where.\(name) must be 'member-of GROUP', 'not-member-of GROUP' or 'user'")
            }
        }
        return out
    }

    /// A group name, `group:NAME`, `gid:N` or an alias made only of groups.
    func groups(_ node: Node, _ text: String) -> [UInt32]? {
        if let gids = aliasIsGroups[text] { return gids }
        if aliases[text] != nil { error(node, "alias '\(text)' names users, not only groups"); return nil }
        if text.hasPrefix("group:") || text.hasPrefix("gid:") {
            guard let spec = principal(node, text, allowAlias: false, captures: nil), case .group(let g)? = spec.first else { return nil }
            return [g]
        }
        if let gid = accounts.gid(named: text) { return [gid] }
        error(node, "unknown group '\(text)'\(whereGroupsResolve)")
        return nil
    }

    func expectations(_ node: Node, captures: [[String]]) -> Expectations {
        var e = Expectations()
        guard let pairs = mapping(node, "expect") else { return e }
        let f = fields(pairs, allowed: Self.expectKeys, in: "expect")
        if f.isEmpty, pairs.isEmpty { error(node, "expect asserts nothing") }
        if let o = f["owner"] { e.owner = identity(o.value, user: true, captures: captures) }
        if let g = f["group"] { e.group = identity(g.value, user: false, captures: captures) }
        if let m = f["mode"] { e.mode = mode(m.value) }
        if let a = f["acl"] { e.acl = aclSpec(a.value, "acl") }
        if let d = f["default-acl"] { e.defaultACL = aclSpec(d.value, "default-acl") }
        if let l = f["links"], let text = scalar(l.value, "links") {
            if let n = UInt64(text), n >= 1, !isQuoted(l.value) {
                e.links = n
            } else {
                error(l.value, "links must be a whole number of 1 or more")
            }
        }
        if let c = f["capabilities"], let text = scalar(c.value, "capabilities") {
            if text == "none" { e.noCapabilities = true } else { error(c.value, "capabilities can only be 'none'") }
        }
        return e
    }

    /// An owner (`user`) or group: a name, `uid:N`/`gid:N`, `user:NAME`/`group:NAME`, or a capture.
    func identity(_ node: Node, user: Bool, captures: [[String]]?) -> IdentitySpec? {
        guard let text = scalar(node, user ? "owner" : "group") else { return nil }
        if text.hasPrefix("{") {
            guard case .capture(let name)? = principal(node, text, allowAlias: false, captures: captures)?.first else { return nil }
            return .capture(name)
        }
        let prefix = user ? "uid:" : "gid:"
        if text.hasPrefix(prefix) {
            if let n = UInt32(text.dropFirst(prefix.count)) { return .id(n) }
            error(node, "'\(text)' is not a valid \(user ? "uid" : "gid")"); return nil
        }
        let name = text.hasPrefix(user ? "user:" : "group:") ? String(text.drop { $0 != ":" }.dropFirst()) : text
        if user {
            if let uid = accounts.uid(named: name) { return .id(uid) }
            error(node, "unknown user '\(name)'\(whereUsersResolve)")
        } else {
            if let gid = accounts.gid(named: name) { return .id(gid) }
            error(node, "unknown group '\(name)'\(whereGroupsResolve)")
        }
        return nil
    }

    /// `"0600"`, `"600"` or `"<=0640"`, and it must be quoted: YAML reads a plain 0600 as a number.
    func mode(_ node: Node) -> ModeSpec? {
        guard let text = scalar(node, "mode") else { return nil }
        guard isQuoted(node) else {
            let digits = text.hasPrefix("<=") ? String(text.dropFirst(2)) : text
            error(
                node,
                "mode must be a quoted octal string: write \"\(text.hasPrefix("<=") ? "<=" : "")\(digits.count == 3 ? "0" + digits : digits)\" (unquoted, YAML may read \(text) as a number)"
            )
            return nil
        }
        let atMost = text.hasPrefix("<=")
        let digits = atMost ? String(text.dropFirst(2)).trimmingPrefixSpaces : text
        guard (3...4).contains(digits.count), digits.allSatisfy({ ("0"..."7").contains($0) }),
            let bits = UInt32(digits, radix: 8)
        else {
            error(node, "mode '\(text)' is not 3 or 4 octal digits (e.g. \"0600\" or \"<=0640\")")
            return nil
        }
        return atMost ? .atMost(bits) : .exact(bits)
    }

    func aclSpec(_ node: Node, _ key: String) -> ACLSpec? {
        guard let text = scalar(node, key) else { return nil }
        if text == "none" { return ACLSpec.none }
        do {
            let acl = try ACLText.parse(text, uid: { self.accounts.uid(named: $0) }, gid: { self.accounts.gid(named: $0) })
            return .exact(acl)
        } catch {
            self.error(node, "\(key): \(error.description)")
            return nil
        }
    }

    func accessRule(_ node: Node, captures: [[String]]) -> AccessRule? {
        guard let pairs = mapping(node, "access") else { return nil }
        let f = fields(pairs, allowed: ["read", "write", "execute"], in: "access")
        if pairs.isEmpty { error(node, "access names no right (read, write, execute)") }
        func list(_ key: String) -> [PrincipalSpec]? {
            guard let entry = f[key], let items = scalars(entry.value, "access.\(key)") else { return nil }
            var out = [PrincipalSpec]()
            for (item, text) in items {
                if let specs = principal(item, text, allowAlias: true, captures: captures) { out.append(contentsOf: specs) }
            }
            return out
        }
        return AccessRule(read: list("read"), write: list("write"), execute: list("execute"))
    }
}

extension String {
    var trimmingPrefixSpaces: String { String(drop { $0 == " " }) }
}
