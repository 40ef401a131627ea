import Glibc
import PermDriftCore
import PermDriftTestSupport
import Testing

// MARK: - Text parsed by libacl

/// A tiny account database for the parser; deliberately disagrees with the host's (root is not 0 here).
private let testUsers: [String: UInt32] = ["alice": 40001, "bob": 40002, "root": 40007, "nobody": 40008]
private let testGroups: [String: UInt32] = ["agents": 40010, "staff": 40011, "root": 40017]

private func parse(_ text: String) throws(ACLTextError) -> PosixACL {
    try ACLText.parse(text, uid: { testUsers[$0] }, gid: { testGroups[$0] })
}

@Suite("ACLText.parse (libacl)")
struct ACLTextTests {
    static let aliceACL = PosixACL(entries: [
        .init(.userObject, 6), .init(.user, id: 40001, 4), .init(.groupObject, 4), .init(.group, id: 40011, 6),
        .init(.mask, 6), .init(.other, 0)
    ])

    static let equivalentSpellings: [String] = [
        "user::rw-,user:alice:r--,group::r--,group:staff:rw-,mask::rw-,other::---",
        "u::rw-,u:alice:r--,g::r--,g:staff:rw-,m::rw-,o::---",
        "u::rw,u:alice:r,g::r,g:staff:rw,m::rw,o::-",
        "u::rw-,u:40001:r--,g::r--,g:40011:rw-,m::rw-,o::---",
        "o::---,m::rw-,g:staff:rw-,u:alice:r--,g::r--,u::rw-",
        "g:staff:rw-,other::---,user:alice:r--,mask::rw-,user::rw-,group::r--",
        "user::rw-\nuser:alice:r--\ngroup::r--\ngroup:staff:rw-\nmask::rw-\nother::---\n",
        "  u::rw-\tu:alice:r--  g::r-- g:staff:rw- m::rw- o::---"
    ]

    @Test(
        "long and short forms, any order, any separator, names or numbers: all the same ACL",
        arguments: equivalentSpellings)
    func equivalentForms(text: String) throws {
        let acl = try parse(text)
        #expect(acl == Self.aliceACL)
        #expect(acl.entries == Self.aliceACL.entries)
        #expect(acl.text() == "user::rw-,user:40001:r--,group::r--,group:40011:rw-,mask::rw-,other::---")
    }

    @Test("a minimal ACL parses to what its mode amounts to")
    func minimal() throws {
        let acl = try parse("u::rwx,g::r-x,o::r--")
        #expect(acl == PosixACL(mode: 0o754))
        #expect(acl.isMinimal)
    }

    @Test(
        "getfacl's own output parses back to the same ACL",
        arguments: [
            PosixACL(mode: 0o640), namedACL,
            PosixACL(entries: [.init(.userObject, 7), .init(.groupObject, 0), .init(.mask, 0), .init(.other, 1)])
        ])
    func textRoundTrip(acl: PosixACL) throws {
        #expect(try parse(acl.text()) == acl)
    }

