/// Changes a baseline the way an admin would, without reformatting what they wrote: everything above the
/// machine-written marker stays byte for byte; below it, `accepted:` (exceptions) and `pinned:` (pins)
/// are written by permdrift and regenerated whole on each change.
public struct BaselineEditor {
    public static let marker = "# --- permdrift: machine-written below (permdrift baseline accept / pin); edit above this line ---"

    /// What the admin wrote (everything before the marker, or the whole file).
    public let adminPart: [UInt8]
    public var accepted: [AcceptedException]
    public var pinned: [(path: String, attributes: [(String, String)])]

    /// One machine-written exception, as written.
    public struct AcceptedException: Sendable, Equatable {
        public var rule: String
        public var path: String
        public var approvedBy: String
        public var reason: String
        public var expires: String?

        public init(rule: String, path: String, approvedBy: String, reason: String, expires: String?) {
            self.rule = rule
            self.path = path
            self.approvedBy = approvedBy
            self.reason = reason
            self.expires = expires
        }
    }

    public struct EditError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Splits a baseline into the admin's part and the machine-written section (read back from `loaded`,
    /// the same bytes already loaded).
    public init(_ bytes: [UInt8], loaded: Baseline, accounts: AccountDatabase) throws(EditError) {
        let markerBytes = Array(Self.marker.utf8)
        if let range = Self.find(markerBytes, in: bytes) {
            adminPart = Array(bytes[..<range])
        } else {
            adminPart = bytes
        }
        let text = String(decoding: adminPart, as: UTF8.self)
        for key in ["accepted:", "pinned:"] where text.split(separator: "\n").contains(where: { $0.hasPrefix(key) }) {
            throw EditError(
                description:
                    "the baseline has a top-level '\(key.dropLast())' above the machine-written marker; that key belongs to permdrift's own section"
            )
        }
        let machineText = String(decoding: bytes[adminPart.count...], as: UTF8.self)
        accepted = []
        pinned = []
        // The machine section is permdrift's: its entries are read back from the loaded baseline.
        let machineLines = machineText.split(separator: "\n").count
        guard machineLines > 0 else { return }
        let firstMachineLine = text.split(separator: "\n", omittingEmptySubsequences: false).count
        for e in loaded.exceptions where e.line >= firstMachineLine {
            accepted.append(
                AcceptedException(
                    rule: e.rule, path: e.pattern.source, approvedBy: e.approvedBy,
                    reason: e.reason, expires: e.expires))
        }
        for p in loaded.pins where p.line >= firstMachineLine {
            pinned.append((p.path.lossyString, Self.pinAttributes(p, accounts: accounts)))
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        var i = 0
        while i + needle.count <= haystack.count {
            if (i == 0 || haystack[i - 1] == UInt8(ascii: "\n")) && Array(haystack[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    /// The whole file: the admin's bytes unchanged, then the regenerated machine section.
    public func render() -> [UInt8] {
        var out = adminPart
        if accepted.isEmpty && pinned.isEmpty { return out }
        if let last = out.last, last != UInt8(ascii: "\n") { out.append(UInt8(ascii: "\n")) }
        var text = Self.marker + "\n"
        if !accepted.isEmpty {
            text += "accepted:\n"
            for a in accepted {
                var fields = [("rule", a.rule), ("path", a.path), ("approved-by", a.approvedBy), ("reason", a.reason)]
                if let expires = a.expires { fields.append(("expires", expires)) }
                text += "  - { " + fields.map { "\($0.0): \(Self.quoted($0.1))" }.joined(separator: ", ") + " }\n"
            }
        }
        if !pinned.isEmpty {
            text += "pinned:\n"
            for p in pinned.sorted(by: { $0.path < $1.path }) {
                text +=
                    "  \(Self.quoted(p.path)): { " + p.attributes.map { "\($0.0): \(Self.quoted($0.1))" }.joined(separator: ", ") + " }\n"
            }
        }
        out += Array(text.utf8)
        return out
    }

    /// A YAML double-quoted scalar (control characters and non-ASCII escaped).
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value > 0x7E {
                    let hex = String(scalar.value, radix: 16)
                    out +=
                        scalar.value <= 0xFFFF
                        ? "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                        : "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// A pin's attributes as the baseline writes them; names from `accounts`, ids otherwise.
    static func pinAttributes(_ pin: Pin, accounts: AccountDatabase?) -> [(String, String)] {
        var out = [(String, String)]()
        if let t = pin.type { out.append(("type", t.rawValue)) }
        if let o = pin.owner { out.append(("owner", accounts?.userName(o) ?? "uid:\(o)")) }
        if let g = pin.group { out.append(("group", accounts?.groupName(g) ?? "gid:\(g)")) }
        if let m = pin.mode { out.append(("mode", ModeSpec.octal(m))) }
        func acl(_ spec: ACLSpec) -> String {
            switch spec {
            case .none: "none"
            case .exact(let a): a.text(userName: { accounts?.userName($0) }, groupName: { accounts?.groupName($0) })
            }
        }
        if let a = pin.acl { out.append(("acl", acl(a))) }
        if let d = pin.defaultACL { out.append(("default-acl", acl(d))) }
        return out
    }

    /// The pin that records a path's present state.
    public static func pin(for path: HostPath, record: FileRecord, accounts: AccountDatabase) -> (
        path: String, attributes: [(String, String)]
    ) {
        var pin = Pin(path: path, type: record.type, owner: record.uid, group: record.gid, line: 0)
        if record.type != .symlink {
            pin.mode = record.mode
            pin.acl = record.acl.map { .exact($0) } ?? ACLSpec.none
            if record.type == .directory { pin.defaultACL = record.defaultACL.map { .exact($0) } ?? ACLSpec.none }
        }
        return (path.lossyString, pinAttributes(pin, accounts: accounts))
    }
}
