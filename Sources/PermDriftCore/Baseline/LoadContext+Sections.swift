import Foundation
import Yams

extension LoadContext {
    static let topKeys = [
        "version", "name", "serial", "description", "scan", "principals", "rules", "pins", "exceptions",
        "accepted", "pinned"
    ]

    /// Builds the baseline; problems are collected in `diagnostics` (the result is meaningful only without any).
    func baseline(_ root: Node, origin: BaselineOrigin) -> Baseline? {
        guard let pairs = mapping(root, "the baseline") else { return nil }
        let f = fields(pairs, allowed: Self.topKeys, in: "the baseline")
        for required in ["version", "name", "scan"] where f[required] == nil {
            error(root, "missing required key '\(required)'")
        }
        if let v = f["version"]?.value, let text = scalar(v, "version") {
            if text != "1" { error(v, "unsupported baseline version '\(text)': this permdrift reads version 1") }
        }
        var name = ""
        if let v = f["name"]?.value, let text = scalar(v, "name") {
            if text.isEmpty { error(v, "name must not be empty") }
            name = text
        }
        var serial: Int?
        if let v = f["serial"]?.value, let text = scalar(v, "serial") {
            if let n = Int(text), n >= 0 { serial = n } else { error(v, "serial must be a whole number of 0 or more") }
        }
        var roots = [HostPath](), excludes = [PathPattern](), oneFilesystem = true
        if let scan = f["scan"]?.value { (roots, excludes, oneFilesystem) = self.scan(scan) }
        if let p = f["principals"]?.value { principals(p) }
        var rules = [Rule]()
        if let r = f["rules"]?.value { rules = self.rules(r) }
        var pins = [Pin]()
        if let p = f["pins"]?.value { pins = self.pins(p) }
        // The machine-written section (`permdrift baseline accept` and `pin`) has the same shapes.
        if let p = f["pinned"]?.value {
            for pin in self.pins(p) {
                if pins.contains(where: { $0.path == pin.path }) {
                    diagnostics.append(diagnostic(line: pin.line, column: 3, "\(pin.path) is pinned twice (in pins: and in pinned:)"))
                } else {
                    pins.append(pin)
                }
            }
        }
        var exceptions = [BaselineException]()
        if let e = f["exceptions"]?.value { exceptions = self.exceptions(e, ruleIDs: Set(rules.map(\.id))) }
        if let e = f["accepted"]?.value { exceptions += self.exceptions(e, ruleIDs: Set(rules.map(\.id))) }
        return Baseline(
            name: name, serial: serial, roots: roots, excludes: excludes, oneFilesystem: oneFilesystem,
            rules: rules, pins: pins, exceptions: exceptions, origin: origin)
    }

    // MARK: - scan

    func scan(_ node: Node) -> ([HostPath], [PathPattern], Bool) {
        guard let pairs = mapping(node, "scan") else { return ([], [], true) }
        let f = fields(pairs, allowed: ["roots", "exclude", "one-filesystem"], in: "scan")
        var roots = [HostPath]()
        if let r = f["roots"] {
            if let items = scalars(r.value, "scan.roots") {
                if items.isEmpty { error(r.value, "scan.roots must name at least one directory") }
                for (item, text) in items { if let path = absolutePath(item, text, "scan root") { roots.append(path) } }
            }
        } else {
            error(node, "missing required key 'roots' in scan")
        }
        var excludes = [PathPattern]()
        if let e = f["exclude"], let items = scalars(e.value, "scan.exclude") {
            for (item, text) in items { if let p = pattern(item, text) { excludes.append(p) } }
        }
        var oneFilesystem = true
        if let o = f["one-filesystem"], let text = scalar(o.value, "one-filesystem") {
            switch text {
            case "true": oneFilesystem = true
            case "false": oneFilesystem = false
            default: error(o.value, "one-filesystem must be true or false")
            }
        }
        return (roots, excludes, oneFilesystem)
    }

    func absolutePath(_ node: Node, _ text: String, _ what: String) -> HostPath? {
        guard text.hasPrefix("/") else {
            error(node, "\(what) '\(text)' is not absolute: write it as it stands on the host, starting with /")
            return nil
        }
        let parts = text.split(separator: "/")
        if parts.contains(where: { $0 == "." || $0 == ".." }) {
            error(node, "\(what) '\(text)' contains '.' or '..': write the path it means")
            return nil
        }
        if text.contains("\0") { error(node, "\(what) contains a NUL byte"); return nil }
        return HostPath("/" + parts.joined(separator: "/"))
    }

    func pattern(_ node: Node, _ text: String) -> PathPattern? {
        do { return try PathPattern(text) } catch {
            self.error(node, error.description)
            return nil
        }
    }

    // MARK: - principals

    func principals(_ node: Node) {
        guard let pairs = mapping(node, "principals") else { return }
        for (k, v) in pairs {
            guard let alias = keyName(k) else { continue }
            guard PathPattern.isCaptureName(alias) else {
                error(k, "alias '\(alias)' must be letters, digits, '_' or '-', starting with a letter"); continue
            }
            guard let items = scalars(v, "principal alias '\(alias)'") else { continue }
            var specs = [PrincipalSpec]()
            var groups = [UInt32]()
            var allGroups = true
            for (item, text) in items {
                guard let spec = principal(item, text, allowAlias: false, captures: nil) else { continue }
                specs.append(contentsOf: spec)
                for s in spec { if case .group(let g) = s { groups.append(g) } else { allGroups = false } }
            }
            aliases[alias] = specs
            if allGroups, !groups.isEmpty { aliasIsGroups[alias] = groups }
        }
    }

