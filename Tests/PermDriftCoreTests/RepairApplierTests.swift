import Glibc
import PermDriftTestSupport
import Testing

@testable import PermDriftCore

/// `RepairApplier` on a real tree of the test's own: what it changes, and what it refuses to touch.
struct RepairApplierTests {
    /// A tree with /a/file (0644), a 0700 journal directory beside it, and the scan's facts of the file.
    struct Tree {
        let base: String
        var root: String { base + "/root" }
        let journals: StateDirectory
        let rootFD: FileDescriptor

        init() throws {
            base = try makeTemporaryDirectory(prefix: "pd-apply")
            mkdir(base + "/root", 0o755)
            mkdir(base + "/root/a", 0o755)
            let fd = open(base + "/root/a/file", O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            close(fd)
            chmod(base + "/root/a/file", 0o644)
            mkdir(base + "/journals", 0o700)
            journals = try StateDirectory(path: base + "/journals")
            rootFD = try Syscalls.open(base + "/root", [.readOnly, .directory, .closeOnExec]).get()
        }

        func remove() {
            rootFD.close()
            removeTree(base)
        }

        func facts(_ path: String) throws -> InodeFacts {
            InodeFacts(FileRecord(try Syscalls.open(root + path, [.pathOnly, .noFollow]).get().closeAfter { Syscalls.stat(fd: $0) }.get()))
        }

        func mode(_ path: String) -> mode_t {
            var st = stat()
            return lstat(root + path, &st) == 0 ? st.st_mode & 0o7777 : 0
        }

        func applier(roots: [String]) throws -> RepairApplier {
            RepairApplier(
                root: rootFD, scanRoots: roots.map(HostPath.init), journal: try JournalWriter(state: journals, name: "fix-T.jsonl"))
        }
    }

    @Test func aModeChangeIsMadeAndJournaledBeforeAndAfter() throws {
        let t = try Tree()
        defer { t.remove() }
        let outcome = try t.applier(roots: ["/a"]).apply(
            [.mode(from: 0o644, to: 0o600)], to: HostPath("/a/file"), facts: try t.facts("/a/file"))
        #expect(outcome == .applied)
        #expect(t.mode("/a/file") == 0o600)
        let lines = try JournalCoding.decode(try TrustedFile.read(relative: "fix-T.jsonl", under: t.journals.path).get(), file: "j")
        #expect(lines.map(\.entry.event) == [.begin, .done])
        #expect(lines[0].entry.before?.mode == "0644" && lines[1].entry.after?.mode == "0600")
        #expect(lines[1].entry.ctimeAfter != nil && lines[1].entry.ctimeAfter != lines[0].entry.ctime)
    }

    @Test func nothingOutsideTheScanRootsIsTouched() throws {
        let t = try Tree()
        defer { t.remove() }
        let outcome = try t.applier(roots: ["/b", "/a/fil"]).apply(
            [.mode(from: 0o644, to: 0o600)], to: HostPath("/a/file"), facts: try t.facts("/a/file"))
        #expect(outcome == .skipped("outside the baseline's scan roots; fix never changes anything there"))
        #expect(t.mode("/a/file") == 0o644)
    }

    @Test func aSymlinkAtTheEndOrOnTheWayIsNeverFollowed() throws {
        let t = try Tree()
        defer { t.remove() }
        let facts = try t.facts("/a/file")
        symlink(t.root + "/a/file", t.root + "/a/link")
        symlink(t.root + "/a", t.root + "/d")
        let applier = try t.applier(roots: ["/"])
        #expect(
            try applier.apply([.mode(from: 0o644, to: 0o600)], to: HostPath("/a/link"), facts: facts)
                == .skipped("changed since the scan: it is a symlink, the scan saw a file"))
        #expect(
            try applier.apply([.mode(from: 0o644, to: 0o600)], to: HostPath("/d/file"), facts: facts)
                == .skipped("changed since the scan: /d is no longer a directory (a symlink is never followed)"))
        #expect(t.mode("/a/file") == 0o644)
    }

    @Test func nothingIsChangedOnAnInodeAnotherNameReaches() throws {
        let t = try Tree()
        defer { t.remove() }
        let facts = try t.facts("/a/file")
        link(t.root + "/a/file", t.base + "/elsewhere")
        let applier = try t.applier(roots: ["/a"])
        // The new link moved the ctime: changed since the scan. With facts taken now, the link count stops it.
        #expect(try applier.apply([.mode(from: 0o644, to: 0o600)], to: HostPath("/a/file"), facts: facts) != .applied)
        #expect(
            try applier.apply([.mode(from: 0o644, to: 0o600)], to: HostPath("/a/file"), facts: try t.facts("/a/file"))
                == .skipped("it now has 2 links; fix changes nothing that another name reaches"))
        #expect(t.mode("/a/file") == 0o644)
    }

    /// Where the ctime is coarse, a same-tick ACL change would pass the ctime check: the ACLs the scan
    /// read are compared too.
    @Test func anACLOtherThanTheScansIsNotChanged() throws {
        let t = try Tree()
        defer { t.remove() }
        var facts = try t.facts("/a/file")
        facts.acl = PosixACL(entries: [
            .init(.userObject, 6), .init(.user, id: 9, 4), .init(.groupObject, 4), .init(.mask, 4), .init(.other, 4)
        ])
        #expect(
            try t.applier(roots: ["/a"]).apply([.mode(from: 0o644, to: 0o600)], to: HostPath("/a/file"), facts: facts)
                == .skipped("changed since the scan: its ACLs are not those the scan read"))
        #expect(t.mode("/a/file") == 0o644)
    }
}
