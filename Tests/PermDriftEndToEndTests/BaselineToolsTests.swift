import Foundation
import PermDriftTestSupport
import Testing

/// `permdrift baseline lint`, `diff` and `init` on real trees.
@Suite(.enabled(if: Harness.isRoot, "needs root: builds trees owned by other uids"))
struct BaselineToolsTests {
    @Test func lintWarnsAboutWhatCanNeverMatchOrHold() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let file = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: homes
                    match: /home/{a}
                    expect: { mode: "0700" }
                  - id: homes-strict
                    match: /home/*
                    expect: { mode: "0750" }
                  - id: nothing-here
                    match: /home/*/nope/**
                    expect: { mode: "0600" }
                exceptions:
                  - { rule: homes, path: /home/nobody-here, approved-by: me, reason: old }
                  - { rule: homes, path: /home/ann, approved-by: me, reason: review, expires: 2999-01-01 }

                """)
        let run = try Harness.permdrift(["baseline", "lint", file, "--root", host.root])
        #expect(run.status == 1)
        #expect(
            run.stdout.split(separator: "\n").map(String.init) == [
                "\(file):9:5: warning: rules 'homes' and 'homes-strict' require different exact modes (0700 and 0750) for /home/ann: they can never both hold",
                "\(file):12:5: warning: rule 'nothing-here' matches nothing on this tree",
                "\(file):16:5: warning: exception for rule 'homes' on /home/nobody-here matches nothing on this tree",
                "\(file):16:5: warning: exception for rule 'homes' on /home/nobody-here has no expires: approved drift should end",
                "\(file): 4 warnings (\(try #require(Int(run.stdout.split(separator: "(").last?.split(separator: " ").first ?? ""))) entries walked)"
            ], "\(run.stdout)")
        let clean = try Harness.permdrift([
            "baseline", "lint", try host.baseline(ScratchHost.transcriptsRule, name: "clean.yaml"), "--root", host.root
        ])
        #expect(clean.status == 0, "\(clean.stdout)")
        let broken = try Harness.permdrift([
            "baseline", "lint", try host.baseline(ScratchHost.head + "rules: 5\n", name: "broken.yaml"), "--root", host.root
        ])
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("broken.yaml:5:8: error: rules must be a list"), "\(broken.stderr)")
    }

    @Test func diffShowsChangesInMeaning() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let old = try host.baseline(
            ScratchHost.head + """
                rules:
                  - id: transcripts
                    severity: critical
                    match: /home/{a}/transcripts/**
                    expect: { owner: "{a}", mode: "0600" }
                  - id: notes
                    match: /home/*/notes.md
                    expect: { mode: "0600" }
                pins:
                  /srv/shared: { owner: svc, mode: "0750" }
                exceptions:
                  - { rule: notes, path: /home/ann/notes.md, approved-by: alice, reason: draft, expires: 2000-01-01 }

                """, name: "old.yaml")
        let new = try host.baseline(
            ScratchHost.head + """
                # reformatted, reordered and commented: only meaning counts
                rules:
                  - id: transcripts
                    severity: high
                    match: '/home/{a}/transcripts/**'
                    expect: {mode: '0640', owner: "{a}"}
                  - id: shared
                    match: /srv/shared/**
                    access: { write: [user:svc] }
                pins:
                  /srv/shared: { owner: svc, mode: "0770" }
                exceptions:
                  - { rule: transcripts, path: /home/bob/transcripts/**, approved-by: alice, reason: migration, expires: 2999-12-31 }

                """, name: "new.yaml")
        let run = try Harness.permdrift(["baseline", "diff", old, new, "--root", host.root])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            run.stdout == """
                rule notes
                  - severity medium; match /home/*/notes.md; expect.mode 0600
                rule transcripts
                  ~ severity: critical -> high
                  ~ expect.mode: 0600 -> 0640
                rule shared
                  + severity medium; match /srv/shared/**; access.write user:svc
                pin /srv/shared
                  ~ mode: 0750 -> 0770
                exception notes on /home/ann/notes.md
                  - notes on /home/ann/notes.md, approved by alice: draft, until 2000-01-01
                exception transcripts on /home/bob/transcripts/**
                  + transcripts on /home/bob/transcripts/**, approved by alice: migration, until 2999-12-31

                """, "\(run.stdout)")
        let json = try Harness.permdrift(["baseline", "diff", old, new, "--root", host.root, "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdoutBytes) as? [String: Any])
        #expect((object["changes"] as? [Any])?.count == 6)
        let same = try Harness.permdrift(["baseline", "diff", old, old, "--root", host.root])
        #expect(
            same.stdout == """
                no change in meaning
                exception notes on /home/ann/notes.md
                  ! expired on 2000-01-01; its findings are reported again

                """, "\(same.stdout)")
    }

    @Test func initDrawsABaselineThatLoadsAndHoldsOnTheTreeItCameFrom() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        let draft = host.base + "/draft.yaml"
        let run = try Harness.permdrift([
            "baseline", "init", "--root", host.root, "--roots", "/home", "/srv/shared", "--name", "drawn",
            "--output", draft
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let text = try String(contentsOfFile: draft, encoding: .utf8)
        #expect(text.contains("match: \"/home/{user}\""), "homes owned by the users they are named after: \(text)")
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("  - id:") }.count <= 8, "a few readable rules, not a dump")
        let scan = try Harness.permdrift(["scan", "--root", host.root, "--baseline", draft])
        #expect(scan.status == 0, "a baseline drawn from a tree holds on it: \(scan.stdout)")
        host.setMode("/home/ann", 0o755)
        #expect(try Harness.permdrift(["scan", "--root", host.root, "--baseline", draft]).status == 1)
        #expect(
            try Harness.permdrift(["baseline", "init", "--root", host.root, "--roots", "/home", "--output", draft]).status == 64,
            "it never overwrites a file")
    }
}
