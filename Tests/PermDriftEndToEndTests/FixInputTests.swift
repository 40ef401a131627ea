import Foundation
import PermDriftTestSupport
import Testing

/// `permdrift fix --apply` and `--undo` given what they cannot carry out: each is refused with a message
/// that names the problem, and nothing in the tree changes.
@Suite(.enabled(if: Harness.isRoot, "needs root: builds trees owned by other uids"))
struct FixInputTests {
    /// A host with one repairable drift, its baseline and a state directory; removed by `remove()`.
    struct Setup {
        let host: ScratchHost
        let baseline: String
        let state: String

        init() throws {
            host = try ScratchHost()
            host.setMode(ScratchHost.transcript, 0o664)
            baseline = try host.baseline(FixPlanTests.homes)
            state = try FixApplyTests.stateDirectory()
        }

        func remove() {
            host.remove()
            removeTree(state)
        }

        var arguments: [String] { ["fix", "--root", host.root, "--baseline", baseline, "--no-config"] }
        var unchanged: Bool { FixRaceTests.mode(host.path(ScratchHost.transcript)) == 0o664 }
    }

    @Test func theJournalDirectoryMustBeRootsOwn() throws {
        let s = try Setup()
        defer { s.remove() }
        chmod(s.state, 0o755)
        let open = try Harness.permdrift(s.arguments + ["--apply", "--yes", "--journal-dir", s.state])
        #expect(open.status == 2)
        #expect(
            open.stderr.contains("the journal directory cannot be used: \(s.state): has mode 0755; the state directory must be 0700"),
            "\(open.stderr)")
        chmod(s.state, 0o700)
        chown(s.state, 33001, 33001)
        let agents = try Harness.permdrift(s.arguments + ["--apply", "--yes", "--journal-dir", s.state])
        #expect(agents.status == 2)
        #expect(agents.stderr.contains("is owned by uid 33001, not by the user running permdrift (uid 0)"), "\(agents.stderr)")
        let link = s.host.base + "/journals"
        #expect(symlink(s.state, link) == 0)
        let linked = try Harness.permdrift(s.arguments + ["--apply", "--yes", "--journal-dir", link])
        #expect(linked.status == 2)
        #expect(linked.stderr.contains("is a symlink or not a directory"), "\(linked.stderr)")
        #expect(s.unchanged)
        // Under a directory others may write (not sticky), the journal directory could be swapped.
        let openParent = s.host.base + "/open"
        mkdir(openParent, 0o777)
        chmod(openParent, 0o777)
        let swappable = try Harness.permdrift(s.arguments + ["--apply", "--yes", "--journal-dir", openParent + "/journals"])
        #expect(swappable.status == 2)
        #expect(
            swappable.stderr.contains("cannot be trusted: \(openParent) is writable by group or others and not sticky"),
            "\(swappable.stderr)")
        #expect(s.unchanged)
        let made = s.host.base + "/new-journals"
        let fresh = try Harness.permdrift(s.arguments + ["--apply", "--yes", "--journal-dir", made])
        #expect(fresh.status == 0, "\(fresh.stdout) \(fresh.stderr)")
        var st = stat()
        #expect(lstat(made, &st) == 0 && st.st_mode & 0o7777 == 0o700 && st.st_uid == 0)
    }

    @Test func applyAsksAndCannotAskWithoutATerminal() throws {
        let s = try Setup()
        defer { s.remove() }
        let run = try Harness.permdrift(s.arguments + ["--apply", "--journal-dir", s.state])
        #expect(run.status == 64)
        #expect(run.stderr.contains("standard input is not a terminal; pass --yes"), "\(run.stderr)")
        #expect(s.unchanged)
        let yes = try Harness.permdrift(s.arguments + ["--yes"])
        #expect(yes.status == 64)
        #expect(yes.stderr.contains("--yes only goes with --apply"), "\(yes.stderr)")
    }

    /// The question on a real terminal (util-linux's `script` gives fix a pseudo-terminal).
    @Test func anyAnswerButYesChangesNothingAndYesApplies() throws {
        let s = try Setup()
        defer { s.remove() }
        let command = ([Harness.binary] + s.arguments + ["--apply", "--journal-dir", s.state]).map { "'\($0)'" }.joined(separator: " ")
        let no = try Harness.run("/bin/sh", ["-c", "printf 'no\\n' | script -qec \"\(command)\" /dev/null"])
        #expect(no.stdout.contains("Make 1 change on 1 path? Type yes to apply: "), "\(no.stdout)")
        #expect(no.stdout.contains("permdrift fix: nothing was changed."), "\(no.stdout)")
        #expect(no.status == 1)
        #expect(s.unchanged)
        let yes = try Harness.run("/bin/sh", ["-c", "printf 'yes\\n' | script -qec \"\(command)\" /dev/null"])
        #expect(yes.stdout.contains("changed \(ScratchHost.transcript): mode 0664 → 0640"), "\(yes.stdout)")
        #expect(yes.status == 0, "\(yes.stdout)")
        #expect(FixRaceTests.mode(s.host.path(ScratchHost.transcript)) == 0o640)
    }

    @Test func undoRefusesWhatIsNotARunOfThisStateDirectory() throws {
        let s = try Setup()
        defer { s.remove() }
        let bad = try Harness.permdrift(s.arguments + ["--undo", "../../etc/passwd", "--journal-dir", s.state])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--undo ../../etc/passwd is not the name of a fix run"), "\(bad.stderr)")
        let unknown = try Harness.permdrift(s.arguments + ["--undo", "20990101T000000Z", "--journal-dir", s.state])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("\(s.state)/fix-20990101T000000Z.jsonl: no such journal"), "\(unknown.stderr)")
    }

    @Test func aDamagedOrSymlinkedJournalIsRefusedNamingTheFileAndLine() throws {
        let s = try Setup()
        defer { s.remove() }
        let fix = try Harness.permdrift(s.arguments + ["--apply", "--yes", "--journal-dir", s.state])
        #expect(fix.status == 0, "\(fix.stdout) \(fix.stderr)")
        let run = try #require(FixApplyTests.runName(fix.stdout))
        let journal = s.state + "/fix-\(run).jsonl"
        let lines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n").map(String.init)
        try (lines[0] + "\n{\"event\": 3}\n" + lines[1...].joined(separator: "\n") + "\n").write(
            toFile: s.state + "/fix-DAMAGED.jsonl", atomically: false, encoding: .utf8)
        let damaged = try Harness.permdrift(s.arguments + ["--undo", "DAMAGED", "--journal-dir", s.state])
        #expect(damaged.status == 2)
        #expect(damaged.stderr.contains("\(s.state)/fix-DAMAGED.jsonl:2: not a journal entry"), "\(damaged.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.state + "/fix-DAMAGED.undo.jsonl"))
        #expect(symlink(journal, s.state + "/fix-LINKED.jsonl") == 0)
        let linked = try Harness.permdrift(s.arguments + ["--undo", "LINKED", "--journal-dir", s.state])
        #expect(linked.status == 2)
        #expect(linked.stderr.contains("not a regular file (symlinks are not followed)"), "\(linked.stderr)")
        let elsewhere = try makeTemporaryDirectory(prefix: "pd-fix-root")
        defer { removeTree(elsewhere) }
        let otherRoot = try Harness.permdrift(["fix", "--root", elsewhere, "--no-config", "--undo", run, "--journal-dir", s.state])
        #expect(otherRoot.status == 64)
        #expect(otherRoot.stderr.contains("changed the tree under \(s.host.root), not --root \(elsewhere)"), "\(otherRoot.stderr)")
        #expect(FixRaceTests.mode(s.host.path(ScratchHost.transcript)) == 0o640, "nothing was undone")
    }

    /// On an installed host the configuration names the service's state directory, which the service
    /// account owns: fix (root) takes its lock there, so no scan runs while it changes the tree, and
    /// leaves the lock the service's.
    @Test func theServicesStateDirectoryLendsFixItsLockAndStaysTheServices() throws {
        let s = try Setup()
        defer { s.remove() }
        let service = try makeTemporaryDirectory(prefix: "pd-fix-service")
        defer { removeTree(service) }
        chmod(service, 0o700)
        chown(service, 33100, 33100)
        // A note a stuck scan left is the service's to record: fix leaves it.
        try "process 1, started 2026-12-07T00:00:00Z\n".write(toFile: service + "/stuck", atomically: false, encoding: .utf8)
        chown(service + "/stuck", 33100, 33100)
        let plan = try Harness.permdrift(s.arguments + ["--state-dir", service])
        #expect(plan.status == 1, "\(plan.stderr)")
        #expect(FileManager.default.fileExists(atPath: service + "/stuck"), "fix removed the service's stuck note")
        unlink(service + "/stuck")  // (with it, a held lock is a stuck scan's, exit 2)
        var st = stat()
        #expect(lstat(service + "/lock", &st) == 0 && st.st_uid == 33100 && st.st_mode & 0o777 == 0o600, "the lock is not the service's")
        let held = open(service + "/lock", O_RDWR | O_CLOEXEC)
        try #require(held >= 0)
        defer { close(held) }
        try #require(flock(held, LOCK_EX | LOCK_NB) == 0)
        let busy = try Harness.permdrift(s.arguments + ["--apply", "--yes", "--state-dir", service, "--journal-dir", s.state])
        #expect(busy.status == 75, "\(busy.stderr)")
        #expect(busy.stderr.contains("another permdrift run holds"), "\(busy.stderr)")
        #expect(s.unchanged)
    }

    /// Root without CAP_DAC_READ_SEARCH and CAP_DAC_OVERRIDE cannot list the agents' 0700 homes: the
    /// scan is incomplete, and fix applies nothing (exit 2), not even the drift it could see.
    @Test func anIncompleteScanIsNeverApplied() throws {
        let s = try Setup()
        defer { s.remove() }
        s.host.setMode("/home/ann", 0o750)  // seen through /home, which root can read without those
        let run = try Harness.run(
            "/usr/bin/setpriv",
            [
                "--inh-caps=-dac_read_search,-dac_override", "--bounding-set=-dac_read_search,-dac_override", "--",
                Harness.binary
            ] + s.arguments + ["--apply", "--yes", "--journal-dir", s.state])
        #expect(run.status == 2, "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("  mode 0750 → 0700"), "the plan is shown: \(run.stdout)")
        #expect(run.stderr.contains("the plan cannot be trusted to be whole, so nothing was changed"), "\(run.stderr)")
        #expect(FixRaceTests.mode(s.host.path("/home/ann")) == 0o750)
    }

    @Test func applyAndUndoRefuseToRunAsAnyoneButRoot() throws {
        let s = try Setup()
        defer { s.remove() }
        for extra in [["--apply", "--yes"], ["--undo", "20990101T000000Z"]] {
            let run = try Harness.permdrift(asUID: 65534, s.arguments + extra + ["--journal-dir", s.state])
            #expect(run.status == 64, "\(run.stdout) \(run.stderr)")
            #expect(run.stderr.contains("permdrift fix: must run as root (the effective uid is 65534)"), "\(run.stderr)")
        }
        #expect(s.unchanged)
    }
}
