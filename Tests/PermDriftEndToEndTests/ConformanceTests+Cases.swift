import Foundation
import PermDriftTestSupport
import Testing

// MARK: - The case tables

extension ConformanceTests {
    static let ann = ScratchHost.uid("ann"), bob = ScratchHost.uid("bob"), svc = ScratchHost.uid("svc")
    static let agentsGID = ScratchHost.agentsGID
    static let t = ScratchHost.transcript, t2 = ScratchHost.transcript2
    static let notes = ScratchHost.notes, facts = ScratchHost.facts

    /// run.py's HEAD: four lines, so a rules block starts on line 6.
    static let head = """
        version: 1
        name: conformance
        scan:
          roots: [/home, /srv/shared]

        """

    /// HEAD, `rules:` and the body (a trailing `exceptions:` or `pins:` block stays top-level).
    static func rules(_ body: String) -> String {
        head + "rules:\n" + body.trimmingCharacters(in: .newlines) + "\n"
    }

    static let files0600 = rules(
        """
          - id: t
            match: /home/{a}/transcripts/**
            types: [file]
            expect: { owner: "{a}", mode: "0600", acl: none }
        """)

    static func exception(path: String, expires: String = "") -> String {
        files0600 + "exceptions:\n  - { rule: t, path: \(path), approved-by: ops, reason: review\(expires) }\n"
    }

    static let sharedPin =
        head + """
            pins:
              /srv/shared: { type: directory, owner: svc, group: agents, mode: "0750", acl: none }

            """

    static let privateHomes = rules(
        """
          - id: private
            match: /home/{a}/**
            access: { read: ["{a}"], write: ["{a}"] }
        """)

    static let sharedReadOnly = rules(
        """
          - id: ro
            match: /srv/shared/**
            access: { write: [user:svc] }
        """)

