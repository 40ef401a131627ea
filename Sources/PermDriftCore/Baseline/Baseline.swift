/// A loaded, validated baseline (docs/baseline.md, version 1): what is scanned, the rules, pins and exceptions.
/// Names are already resolved to ids in the scanned root.
public struct Baseline: Sendable {
    public var name: String
    public var serial: Int?
    public var roots: [HostPath]
    public var excludes: [PathPattern]
    public var oneFilesystem: Bool
    public var rules: [Rule]
    public var pins: [Pin]
    public var exceptions: [BaselineException]
    /// Where the baseline came from and its hash, for reports.
    public var origin: BaselineOrigin

    /// Whether any rule asks for effective access.
    public var usesAccessRules: Bool { rules.contains { $0.access != nil } }
}

/// The file a baseline was read from (or the built-in default) and the SHA-256 of its bytes.
public struct BaselineOrigin: Sendable, Equatable {
    public var source: String
    public var sha256: String
    public var isBuiltIn: Bool
    /// Who approved it, when its signature was verified (`alice@example.com (ED25519 key SHA256:…)`).
    public var signer: String?
}

public enum Severity: String, CaseIterable, Sendable, Comparable {
    case critical, high, medium, low

    /// Most severe first.
    var rank: Int { Severity.allCases.firstIndex(of: self)! }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank > b.rank }
}

/// A principal as a baseline names it, with names already resolved.
public enum PrincipalSpec: Hashable, Sendable, CustomStringConvertible {
    case user(UInt32)
    case group(UInt32)
    /// The user whose name a pattern capture bound (`"{agent}"`).
    case capture(String)

    public var description: String {
        switch self {
        case .user(let uid): "uid:\(uid)"
        case .group(let gid): "gid:\(gid)"
        case .capture(let name): "{\(name)}"
        }
    }
}

/// A user or group id an `expect` asserts: a fixed id, or the one a capture names.
public enum IdentitySpec: Hashable, Sendable {
    case id(UInt32)
    case capture(String)
}

public enum ModeSpec: Hashable, Sendable, CustomStringConvertible {
    /// Exactly these 12 bits.
    case exact(UInt32)
    /// No bit outside these.
    case atMost(UInt32)

    public func allows(_ mode: UInt32) -> Bool {
        switch self {
        case .exact(let m): mode & 0o7777 == m
        case .atMost(let m): mode & 0o7777 & ~m == 0
        }
    }

    public var description: String {
        switch self {
        case .exact(let m): ModeSpec.octal(m)
        case .atMost(let m): "<=" + ModeSpec.octal(m)
        }
    }

    public static func octal(_ mode: UInt32) -> String {
        let s = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}

public enum ACLSpec: Hashable, Sendable {
    /// No extended entries (for a default ACL: no default ACL at all).
    case none
    /// Exactly these entries.
    case exact(PosixACL)
}

/// The attribute assertions of a rule.
public struct Expectations: Sendable {
    public var owner: IdentitySpec?
    public var group: IdentitySpec?
    public var mode: ModeSpec?
    public var acl: ACLSpec?
    public var defaultACL: ACLSpec?
    public var links: UInt64?
    public var noCapabilities = false

    public var isEmpty: Bool {
        owner == nil && group == nil && mode == nil && acl == nil && defaultACL == nil && links == nil && !noCapabilities
    }
}

/// Who may have each right on the paths a rule matches (docs/baseline.md, "Effective access").
public struct AccessRule: Sendable {
    public var read: [PrincipalSpec]?
    public var write: [PrincipalSpec]?
    public var execute: [PrincipalSpec]?

    /// Who may have `right`, or nil when the rule says nothing about it.
    public func principals(for right: AccessRight) -> [PrincipalSpec]? {
        switch right {
        case .read: read
        case .write: write
        case .execute: execute
        }
    }
}

/// A condition on a capture (`where`).
public struct CaptureCondition: Sendable {
    public enum Kind: Sendable {
        case memberOf([UInt32])
        case notMemberOf([UInt32])
        case isUser
    }

    public var capture: String
    public var kind: Kind
}

public struct Rule: Sendable {
    public var id: String
    public var severity: Severity
    public var description: String?
    public var patterns: [PathPattern]
    public var types: Set<FileType>?
    public var conditions: [CaptureCondition]
    public var expect: Expectations
    public var access: AccessRule?
    /// Line and column of the rule in the baseline, for messages.
    public var line: Int
    public var column: Int = 1
}

/// The exact approved state of one path.
public struct Pin: Sendable {
    public var path: HostPath
    public var type: FileType?
    public var owner: UInt32?
    public var group: UInt32?
    public var mode: UInt32?
    public var acl: ACLSpec?
    public var defaultACL: ACLSpec?
    public var line: Int
}

/// Approved drift: silences one rule's findings on the paths it names until it expires.
public struct BaselineException: Sendable, Equatable {
    public var rule: String
    public var pattern: PathPattern
    public var approvedBy: String
    public var reason: String
    /// The last day (UTC) the exception holds, as `YYYY-MM-DD`.
    public var expires: String?
    public var line: Int
    public var column: Int = 1

    public static func == (a: BaselineException, b: BaselineException) -> Bool {
        a.rule == b.rule && a.pattern.source == b.pattern.source && a.approvedBy == b.approvedBy
            && a.reason == b.reason && a.expires == b.expires
    }

    /// Expired when today (UTC) is past the `expires` day.
    public func isExpired(today: String) -> Bool {
        guard let expires else { return false }
        return today > expires
    }
}
