import Foundation
import PermDriftCore
import Testing

/// The baseline loader against docs/baseline.md: every error class gives `FILE:LINE:COLUMN: error: message`
/// pointing at the offending key or value (golden text), and valid baselines load as written.
struct BaselineLoaderTests {
    static let accounts = AccountDatabase(
        passwd: "root:x:0:0::/root:/bin/sh\nann:x:33001:33001::/home/ann:/bin/sh\nbob:x:33002:33002::/home/bob:/bin/sh\n",
        group: "root:x:0:\nann:x:33001:\nbob:x:33002:\nagents:x:33000:ann,bob\n",
        root: "ROOT")

    static let head = "version: 1\nname: t\nscan:\n  roots: [/home, /srv/shared]\n"

    static func load(_ text: String) throws(BaselineLoadError) -> Baseline {
        try BaselineLoader(accounts: accounts).load(Array(text.utf8), file: "baseline.yaml")
    }

    static func errors(_ text: String) -> [String] {
        do {
            _ = try load(text)
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    static let goldenErrors: [(String, String, [String])] = [
        (
            "malformed YAML", head + "rules:\n  - id: t\n    match: [/home/*\n",
            [
                "baseline.yaml:8:1: error: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at line 7, column 12); inside [ ] or { }, quote values that contain braces, brackets or commas, e.g. \"/home/{agent}/**\""
            ]
        ),
        (
            "an unquoted capture in a flow list",
            head + "rules:\n  - id: t\n    match: [/home/{a}, /srv/*]\n    expect: { mode: \"0700\" }\n",
            [
                "baseline.yaml:7:19: error: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at line 7, column 12); inside [ ] or { }, quote values that contain braces, brackets or commas, e.g. \"/home/{agent}/**\""
            ]
        ),
        (
            "truncated YAML", head + "rules:\n  - id: t\n    match: /home/*\n    expect: { mode: \"06",
            [
                "baseline.yaml:8:24: error: invalid YAML: found unexpected end of stream (while scanning a quoted scalar at line 8, column 21)"
            ]
        ),
        (
            "a tab for indentation", head + "rules:\n\t- id: t",
            [
                "baseline.yaml:6:1: error: invalid YAML: found character that cannot start any token (while scanning for the next token at line 6, column 1)"
            ]
        ),
        ("an empty file", "", ["baseline.yaml:1:1: error: the baseline is empty"]),
        ("not a mapping", "- a\n- b\n", ["baseline.yaml:1:1: error: the baseline must be a mapping (key: value)"]),
        ("two documents", head + "---\nversion: 1\n", ["baseline.yaml:6:1: error: the baseline holds more than one YAML document"]),
        ("missing scan", "version: 1\nname: x\n", ["baseline.yaml:1:1: error: missing required key 'scan'"]),
        (
            "wrong version", "version: 2\nname: x\nscan:\n  roots: [/home]\n",
            ["baseline.yaml:1:10: error: unsupported baseline version '2': this permdrift reads version 1"]
        ),
        (
            "relative scan root", "version: 1\nname: x\nscan:\n  roots: [home]\n",
            ["baseline.yaml:4:11: error: scan root 'home' is not absolute: write it as it stands on the host, starting with /"]
        ),
        (
            "unknown top-level key", head + "rulez: []\n",
            [
                "baseline.yaml:5:1: error: unknown key 'rulez' in the baseline (did you mean 'rules'?); allowed: version, name, serial, description, scan, principals, rules, pins, exceptions, accepted, pinned"
            ]
        ),
        (
            "unknown expect key", head + "rules:\n  - id: t\n    match: /home/*\n    expect: { mdoe: \"0600\" }\n",
            [
                "baseline.yaml:8:15: error: unknown key 'mdoe' in expect (did you mean 'mode'?); allowed: owner, group, mode, acl, default-acl, links, capabilities"
            ]
        ),
        (
            "duplicate key", head + "rules:\n  - id: t\n    match: /home/*\n    match: /srv/*\n    expect: { mode: \"0700\" }\n",
            ["baseline.yaml:8:5: error: duplicate key 'match' (first at line 7); each key may appear once"]
        ),
        (
            "duplicate key in a flow mapping",
            head + "rules:\n  - id: t\n    match: /home/*\n    expect: { mode: \"0700\", mode: \"0600\" }\n",
            ["baseline.yaml:8:29: error: duplicate key 'mode' (first at line 8); each key may appear once"]
        ),
        // Found by the baseline fuzzer: an empty key, duplicated, crashed the position search.
        (
            "duplicate empty key", "\"\": 1\n\"\": 2\n",
            ["baseline.yaml:2:1: error: duplicate key '' (first at line 1); each key may appear once"]
        ),
        (
            "unquoted mode", head + "rules:\n  - id: t\n    match: /home/*\n    expect: { mode: 0600 }\n",
            ["baseline.yaml:8:21: error: mode must be a quoted octal string: write \"0600\" (unquoted, YAML may read 0600 as a number)"]
        ),
        (
            "integer mode", head + "rules:\n  - id: t\n    match: /home/*\n    expect: { mode: 600 }\n",
            ["baseline.yaml:8:21: error: mode must be a quoted octal string: write \"0600\" (unquoted, YAML may read 600 as a number)"]
        ),
        (
            "unquoted at-most mode", head + "rules:\n  - id: t\n    match: /home/*\n    expect: { mode: <=0640 }\n",
            ["baseline.yaml:8:21: error: mode must be a quoted octal string: write \"<=0640\" (unquoted, YAML may read <=0640 as a number)"]
        ),
        (
            "a mode that is not octal", head + "rules:\n  - id: t\n    match: /home/*\n    expect: { mode: \"0800\" }\n",
            ["baseline.yaml:8:21: error: mode '0800' is not 3 or 4 octal digits (e.g. \"0600\" or \"<=0640\")"]
        ),
        (
            "unknown user", head + "rules:\n  - id: t\n    match: /home/*\n    expect: { owner: nosuchuser }\n",
            ["baseline.yaml:8:22: error: unknown user 'nosuchuser' (not in ROOT/etc/passwd)"]
        ),
        (
            "unknown group", head + "rules:\n  - id: t\n    match: /home/*\n    expect: { group: nogroup }\n",
            ["baseline.yaml:8:22: error: unknown group 'nogroup' (not in ROOT/etc/group)"]
        ),
        (
            "unknown alias in access", head + "rules:\n  - id: t\n    match: /home/{a}\n    access: { read: [admins] }\n",
            [
                "baseline.yaml:8:22: error: unknown principal 'admins': not an alias from principals:; write user:admins or group:admins for an account"
            ]
        ),
        (
            "capture missing from the pattern", head + "rules:\n  - id: t\n    match: /home/*\n    expect: { owner: \"{a}\" }\n",
            ["baseline.yaml:8:22: error: capture '{a}' is not in the rule's pattern"]
        ),
        (
            "capture missing from one of two patterns",
            head + "rules:\n  - id: t\n    match: [\"/home/{a}\", /srv/*]\n    expect: { owner: \"{a}\" }\n",
            ["baseline.yaml:8:22: error: capture '{a}' is not in the rule's patterns"]
        ),
        (
            "where names a missing capture",
            head + "rules:\n  - id: t\n    match: /home/{a}\n    where: { b: user }\n    expect: { mode: \"0700\" }\n",
            ["baseline.yaml:8:14: error: where names capture 'b', which the rule's pattern lacks"]
        ),
        (
            "duplicate rule id",
            head
                + "rules:\n  - id: t\n    match: /home/*\n    expect: { mode: \"0700\" }\n  - id: t\n    match: /srv/*\n    expect: { mode: \"0700\" }\n",
            ["baseline.yaml:9:9: error: duplicate rule id 't' (first at line 6)"]
        ),
        (
            "reserved rule id", head + "rules:\n  - id: pin\n    match: /home/*\n    expect: { mode: \"0700\" }\n",
            ["baseline.yaml:6:9: error: rule id 'pin' is reserved (permdrift uses it for its own findings)"]
        ),
        (
            "badly formed rule id", head + "rules:\n  - id: Home_Rule\n    match: /home/*\n    expect: { mode: \"0700\" }\n",
            ["baseline.yaml:6:9: error: rule id 'Home_Rule' must be lowercase letters, digits and '-', starting with a letter or digit"]
        ),
        (
            "bad severity", head + "rules:\n  - id: t\n    severity: urgent\n    match: /home/*\n    expect: { mode: \"0700\" }\n",
            ["baseline.yaml:7:15: error: severity 'urgent' is not one of critical, high, medium, low"]
        ),
        (
            "unclosed capture", head + "rules:\n  - id: t\n    match: /home/{a\n    expect: { mode: \"0700\" }\n",
            ["baseline.yaml:7:12: error: pattern '/home/{a' has '{' without a closing '}'"]
        ),
        (
            "** inside a segment", head + "rules:\n  - id: t\n    match: /home/a**\n    expect: { mode: \"0700\" }\n",
            ["baseline.yaml:7:12: error: pattern '/home/a**': '**' must be a whole segment (/**/)"]
        ),
        (
            "relative pattern", head + "rules:\n  - id: t\n    match: home/*\n    expect: { mode: \"0700\" }\n",
            ["baseline.yaml:7:12: error: pattern 'home/*' is not absolute (paths start with /)"]
        ),
        (
            "unknown type", head + "rules:\n  - id: t\n    match: /home/*\n    types: [regular]\n    expect: { mode: \"0700\" }\n",
            ["baseline.yaml:8:13: error: unknown type 'regular': use file, directory, symlink, fifo, socket, device"]
        ),
        (
            "an empty types list", head + "rules:\n  - id: t\n    match: /home/*\n    types: []\n    expect: { mode: \"0700\" }\n",
            ["baseline.yaml:8:12: error: types is empty, so the rule would match nothing; leave it out to match every type"]
        ),
        (
            "control characters in a key are escaped", head + "\"\\e[2J\\u202e\": 1\n",
            [
                "baseline.yaml:5:1: error: unknown key '\\x1b[2J\\u202e' in the baseline; allowed: version, name, serial, description, scan, principals, rules, pins, exceptions, accepted, pinned"
            ]
        ),
        (
            "a rule that asserts nothing", head + "rules:\n  - id: t\n    match: /home/*\n",
            ["baseline.yaml:6:5: error: rule 't' asserts nothing: give it expect or access"]
        ),
        (
            "named ACL entries without a mask",
            head + "rules:\n  - id: t\n    match: /home/*\n    expect: { acl: \"user::rwx,user:ann:r--,group::---,other::---\" }\n",
            ["baseline.yaml:8:20: error: acl: invalid ACL: missing or wrong entry (entries for named users or groups need a mask:: entry)"]
        ),
        (
            "an unknown name in an ACL",
            head + "rules:\n  - id: t\n    match: /home/*\n    expect: { acl: \"u::rwx,u:nobody9:r--,g::---,m::r--,o::---\" }\n",
            ["baseline.yaml:8:20: error: acl: unknown user 'nobody9' in ACL"]
        ),
        (
            "an exception with an impossible date",
            head
                + "rules:\n  - id: t\n    match: /home/*\n    expect: { mode: \"0700\" }\nexceptions:\n  - { rule: t, path: /home/ann, approved-by: me, reason: x, expires: 2026-02-30 }\n",
            ["baseline.yaml:10:70: error: expires must be a date written YYYY-MM-DD"]
        ),
        (
            "an exception for an unknown rule", head + "exceptions:\n  - { rule: nope, path: /home/ann, approved-by: me, reason: x }\n",
            ["baseline.yaml:6:13: error: exception names unknown rule 'nope'"]
        ),
        (
            "a pin with an at-most mode", head + "pins:\n  /home/ann: { mode: \"<=0700\" }\n",
            ["baseline.yaml:6:22: error: a pin records an exact mode; '<=' belongs in rules"]
        ),
        (
            "several errors at once",
            head + "rules:\n  - id: t\n    severity: urgent\n    match: /home/*\n    expect: { mode: 0700, owner: nobody9 }\n",
            [
                "baseline.yaml:7:15: error: severity 'urgent' is not one of critical, high, medium, low",
                "baseline.yaml:9:21: error: mode must be a quoted octal string: write \"0700\" (unquoted, YAML may read 0700 as a number)",
                "baseline.yaml:9:34: error: unknown user 'nobody9' (not in ROOT/etc/passwd)"
            ]
        )
    ]

    @Test(arguments: goldenErrors)
    func errorsPointAtTheOffendingKeyOrValue(name: String, text: String, expected: [String]) {
        #expect(Self.errors(text) == expected, "\(name)")
    }

    @Test func invalidUTF8IsAnError() {
        do {
            _ = try BaselineLoader(accounts: Self.accounts).load(Array(Self.head.utf8) + [0xFF, 0x0A], file: "b.yaml")
            Issue.record("loaded a baseline that is not UTF-8")
        } catch {
            #expect(error.description == "b.yaml:1:1: error: the baseline is not valid UTF-8")
        }
    }

    @Test func aFullBaselineLoadsAsWritten() throws {
        let baseline = try Self.load(
            Self.head + """
                serial: 7
                principals:
                  agents: group:agents
                  people: [user:ann, uid:4242]
                rules:
                  - id: transcripts
                    severity: critical
                    description: Transcripts are private.
                    match: ["/home/{a}/transcripts/**", "/srv/shared/{a}/**"]
                    types: [file, fifo]
                    where: { a: member-of agents }
                    expect:
                      owner: "{a}"
                      group: gid:33000
                      mode: "<=0640"
                      acl: "g:agents:r-x,u::rwx,o::---,m::r-x,g::r-x"
                      default-acl: none
                      links: 1
                      capabilities: none
                    access: { read: ["{a}", people], write: [agents] }
                pins:
                  /srv/shared: { type: directory, owner: root, group: agents, mode: "2750", acl: none }
                exceptions:
                  - rule: transcripts
                    path: /home/ann/transcripts/**
                    approved-by: alice
                    reason: review
                    expires: 2026-12-31

                """)
        #expect(baseline.name == "t")
        #expect(baseline.serial == 7)
        #expect(baseline.roots == [HostPath("/home"), HostPath("/srv/shared")])
        let rule = try #require(baseline.rules.first)
        #expect(rule.severity == .critical)
        #expect(rule.types == [.file, .fifo])
        #expect(rule.patterns.map(\.source) == ["/home/{a}/transcripts/**", "/srv/shared/{a}/**"])
        #expect(rule.expect.owner == .capture("a"))
        #expect(rule.expect.group == .id(33000))
        #expect(rule.expect.mode == .atMost(0o640))
        #expect(rule.expect.links == 1)
        #expect(rule.expect.noCapabilities)
        #expect(rule.expect.defaultACL == ACLSpec.none)
        guard case .exact(let acl)? = rule.expect.acl else { Issue.record("acl not exact"); return }
        #expect(acl.text() == "user::rwx,group::r-x,group:33000:r-x,mask::r-x,other::---")
        #expect(rule.access?.read == [.capture("a"), .user(33001), .user(4242)])
        #expect(rule.access?.write == [.group(33000)])
        #expect(baseline.pins.first?.mode == 0o2750)
        #expect(baseline.pins.first?.group == 33000)
        #expect(baseline.exceptions.first?.expires == "2026-12-31")
        #expect(baseline.exceptions.first?.isExpired(today: "2027-01-01") == true)
        #expect(baseline.exceptions.first?.isExpired(today: "2026-12-31") == false)
        #expect(baseline.origin.sha256.count == 64)
    }

    @Test func threeDigitModesRequireZeroSpecialBits() throws {
        let baseline = try Self.load(Self.head + "rules:\n  - id: t\n    match: /home/*\n    expect: { mode: \"600\" }\n")
        let mode = try #require(baseline.rules.first?.expect.mode)
        #expect(mode.allows(0o600))
        #expect(!mode.allows(0o4600))
        #expect(ModeSpec.atMost(0o640).allows(0o400))
        #expect(!ModeSpec.atMost(0o640).allows(0o644))
        #expect(!ModeSpec.atMost(0o2750).allows(0o4750))
    }

    @Test func builtInBaselineIsTheFileInBaselines() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("baselines/agent-host.yaml")
        let file = try String(contentsOf: url, encoding: .utf8)
        #expect(file == BuiltInBaseline.text, "run scripts/embed-baseline after editing baselines/agent-host.yaml")
    }

    @Test func builtInBaselineLoadsOnAnAgentHost() throws {
        let baseline = try BaselineLoader(accounts: Self.accounts)
            .load(Array(BuiltInBaseline.text.utf8), file: "built-in", isBuiltIn: true)
        #expect(baseline.name == "agent-host")
        #expect(baseline.origin.source == "built-in")
        #expect(baseline.roots == [HostPath("/home"), HostPath("/srv/shared-memory")])
        #expect(baseline.rules.contains { $0.id == "transcripts-private" && $0.severity == .critical })
    }
}
