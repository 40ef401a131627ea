import Glibc
import PermDriftCore
import PermDriftTestSupport
import Testing

// Listings of the parity tree by find and getfacl, for ACLParityTests.

// MARK: - What find and getfacl say

struct FindEntry {
    var type: UInt8
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var links: UInt64
}

/// `find TMP/tree` with type, mode, owner, group and link count, keyed by path relative to TMP.
func findListing(treeAt tmp: String) throws -> [HostPath: FindEntry] {
    let run = try Harness.run(["/usr/bin/find", tmp + "/tree", "-printf", "%y %m %U %G %n %p\\0"], environment: .cLocale)
    try #require(run.status == 0, "find: \(run.stderr)")
    var out = [HostPath: FindEntry]()
    let prefix = Array(tmp.utf8)
    for record in Array(run.stdoutBytes).split(separator: 0, omittingEmptySubsequences: true) {
        let fields = record.split(separator: UInt8(ascii: " "), maxSplits: 5, omittingEmptySubsequences: false)
        try #require(fields.count == 6, "find record \(Array(record))")
        func number<T: FixedWidthInteger>(_ field: ArraySlice<UInt8>, radix: Int = 10) throws -> T {
            try #require(T(String(decoding: field, as: UTF8.self), radix: radix))
        }
        let path = Array(fields[5])
        try #require(path.starts(with: prefix))
        let key = HostPath(bytes: Array(path.dropFirst(prefix.count)))
        #expect(out[key] == nil, "find listed \(key) twice")
        out[key] = FindEntry(
            type: fields[0].first ?? 0, mode: try number(fields[1], radix: 8),
            uid: try number(fields[2]), gid: try number(fields[3]), links: try number(fields[4]))
    }
    return out
}

struct GetfaclBlock {
    var owner: UInt32?
    var group: UInt32?
    var flags: String?
    var access: [String] = []
    var defaults: [String] = []
}

/// `getfacl -R -P -n -p TMP/tree`, keyed by path relative to TMP. Entry lines lose their `#effective:`
/// comment; `default:` lines go to `defaults`.
func getfaclListing(treeAt tmp: String) throws -> [HostPath: GetfaclBlock] {
    let run = try Harness.run(["/usr/bin/getfacl", "-R", "-P", "-n", "-p", "--", tmp + "/tree"], environment: .cLocale)
    try #require(run.status == 0 && run.stderr.isEmpty, "getfacl: \(run.stderr)")
    let prefix = Array(tmp.utf8)
    var out = [HostPath: GetfaclBlock]()
    var current: (HostPath, GetfaclBlock)?
    func finish() {
        if let (path, block) = current {
            #expect(out[path] == nil, "getfacl listed \(path) twice")
            out[path] = block
        }
        current = nil
    }
    for line in Array(run.stdoutBytes).split(separator: 0x0A, omittingEmptySubsequences: false) {
        let text = String(decoding: line, as: UTF8.self)
        if line.isEmpty {
            finish()
        } else if line.starts(with: Array("# file: ".utf8)) {
            finish()
            let path = unquoteGetfaclName(Array(line.dropFirst(8)))
            try #require(path.starts(with: prefix), "getfacl path \(HostPath(bytes: path))")
            current = (HostPath(bytes: Array(path.dropFirst(prefix.count))), GetfaclBlock())
        } else if text.hasPrefix("# owner: ") {
            current?.1.owner = UInt32(text.dropFirst(9))
        } else if text.hasPrefix("# group: ") {
            current?.1.group = UInt32(text.dropFirst(9))
        } else if text.hasPrefix("# flags: ") {
            current?.1.flags = String(text.dropFirst(9))
        } else {
            try #require(current != nil, "getfacl line outside a block: \(text)")
            var entry = Substring(text)
            if let comment = entry.firstIndex(of: "#") { entry = entry[..<comment] }
            while let last = entry.last, last == " " || last == "\t" { entry = entry.dropLast() }
            let trimmed = String(entry)
            if trimmed.hasPrefix("default:") {
                current?.1.defaults.append(trimmed)
            } else {
                current?.1.access.append(trimmed)
            }
        }
    }
    finish()
    return out
}

/// Undoes getfacl's quoting of a file name: `\\` is a backslash, `\ooo` an octal byte.
func unquoteGetfaclName(_ bytes: [UInt8]) -> [UInt8] {
    var out = [UInt8]()
    var i = 0
    func isOctal(_ b: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(b) }
    while i < bytes.count {
        if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
            if bytes[i + 1] == UInt8(ascii: "\\") {
                out.append(bytes[i]); i += 2; continue
            }
            if i + 3 < bytes.count, isOctal(bytes[i + 1]), isOctal(bytes[i + 2]), isOctal(bytes[i + 3]) {
                let digits = bytes[i + 1...i + 3].map { UInt32($0 - UInt8(ascii: "0")) }
                out.append(UInt8(truncatingIfNeeded: digits[0] << 6 | digits[1] << 3 | digits[2]))
                i += 4; continue
            }
        }
        out.append(bytes[i])
        i += 1
    }
    return out
}

extension PosixACL {
    /// An ACL from getfacl's numeric entry lines (`user::rw-`, `group:40002:r-x`, `mask::rwx`), parsed
    /// here without libacl so that the parity test does not check the library against itself.
    init?(getfaclLines lines: [String]) {
        var entries = [Entry]()
        for line in lines {
            let parts = line.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[2].count == 3 else { return nil }
            let perms = Array(parts[2])
            guard perms[0] == "r" || perms[0] == "-", perms[1] == "w" || perms[1] == "-",
                perms[2] == "x" || perms[2] == "-"
            else { return nil }
            let bits: UInt8 = (perms[0] == "r" ? 4 : 0) | (perms[1] == "w" ? 2 : 0) | (perms[2] == "x" ? 1 : 0)
            let named = !parts[1].isEmpty
            let id = named ? UInt32(parts[1]) : Entry.noQualifier
            guard let id else { return nil }
            switch (parts[0], named) {
            case ("user", false): entries.append(Entry(.userObject, bits))
            case ("user", true): entries.append(Entry(.user, id: id, bits))
            case ("group", false): entries.append(Entry(.groupObject, bits))
            case ("group", true): entries.append(Entry(.group, id: id, bits))
            case ("mask", false): entries.append(Entry(.mask, bits))
            case ("other", false): entries.append(Entry(.other, bits))
            default: return nil
            }
        }
        self.init(entries: entries)
        guard isWellFormed else { return nil }
    }
}