    static let scanCases: [Case] = [
        // --- exit codes and modes
        Case("clean tree passes", files0600, exit: 0),
        Case(
            "exact mode drift", files0600, exit: 1, present: [Want("t", t)], absent: [Want("t", t2)],
            mutations: [.chmod(t, 0o640)]),
        Case(
            "3-digit mode means 0 special bits",
            rules(
                """
                  - id: t
                    match: /home/*/notes.md
                    expect: { mode: "600" }
                """), exit: 1, present: [Want("t", notes)], mutations: [.chmod(notes, 0o4600)]),
        Case(
            "mode <= allows stricter",
            rules(
                """
                  - id: t
                    match: /home/*/transcripts/**
                    types: [file]
                    expect: { mode: "<=0640" }
                """), exit: 0, mutations: [.chmod(t, 0o400)]),
        Case(
            "mode <= forbids extra bits",
            rules(
                """
                  - id: t
                    match: /home/*/transcripts/**
                    types: [file]
                    expect: { mode: "<=0640" }
                """), exit: 1, present: [Want("t", t)], mutations: [.chmod(t, 0o644)]),

        // --- patterns
        Case(
            "* stays within one segment",
            rules(
                """
                  - id: t
                    match: /home/*/t1.jsonl
                    expect: { mode: "0600" }
                """), exit: 0, absent: [Want("t", t)], mutations: [.chmod(t, 0o644)]),
        Case(
            "* and ** match dot-names",
            rules(
                """
                  - id: t
                    match: /home/*/**
                    types: [file]
                    expect: { mode: "0600" }
                """), exit: 1, present: [Want("t", "/home/ann/.env")],
            mutations: [.make("/home/ann/.env", mode: 0o644, uid: ann, gid: ann)]),
        Case(
            "** matches zero or more segments",
            rules(
                """
                  - id: t
                    match: /home/ann/transcripts/**
                    expect: { owner: ann }
                """), exit: 1, present: [Want("t", "/home/ann/transcripts"), Want("t", t), Want("t", t2)],
            mutations: ["/home/ann/transcripts", t, t2].map { .chown($0, uid: 0, gid: 0) }),
        Case(
            "? matches one character",
            rules(
                """
                  - id: t
                    match: /home/ann/transcripts/t?.jsonl
                    expect: { mode: "0600" }
                """), exit: 1, present: [Want("t", t)], mutations: [.chmod(t, 0o644)]),
        Case(
            "a list of patterns",
            rules(
                """
                  - id: t
                    match: [/home/ann/notes.md, /srv/shared/facts.md]
                    expect: { mode: "0600" }
                """), exit: 1, present: [Want("t", notes), Want("t", facts)], mutations: [.chmod(notes, 0o644)]),
        Case(
            "capture binds owner per agent",
            rules(
                """
                  - id: t
                    match: /home/{a}/notes.md
                    expect: { owner: "{a}" }
                """), exit: 1, present: [Want("t", "/home/bob/notes.md")], absent: [Want("t", notes)],
            mutations: [.chown("/home/bob/notes.md", uid: ann, gid: ann)]),
        Case(
            "a capture used twice must match the same text",
            rules(
                """
                  - id: t
                    match: /home/{a}/{a}.md
                    expect: { mode: "0600" }
                """), exit: 1, present: [Want("t", "/home/ann/ann.md")], absent: [Want("t", "/home/bob/ann.md")],
            mutations: [.make("/home/ann/ann.md", mode: 0o644), .make("/home/bob/ann.md", mode: 0o644)]),
        Case(
            "types filter",
            rules(
                """
                  - id: d
                    match: /home/*/transcripts/**
                    types: [directory]
                    expect: { mode: "0700" }
                """), exit: 1, present: [Want("d", "/home/ann/transcripts/2026")], absent: [Want("d", t)],
            mutations: [.chmod("/home/ann/transcripts/2026", 0o750), .chmod(t, 0o644)]),
        Case(
            "fifo type",
            rules(
                """
                  - id: f
                    match: /home/**
                    types: [fifo]
                    expect: { owner: root }
                """), exit: 1, present: [Want("f", "/home/ann/pipe")],
            mutations: [.make("/home/ann/pipe", mode: 0o600, uid: ann, gid: ann, fifo: true)]),
        Case(
            "where member-of limits captures",
            rules(
                """
                  - id: h
                    match: /home/{a}
                    where: { a: member-of agents }
                    expect: { mode: "0700" }
                """), exit: 1, present: [Want("h", "/home/ann")], absent: [Want("h", "/home/svc")],
            mutations: [.mkdir("/home/svc", mode: 0o755), .chmod("/home/ann", 0o750)]),
        Case(
            "exclude is neither walked nor reported",
            head + """
                  exclude: ["/home/*/.cache/**"]
                rules:
                  - id: t
                    match: /home/**
                    types: [file]
                    expect: { mode: "0600" }

                """, exit: 1, present: [Want("t", notes)], absent: [Want("t", "/home/bob/.cache/x")],
            mutations: [.chmod(notes, 0o644), .make("/home/bob/.cache/x", mode: 0o644)]),

        // --- owner, group, ACLs, links, capabilities
        Case(
            "group by name",
            rules(
                """
                  - id: s
                    match: /srv/shared/**
                    expect: { group: agents }
                """), exit: 1, present: [Want("s", facts)], mutations: [.chown(facts, uid: svc, gid: 0)]),
        Case(
            "owner by uid",
            rules(
                """
                  - id: s
                    match: /srv/shared/**
                    expect: { owner: "uid:\(svc)" }
                """), exit: 0),
        Case(
            "acl none catches a named entry",
            rules(
                """
                  - id: t
                    match: /home/*/transcripts/**
                    expect: { acl: none }
                """), exit: 1, present: [Want("t", t)], mutations: [.setfacl(t, "u:\(bob):r")]),
        Case(
            "exact acl, names resolved in the root",
            rules(
                """
                  - id: s
                    match: /srv/shared
                    expect: { acl: "user::rwx,group::r-x,group:agents:r-x,mask::r-x,other::---" }
                """), exit: 0, mutations: [.setfacl("/srv/shared", "g:\(agentsGID):rx")]),
        Case(
            "exact acl compares entries, not text",
            rules(
                """
                  - id: s
                    match: /srv/shared
                    expect: { acl: "g:agents:r-x,u::rwx,o::---,m::r-x,g::r-x" }
                """), exit: 0, mutations: [.setfacl("/srv/shared", "g:\(agentsGID):rx")]),
        Case(
            "exact acl mismatch",
            rules(
                """
                  - id: s
                    match: /srv/shared
                    expect: { acl: "user::rwx,group::r-x,group:agents:r-x,mask::r-x,other::---" }
                """), exit: 1, present: [Want("s", "/srv/shared")], mutations: [.setfacl("/srv/shared", "g:\(agentsGID):rwx")]),
        Case(
            "default acl on a directory",
            rules(
                """
                  - id: d
                    match: /home/*/transcripts
                    expect: { default-acl: none }
                """), exit: 1, present: [Want("d", "/home/ann/transcripts")],
            mutations: [.setfacl("/home/ann/transcripts", "g:\(agentsGID):r", isDefault: true)]),
        Case(
            "hard-link count",
            rules(
                """
                  - id: t
                    match: /home/*/transcripts/**
                    types: [file]
                    expect: { links: 1 }
                """), exit: 1, present: [Want("t", t)], mutations: [.hardLink(t, at: "/home/ann/copy")]),
        Case(
            "file capabilities",
            rules(
                """
                  - id: c
                    match: /home/**
                    types: [file]
                    expect: { capabilities: none }
                """), exit: 1, present: [Want("c", notes)], mutations: [.setcap(notes, "cap_net_raw+ep")]),
        Case(
            "symlinks are not files and are never followed", files0600, exit: 0,
            mutations: [.symlink(to: "/etc/passwd", at: "/home/ann/transcripts/link.jsonl")]),

        // --- exceptions and pins
        Case(
            "an exception silences one path of one rule", exception(path: t, expires: ", expires: 2999-01-01"), exit: 1,
            present: [Want("t", t2)], absent: [Want("t", t)], mutations: [.chmod(t, 0o644), .chmod(t2, 0o644)]),
        Case(
            "an exception may name a pattern", exception(path: "/home/ann/transcripts/**"), exit: 0,
            mutations: [.chmod(t, 0o644), .chmod(t2, 0o644)]),
        Case(
            "an expired exception no longer silences", exception(path: t, expires: ", expires: 2000-01-01"), exit: 1,
            present: [Want("t", t)], mutations: [.chmod(t, 0o644)]),
        Case(
            "a pinned path that changed", sharedPin, exit: 1, present: [Want("pin", "/srv/shared")],
            mutations: [.chmod("/srv/shared", 0o770)]),
        Case("a pinned path that holds", sharedPin, exit: 0),
        Case(
            "a pinned path that is missing",
            head + """
                pins:
                  /srv/shared/gone.md: { type: file, owner: svc, group: agents, mode: "0640", acl: none }

                """, exit: 1, present: [Want("pin", "/srv/shared/gone.md")]),

        // --- effective access (docs/baseline.md, "Effective access")
        Case("access: a clean host has no access findings", privateHomes, exit: 0),
        Case("access: 0644 inside a 0700 home exposes nothing", privateHomes, exit: 0, mutations: [.chmod(t, 0o644)]),
        Case(
            "access: other-read through a reachable path", privateHomes, exit: 1,
            present: [Want("private", notes, "user:bob", "read"), Want("private", notes, "user:eve", "read")],
            mutations: [.chmod("/home/ann", 0o711), .chmod(notes, 0o644)]),
        Case(
            "access: a named user is held back by the mask", privateHomes, exit: 0,
            absent: [Want("private", notes, "user:bob", "read")],
            mutations: [.setfacl("/home/ann", "u:\(bob):x"), .setfaclKeepingMask(notes, "u:\(bob):r,m::---")]),
        Case(
            "access: a group member is denied with no fall-through to other", privateHomes, exit: 1,
            present: [Want("private", notes, "user:eve", "read")], absent: [Want("private", notes, "user:bob", "read")],
            mutations: [.chmod("/home/ann", 0o711), .chmod(notes, 0o604), .chown(notes, uid: ann, gid: agentsGID)]),
        Case(
            "access: group membership opens access with no file changing", privateHomes, exit: 1,
            present: [Want("private", notes, "user:bob", "read")], absent: [Want("private", notes, "user:eve", "read")],
            mutations: [.chmod("/home/ann", 0o750), .chmod(notes, 0o640), .addMember("bob", toGroup: "ann")]),
        Case(
            "access: write on a directory means create and delete", sharedReadOnly, exit: 1,
            present: [Want("ro", "/srv/shared", "user:bob", "write"), Want("ro", facts, "user:bob", "write")],
            mutations: [.setfacl("/srv/shared", "g:\(agentsGID):rwx")]),
        Case(
            "access: a sticky directory protects entries others own", sharedReadOnly, exit: 1,
            present: [Want("ro", "/srv/shared", "user:bob", "write")], absent: [Want("ro", facts, "user:bob", "write")],
            mutations: [
                .setfacl("/srv/shared", "g:\(agentsGID):rwx"), .chmod("/srv/shared", 0o1770),
                .setfacl("/srv/shared", "g:\(agentsGID):rwx")
            ]),
        Case(
            "access: a default ACL is future access", privateHomes, exit: 1,
            present: [Want("private", "/home/ann/transcripts")], absent: [Want("private", t, "user:bob", "read")],
            mutations: [
                .chmod("/home/ann", 0o711), .chmod("/home/ann/transcripts", 0o711),
                .setfacl("/home/ann/transcripts", "u:\(bob):r", isDefault: true)
            ]),
        Case(
            "access: an id with no account is a principal", privateHomes, exit: 1,
            present: [Want("private", notes, "uid:40404", "read")],
            mutations: [.setfacl("/home/ann", "u:40404:x"), .setfacl(notes, "u:40404:r")])
    ]
}