    @Test("names go through the closures, never the host's accounts")
    func namesFromClosuresOnly() throws {
        // On the host root is uid 0 and nobody 65534; the scanned root says otherwise, and wins.
        let acl = try parse("u::rw-,u:root:r--,u:nobody:--x,g::r--,g:root:r--,m::r-x,o::---")
        #expect(acl.entries.filter { $0.tag == .user }.map(\.id) == [40007, 40008])
        #expect(acl.entries.filter { $0.tag == .group }.map(\.id) == [40017])

        // A name the scanned root lacks is unknown even though the host has it.
        #expect(throws: ACLTextError.unknownUser("root")) {
            try ACLText.parse("u::rw-,u:root:r--,g::r--,m::r--,o::---", uid: { _ in nil }, gid: { _ in nil })
        }
        #expect(throws: ACLTextError.unknownGroup("root")) {
            try ACLText.parse("u::rw-,g::r--,g:root:r--,m::r--,o::---", uid: { _ in 1 }, gid: { _ in nil })
        }
    }

    @Test("numeric qualifiers are taken as ids without asking the closures")
    func numericQualifiers() throws {
        var asked = [String]()
        let acl = try ACLText.parse(
            "u::rw-,u:40001:r--,g::r--,g:0:r--,m::r--,o::---",
            uid: {
                asked.append($0); return 1
            },
            gid: {
                asked.append($0); return 1
            })
        #expect(asked.isEmpty)
        #expect(acl.entries.contains(.init(.user, id: 40001, 4)))
        #expect(acl.entries.contains(.init(.group, id: 0, 4)))
    }

    @Test("numeric qualifiers are decimal ids; one that does not fit a uid is rejected, not wrapped")
    func numericQualifiersAreDecimal() throws {
        // libacl reads qualifiers with strtol(_, _, 0) and truncates to id_t; ACLText parses them as decimal
        // first, so 010 is uid 10 and a number that does not fit a uid is an error, never root.
        let leadingZero = try parse("u::rw-,u:010:r--,g::r--,m::r--,o::---")
        #expect(leadingZero.entries.filter { $0.tag == .user }.map(\.id) == [10])
        #expect(throws: ACLTextError.self) { try parse("u::rw-,u:4294967296:r--,g::r--,m::r--,o::---") }
        #expect(throws: ACLTextError.self) { try parse("u::rw-,u:99999999999:r--,g::r--,m::r--,o::---") }
        #expect(throws: ACLTextError.self) { try parse("u::rw-,u:4294967295:r--,g::r--,m::r--,o::---") }
    }

    @Test("user names are looked up as users, group names as groups")
    func lookupKinds() throws {
        var users = [String](), groups = [String]()
        _ = try ACLText.parse(
            "u::rw-,user:alice:r--,g::r--,group:agents:r--,m::r--,o::---",
            uid: {
                users.append($0); return 1
            },
            gid: {
                groups.append($0); return 2
            })
        #expect(users == ["alice"])
        #expect(groups == ["agents"])
    }

    @Test(
        "unknown names",
        arguments: [
            ("u::rw-,u:mallory:r--,g::r--,m::r--,o::---", ACLTextError.unknownUser("mallory")),
            ("u::rw-,user:eve:r--,g::r--,m::r--,o::---", .unknownUser("eve")),
            ("u::rw-,g::r--,g:wheel:r--,m::r--,o::---", .unknownGroup("wheel")),
            ("u::rw-,g::r--,group:adm:r--,m::r--,o::---", .unknownGroup("adm")),
            // alice is a user, not a group; agents is a group, not a user.
            ("u::rw-,g::r--,g:alice:r--,m::r--,o::---", .unknownGroup("alice")),
            ("u::rw-,u:agents:r--,g::r--,m::r--,o::---", .unknownUser("agents"))
        ])
    func unknownNames(text: String, expected: ACLTextError) {
        #expect(throws: expected) { try parse(text) }
    }

    @Test(
        "entries libacl parses but that are not a valid ACL",
        arguments: [
            // named entries without a mask
            "u::rw-,u:alice:r--,g::r--,o::---",
            "u::rw-,g::r--,g:staff:r--,o::---",
            // missing base entries
            "u::rw-,o::---",
            "g::r--,o::---",
            "u::rw-,g::r--",
            // the same entry twice
            "u::rw-,u::r--,g::r--,o::---",
            "u::rw-,u:alice:r--,u:40001:rw-,g::r--,m::rw-,o::---",
            "u::rw-,g::r--,m::r--,m::rw-,o::---"
        ])
    func invalid(text: String) {
        do {
            let acl = try parse(text)
            Issue.record("accepted \(text.debugDescription) as \(acl.text())")
        } catch {
            guard case .invalid(let why) = error else {
                Issue.record("expected .invalid for \(text.debugDescription), got \(error)")
                return
            }
            #expect(!why.isEmpty)
            #expect(error.description.hasPrefix("invalid ACL: "))
        }
    }

    @Test("a missing mask is reported in libacl's words")
    func missingMaskMessage() {
        do {
            _ = try parse("u::rw-,u:alice:r--,g::r--,o::---")
            Issue.record("a named entry without a mask was accepted")
        } catch {
            guard case .invalid(let why) = error else { Issue.record("expected .invalid, got \(error)"); return }
            // libacl's ACL_MISS_ERROR text, lowercased; the library may add a hint after it.
            #expect(why.hasPrefix("missing or wrong entry"), "\(why)")
        }
    }

    @Test(
        "garbage is a syntax error",
        arguments: [
            "", " ", ",,,", "\n", "garbage", "u:rw-", "u::", "x::rwx", "u::rwz", "u::rwxr",
            "u:alice:bob:rw-", "default:user::rwx,g::r--,o::---", "d:u::rwx",
            "m:alice:rwx", "o:nobody:r--", "u::rw-;g::r--;o::---", "user::rw-,group::r--,other::---,#comment"
        ])
    func syntax(text: String) {
        do {
            let acl = try parse(text)
            Issue.record("accepted \(text.debugDescription) as \(acl.text())")
        } catch {
            guard case .syntax = error else {
                Issue.record("expected .syntax for \(text.debugDescription), got \(error)")
                return
            }
        }
    }
}

// MARK: - Bytes from the real kernel

@Suite("PosixACL: bytes the kernel wrote")
struct PosixACLKernelTests {
    @Test("setfacl's ACL read back with getxattr decodes to what ACLText parses")
    func kernelBytes() throws {
        let dir = try makeTemporaryDirectory(prefix: "permdrift-acl-unit")
        defer { removeTree(dir) }
        let file = dir + "/f"
        let fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        close(fd)

        let text = "u::rw-,u:40001:r--,u:9:rwx,g::r--,g:40002:-w-,m::rwx,o::--x"
        let set = try Harness.run(["/usr/bin/setfacl", "--set", text, file], environment: .cLocale)
        try #require(set.status == 0, "setfacl: \(set.stderr)")

        let bytes = try #require(rawAccessACL(file), "lgetxattr: errno \(errno)")
        let decoded = try decode(bytes)
        #expect(decoded == (try parse(text)))
        // The kernel stores canonical order and ACL_UNDEFINED_ID for base entries: exactly our encoding.
        #expect(decoded.xattrBytes == bytes)
        #expect(decoded.text() == "user::rw-,user:9:rwx,user:40001:r--,group::r--,group:40002:-w-,mask::rwx,other::--x")
    }
}

/// The raw `system.posix_acl_access` value of `path`.
private func rawAccessACL(_ path: String) -> [UInt8]? {
    rawAttribute(path, "system.posix_acl_access").flatMap { $0.isEmpty ? nil : $0 }
}
