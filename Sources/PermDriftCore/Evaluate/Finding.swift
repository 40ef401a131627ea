import Crypto

/// What kind of drift a finding reports (docs/baseline.md, "Finding kinds").
public enum FindingKind: String, CaseIterable, Sendable, Comparable {
    case owner, group, mode, acl
    case defaultACL = "default-acl"
    case links, capabilities, type, access
    case inheritedAccess = "inherited-access"
    case pin
    case pinMissing = "pin-missing"
    /// The baseline was not enforced: its signature or serial was refused (rule `baseline`).
    case baselineRejected = "baseline-rejected"

    public static func < (a: FindingKind, b: FindingKind) -> Bool { a.rawValue < b.rawValue }
}

/// One broken assertion on one path.
public struct Finding: Sendable, Equatable {
    public var rule: String
    public var severity: Severity
    public var kind: FindingKind
    public var path: HostPath
    public var expected: String
    public var actual: String
    /// For access findings: who has the access (`user:NAME` or `uid:N`), which right, and through which entries.
    public var principal: String?
    public var right: String?
    public var via: [AccessStep]?
    /// Whether the actual state grants some principal a right the baseline's state would not (widening),
    /// or only takes rights away (narrowing); docs/baseline.md, "Widening or narrowing". When permdrift
    /// cannot tell, a finding is widening.
    public var widening: Bool
    /// For access findings: the entry where the access first opens (`Finding.withCauses`), which
    /// reports group by.
    public var cause: AccessStep?
    /// For the kinds `permdrift fix` can repair (owner, group, mode, acl, default-acl, capabilities): the
    /// scan's record of the entry and what the rule asks of it. Not in any report.
    public var repair: RepairBasis?

    public init(
        rule: String, severity: Severity, kind: FindingKind, path: HostPath, expected: String, actual: String,
        principal: String? = nil, right: String? = nil, via: [AccessStep]? = nil, widening: Bool = true
    ) {
        self.rule = rule
        self.severity = severity
        self.kind = kind
        self.path = path
        self.expected = expected
        self.actual = actual
        self.principal = principal
        self.right = right
        self.via = via
        self.widening = widening
    }

    /// Whether this is an access finding (`access` or `inherited-access`), which has a cause.
    public var isAccess: Bool { kind == .access || kind == .inheritedAccess }

    /// `widening` or `narrowing`, as reports print it.
    public var change: String { widening ? "widening" : "narrowing" }

    /// Stable across runs: the rule, the path bytes, the kind and, for access findings, principal and right.
    public var fingerprint: String {
        var bytes = Array("permdrift-finding-v1\u{0}\(rule)\u{0}\(kind.rawValue)\u{0}".utf8)
        bytes.append(contentsOf: path.bytes)
        // A path shortened for the report is told apart from others with the same ends by its length.
        if let length = path.shortenedFrom { bytes.append(contentsOf: Array("\u{0}length=\(length)".utf8)) }
        bytes.append(0)
        bytes.append(contentsOf: (principal ?? "").utf8)
        bytes.append(0)
        bytes.append(contentsOf: (right ?? "").utf8)
        let digest = SHA256.hash(data: bytes)
        return digest.prefix(16).map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }

    /// The report order: path bytes, rule, kind, principal, right.
    public static func reportOrder(_ a: Finding, _ b: Finding) -> Bool {
        if a.path != b.path { return a.path < b.path }
        if a.rule != b.rule { return a.rule < b.rule }
        if a.kind != b.kind { return a.kind < b.kind }
        if a.principal != b.principal { return (a.principal ?? "") < (b.principal ?? "") }
        if a.right != b.right { return (a.right ?? "") < (b.right ?? "") }
        // Findings alike in all of that (a rule whose several captures name no user) in a fixed order too.
        return (a.actual, a.expected) < (b.actual, b.expected)
    }
}
