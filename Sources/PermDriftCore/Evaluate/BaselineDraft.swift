import Foundation

/// `permdrift baseline init`: a starting baseline drawn from a known-good host — a few rules a reviewer
/// can read (per root: the root itself, per-user directories when the tree is laid out that way, and
/// upper bounds for the modes below), never a dump of every file.
public struct BaselineDraft {
    struct Shape {
        var root: FileRecord?
        /// Direct subdirectories: (name, owner, mode, has extended ACL).
        var children: [(name: String, uid: UInt32, mode: UInt32, acl: Bool, defaultACL: Bool)] = []
        var fileModes: UInt32 = 0
        var directoryModes: UInt32 = 0
        var filesWithACL = 0
        var files = 0
        var directories = 0
    }

    struct Visitor: WalkVisitor {
        typealias DirectoryContext = Void
        var shapes: [HostPath: Shape] = [:]
        var current = HostPath("/")
        var errors: [WalkError] = []

        func isExcluded(_ path: UnsafeBufferPointer<UInt8>, in directory: Void?) -> Bool { false }
        mutating func beginRoot(_ root: HostPath) { current = root; shapes[root] = Shape() }
        mutating func visitAncestor(_ entry: WalkEntry) {}
        mutating func rootContext() {}
        mutating func visit(_ entry: WalkEntry, in parent: Void) -> Void? {
            let path = HostPath(entry.path)
            let r = entry.record
            if path == current { shapes[current]?.root = r; return () }
            let depth = path.segments.count - current.segments.count
            if depth == 1, r.type == .directory, let name = path.segments.last.flatMap({ String(validating: $0, as: UTF8.self) }) {
                shapes[current]?.children.append((name, r.uid, r.mode, r.acl != nil, r.defaultACL != nil))
            } else if r.type == .file {
                shapes[current]?.fileModes |= r.mode
                shapes[current]?.files += 1
                if r.acl != nil { shapes[current]?.filesWithACL += 1 }
            } else if r.type == .directory {
                shapes[current]?.directoryModes |= r.mode
                shapes[current]?.directories += 1
            }
            return ()
        }
        mutating func record(_ error: WalkError) { errors.append(error) }
        mutating func skip(_ mount: SkippedMount) {}
    }

    public let text: String
    public let errors: [WalkError]

    public init(name: String, roots: [HostPath], rootDirectory: String, accounts: AccountDatabase) throws(WalkStartError) {
        var visitor = Visitor()
        var walker = Walker(rootDirectory: rootDirectory)
        try walker.walk(roots: roots, visitor: &visitor)
        errors = visitor.errors
        let q = BaselineEditor.quoted
        var out = """
            # A starting baseline drawn by `permdrift baseline init` from a host believed to be in a good state.
            # Review every rule: tighten what is looser than it should be, and add access: rules (docs/baseline.md).
            version: 1
            name: \(q(name))
            scan:
              roots: [\(roots.map { q($0.lossyString) }.joined(separator: ", "))]
            rules:

            """
        var ids = Set<String>()
        func id(_ base: String) -> String {
            var slug = String(base.lowercased().map { ($0.isLetter && $0.isASCII) || $0.isNumber ? $0 : "-" })
            while slug.contains("--") { slug = slug.replacingOccurrences(of: "--", with: "-") }
            slug = String(slug.drop { $0 == "-" }.reversed().drop { $0 == "-" }.reversed())
            if slug.isEmpty || slug == "pin" { slug = "root" }
            var candidate = slug, n = 2
            while ids.contains(candidate) { candidate = "\(slug)-\(n)"; n += 1 }
            ids.insert(candidate)
            return candidate
        }
        for root in roots {
            guard let shape = visitor.shapes[root], let r = shape.root else { continue }
            let path = root.lossyString
            let name = id(path)
            out += "  - id: \(name)\n    match: \(q(path))\n    types: [directory]\n"
            out +=
                "    expect: { owner: \(q(accounts.userDisplay(r.uid))), group: \(q(accounts.groupDisplay(r.gid))), mode: \(q(ModeSpec.octal(r.mode)))\(r.acl == nil ? ", acl: none" : "") }\n\n"
            // Per-user directories (/home/alice owned by alice …).
            let perUser = !shape.children.isEmpty && shape.children.allSatisfy { accounts.userName($0.uid) == $0.name }
            if perUser {
                let modes = Set(shape.children.map(\.mode))
                let mode = modes.count == 1 ? ModeSpec.octal(modes.first!) : "<=" + ModeSpec.octal(modes.reduce(0, |))
                let noACL = shape.children.allSatisfy { !$0.acl }
                let noDefault = shape.children.allSatisfy { !$0.defaultACL }
                out += "  - id: \(id(name + "-per-user"))\n    description: Each directory belongs to the user it is named after.\n"
                out += "    match: \(q(path + "/{user}"))\n    types: [directory]\n"
                out +=
                    "    expect: { owner: \"{user}\", mode: \(q(mode))\(noACL ? ", acl: none" : "")\(noDefault ? ", default-acl: none" : "") }\n\n"
            }
            if shape.files > 0 {
                out += "  - id: \(id(name + "-files"))\n    match: \(q(path + "/**"))\n    types: [file]\n"
                out +=
                    "    expect: { mode: \(q("<=" + ModeSpec.octal(shape.fileModes)))\(shape.filesWithACL == 0 ? ", acl: none" : "") }\n\n"
            }
            if shape.directories > 0 || !shape.children.isEmpty {
                out += "  - id: \(id(name + "-directories"))\n    match: \(q(path + "/**"))\n    types: [directory]\n"
                // `/root/**` matches the root itself too.
                let modes = shape.directoryModes | shape.children.map(\.mode).reduce(0, |) | r.mode
                out += "    expect: { mode: \(q("<=" + ModeSpec.octal(modes))) }\n\n"
            }
        }
        text = out
    }
}
