import CACL
import Glibc

/// Why an ACL written as text (in a baseline) is not a valid ACL.
public enum ACLTextError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownUser(String)
    case unknownGroup(String)
    case syntax(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .unknownUser(let n): "unknown user '\(n)' in ACL"
        case .unknownGroup(let n): "unknown group '\(n)' in ACL"
        case .syntax(let t): "not a valid ACL: '\(t)' (write entries like user::rw-,group::r--,other::---)"
        case .invalid(let why): "invalid ACL: \(why)"
        }
    }
}

/// ACL text in getfacl's forms, parsed and validated by libacl. Names are resolved by the caller (in the
/// scanned root, not through the scanning host's accounts) before libacl sees the text.
public enum ACLText {
    public static func parse(
        _ text: String,
        uid: (String) -> UInt32?,
        gid: (String) -> UInt32?
    ) throws(ACLTextError) -> PosixACL {
        // Rewrite named qualifiers as numbers so libacl never consults the scanning host's NSS.
        var rewritten = [String]()
        let separators: Set<Character> = [",", "\n", " ", "\t"]
        for raw in text.split(whereSeparator: { separators.contains($0) }) {
            let parts = raw.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { throw .syntax(String(raw)) }
            var qualifier = parts[1]
            if !qualifier.isEmpty, qualifier.allSatisfy(\.isASCIIDigitCharacter) {
                // Decimal, always: libacl would read a leading 0 as octal and wrap large numbers (even to 0).
                guard let id = UInt32(qualifier), id != PosixACL.Entry.noQualifier else {
                    throw .invalid("'\(qualifier)' in '\(raw)' is not a valid id (0 to 4294967294)")
                }
                qualifier = String(id)
            } else if !qualifier.isEmpty {
                switch parts[0] {
                case "u", "user":
                    guard let id = uid(qualifier) else { throw .unknownUser(qualifier) }
                    qualifier = String(id)
                case "g", "group":
                    guard let id = gid(qualifier) else { throw .unknownGroup(qualifier) }
                    qualifier = String(id)
                default:
                    throw .syntax(String(raw))
                }
            }
            rewritten.append("\(parts[0]):\(qualifier):\(parts[2])")
        }
        guard !rewritten.isEmpty else { throw .syntax(text) }
        let joined = rewritten.joined(separator: ",")
        guard let acl = acl_from_text(joined) else { throw .syntax(text) }
        defer { acl_free(UnsafeMutableRawPointer(acl)) }
        var last: Int32 = 0
        let check = acl_check(acl, &last)
        if check != 0 {
            var why = check > 0 ? String(cString: acl_error(check)).lowercased() : "unreadable"
            let named = rewritten.contains { e in
                let p = e.split(separator: ":", omittingEmptySubsequences: false)
                return !p[1].isEmpty
            }
            let hasMask = rewritten.contains { $0.hasPrefix("m:") || $0.hasPrefix("mask:") }
            if named && !hasMask { why += " (entries for named users or groups need a mask:: entry)" }
            throw .invalid(why)
        }
        return try entries(of: acl)
    }

    private static func entries(of acl: acl_t) throws(ACLTextError) -> PosixACL {
        var out = [PosixACL.Entry]()
        var entry: acl_entry_t?
        var which = ACL_FIRST_ENTRY
        while acl_get_entry(acl, which, &entry) == 1, let e = entry {
            which = ACL_NEXT_ENTRY
            var tagType: acl_tag_t = 0
            guard acl_get_tag_type(e, &tagType) == 0,
                let tag = PosixACL.Tag(rawValue: UInt16(truncatingIfNeeded: tagType))
            else {
                throw .invalid("unknown entry tag")
            }
            var qualifier = PosixACL.Entry.noQualifier
            if tag == .user || tag == .group, let q = acl_get_qualifier(e) {
                qualifier = q.load(as: UInt32.self)
                acl_free(q)
            }
            var permset: acl_permset_t?
            guard acl_get_permset(e, &permset) == 0, let ps = permset else { throw .invalid("unreadable permissions") }
            var bits: UInt8 = 0
            if acl_get_perm(ps, acl_perm_t(ACL_READ)) == 1 { bits |= 4 }
            if acl_get_perm(ps, acl_perm_t(ACL_WRITE)) == 1 { bits |= 2 }
            if acl_get_perm(ps, acl_perm_t(ACL_EXECUTE)) == 1 { bits |= 1 }
            out.append(PosixACL.Entry(tag, id: qualifier, bits))
        }
        return PosixACL(entries: out)
    }
}

extension Character {
    var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}