    /// `user:NAME`, `group:NAME`, `uid:N`, `gid:N`, a capture `{name}` (when `captures` allows it) or an alias.
    func principal(_ node: Node, _ text: String, allowAlias: Bool, captures: [[String]]?) -> [PrincipalSpec]? {
        if text.hasPrefix("{"), text.hasSuffix("}"), text.count > 2 {
            let name = String(text.dropFirst().dropLast())
            guard let captures else { error(node, "a capture ('\(text)') cannot be used here"); return nil }
            guard captures.allSatisfy({ $0.contains(name) }) else {
                error(node, "capture '\(text)' is not in the rule's pattern\(captures.count > 1 ? "s" : "")"); return nil
            }
            return [.capture(name)]
        }
        if let colon = text.firstIndex(of: ":") {
            let kind = text[..<colon], value = String(text[text.index(after: colon)...])
            switch kind {
            case "user":
                if let uid = accounts.uid(named: value) { return [.user(uid)] }
                error(node, "unknown user '\(value)'\(whereUsersResolve)"); return nil
            case "group":
                if let gid = accounts.gid(named: value) { return [.group(gid)] }
                error(node, "unknown group '\(value)'\(whereGroupsResolve)"); return nil
            case "uid":
                if let n = UInt32(value) { return [.user(n)] }
                error(node, "'\(text)' is not a valid uid"); return nil
            case "gid":
                if let n = UInt32(value) { return [.group(n)] }
                error(node, "'\(text)' is not a valid gid"); return nil
            default:
                error(
                    node,
                    "unknown principal '\(text)': write user:NAME, group:NAME, uid:N, gid:N\(allowAlias ? ", an alias" : "") or a capture like \"{agent}\""
                )
                return nil
            }
        }
        if allowAlias, let specs = aliases[text] { return specs }
        error(
            node,
            allowAlias
                ? "unknown principal '\(text)': not an alias from principals:; write user:\(text) or group:\(text) for an account"
                : "unknown principal '\(text)': write user:NAME, group:NAME, uid:N or gid:N")
        return nil
    }

    var whereUsersResolve: String {
        switch accounts.source {
        case .files(let root): " (not in \(root)/etc/passwd)"
        case .system: " (no such account on this host)"
        }
    }

    var whereGroupsResolve: String {
        switch accounts.source {
        case .files(let root): " (not in \(root)/etc/group)"
        case .system: " (no such group on this host)"
        }
    }

    // MARK: - pins

    func pins(_ node: Node) -> [Pin] {
        guard let pairs = mapping(node, "pins") else { return [] }
        var out = [Pin]()
        for (k, v) in pairs {
            guard let text = keyName(k), let path = absolutePath(k, text, "pinned path") else { continue }
            guard let attrs = mapping(v, "pin \(text)") else { continue }
            let f = fields(attrs, allowed: ["type", "owner", "group", "mode", "acl", "default-acl"], in: "pin \(text)")
            if f.isEmpty { error(v, "pin \(text) asserts nothing") }
            var pin = Pin(path: path, line: line(k))
            if let t = f["type"], let s = scalar(t.value, "type") {
                if let type = FileType(rawValue: s) {
                    pin.type = type
                } else {
                    error(t.value, "unknown type '\(s)': use one of \(FileType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
            }
            if let o = f["owner"] { if case .id(let uid)? = identity(o.value, user: true, captures: nil) { pin.owner = uid } }
            if let g = f["group"] { if case .id(let gid)? = identity(g.value, user: false, captures: nil) { pin.group = gid } }
            if let m = f["mode"] {
                switch mode(m.value) {
                case .exact(let bits)?: pin.mode = bits
                case .atMost?: error(m.value, "a pin records an exact mode; '<=' belongs in rules")
                case nil: break
                }
            }
            if let a = f["acl"] { pin.acl = aclSpec(a.value, "acl") }
            if let d = f["default-acl"] { pin.defaultACL = aclSpec(d.value, "default-acl") }
            out.append(pin)
        }
        return out
    }

    // MARK: - exceptions

    func exceptions(_ node: Node, ruleIDs: Set<String>) -> [BaselineException] {
        guard let items = sequence(node, "exceptions") else { return [] }
        var out = [BaselineException]()
        for item in items {
            guard let pairs = mapping(item, "an exception") else { continue }
            let f = fields(pairs, allowed: ["rule", "path", "approved-by", "reason", "expires"], in: "an exception")
            for required in ["rule", "path", "approved-by", "reason"] where f[required] == nil {
                error(item, "exception is missing required key '\(required)'")
            }
            guard let r = f["rule"], let rule = scalar(r.value, "rule"),
                let p = f["path"], let pathText = scalar(p.value, "path"),
                let a = f["approved-by"], let approvedBy = scalar(a.value, "approved-by"),
                let why = f["reason"], let reason = scalar(why.value, "reason")
            else { continue }
            if !ruleIDs.contains(rule) && !BaselineLoader.reservedRuleIDs.contains(rule) {
                error(r.value, "exception names unknown rule '\(rule)'")
            }
            if approvedBy.trimmingCharacters(in: .whitespaces).isEmpty { error(a.value, "approved-by must name who approved it") }
            if reason.trimmingCharacters(in: .whitespaces).isEmpty { error(why.value, "reason must say why") }
            guard let pattern = pattern(p.value, pathText) else { continue }
            var expires: String?
            if let e = f["expires"], let text = scalar(e.value, "expires") {
                if Self.isDate(text) { expires = text } else { error(e.value, "expires must be a date written YYYY-MM-DD") }
            }
            out.append(
                BaselineException(
                    rule: rule, pattern: pattern, approvedBy: approvedBy, reason: reason,
                    expires: expires, line: line(item), column: item.mark?.column ?? 1))
        }
        return out
    }

    static func isDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1...12).contains(m), d >= 1
        else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
        return d <= days
    }
}
