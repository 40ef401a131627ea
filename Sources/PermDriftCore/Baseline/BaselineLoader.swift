import Crypto
import Foundation
import Yams

/// Reads a baseline's YAML into a `Baseline`, checking everything docs/baseline.md lists: unknown and duplicate
/// keys, unquoted modes, bad patterns, relative scan roots, unknown principals, captures the pattern lacks,
/// duplicate or reserved rule ids, bad severities, versions other than 1. Names resolve in `accounts`.
public struct BaselineLoader {
    public let accounts: AccountDatabase
    /// Rule ids the tool itself uses for findings.
    public static let reservedRuleIDs: Set<String> = ["pin", "baseline"]

    public init(accounts: AccountDatabase) { self.accounts = accounts }

    /// Loads a baseline from its bytes. `file` names it in messages.
    public func load(_ bytes: [UInt8], file: String, isBuiltIn: Bool = false) throws(BaselineLoadError) -> Baseline {
        let origin = BaselineOrigin(
            source: isBuiltIn ? "built-in" : file, sha256: Self.sha256Hex(bytes),
            isBuiltIn: isBuiltIn, signer: nil)
        let context = LoadContext(file: file, accounts: accounts)
        let root = try Self.document(bytes, context: context, what: "baseline")
        let baseline = context.baseline(root, origin: origin)
        if !context.diagnostics.isEmpty {
            throw BaselineLoadError(diagnostics: context.diagnostics.sorted { ($0.line, $0.column) < ($1.line, $1.column) })
        }
        return baseline!
    }

    /// The SHA-256 of bytes, lowercase hex.
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Parses YAML bytes into one document, with every problem as a `FILE:LINE:COLUMN` diagnostic.
    static func document(_ bytes: [UInt8], context: LoadContext, what: String) throws(BaselineLoadError) -> Node {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw BaselineLoadError(diagnostics: [context.diagnostic(line: 1, column: 1, "the \(what) is not valid UTF-8")])
        }
        do {
            let parser = try Parser(yaml: text)
            guard let document = try parser.nextRoot() else {
                throw BaselineLoadError(diagnostics: [context.diagnostic(line: 1, column: 1, "the \(what) is empty")])
            }
            if let extra = try parser.nextRoot() {
                throw BaselineLoadError(diagnostics: [
                    context.diagnostic(
                        line: extra.mark?.line ?? 1, column: extra.mark?.column ?? 1,
                        "the \(what) holds more than one YAML document")
                ])
            }
            return document
        } catch let error as BaselineLoadError {
            throw error
        } catch let error as YamlError {
            throw BaselineLoadError(diagnostics: [context.diagnostic(yaml: error, text: text)])
        } catch {
            throw BaselineLoadError(diagnostics: [context.diagnostic(line: 1, column: 1, "cannot parse the \(what): \(error)")])
        }
    }
}

/// The state of one load: the diagnostics so far and what has been defined.
final class LoadContext {
    let file: String
    let accounts: AccountDatabase
    var diagnostics: [BaselineDiagnostic] = []
    var aliases: [String: [PrincipalSpec]] = [:]
    var aliasIsGroups: [String: [UInt32]] = [:]

    init(file: String, accounts: AccountDatabase) {
        self.file = file
        self.accounts = accounts
    }

    func diagnostic(line: Int, column: Int, _ message: String) -> BaselineDiagnostic {
        BaselineDiagnostic(file: file, line: line, column: column, message: message)
    }

    func error(_ node: Node, _ message: String) {
        diagnostics.append(diagnostic(line: node.mark?.line ?? 1, column: node.mark?.column ?? 1, message))
    }

    /// libyaml's errors carry a position; a duplicate key is reported at its second occurrence.
    func diagnostic(yaml error: YamlError, text: String) -> BaselineDiagnostic {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            // The usual cause: a pattern with a capture inside a flow list, where YAML reads `{` as a mapping.
            let hint =
                (context?.text.contains("flow") ?? false)
                ? "; inside [ ] or { }, quote values that contain braces, brackets or commas, e.g. \"/home/{agent}/**\""
                : ""
            return diagnostic(line: mark.line, column: mark.column, "invalid YAML: \(problem)\(detail)\(hint)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? "?"
            let (line, column) =
                Self.secondOccurrence(of: key, after: context.mark, in: text)
                ?? (context.mark.line, context.mark.column)
            return diagnostic(
                line: line, column: column,
                "duplicate key '\(key)' (first at line \(context.mark.line)); each key may appear once")
        case .reader(let problem, let offset, _, _):
            let (line, column) = Self.position(ofUTF8Offset: offset ?? 0, in: text)
            return diagnostic(line: line, column: column, "cannot read the baseline: \(problem)")
        default:
            return diagnostic(line: 1, column: 1, "invalid YAML: \(error)")
        }
    }

    /// Yams reports a duplicate key at its first occurrence; find the next one, at the same column in a
    /// block mapping or later on the same line in a flow mapping.
    static func secondOccurrence(of key: String, after mark: Mark, in text: String) -> (Int, Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Yams's marks are 1-based; anything else (a fuzzer found column 0 with an empty key) has no
        // second occurrence to point at.
        guard mark.line >= 1, mark.line <= lines.count, mark.column >= 1 else { return nil }
        let candidates = [key, "\"\(key)\"", "'\(key)'"]
        func keyAt(_ line: String, _ column: Int) -> Bool {
            let scalars = Array(line.unicodeScalars)
            guard column >= 1, column - 1 < scalars.count else { return false }
            let rest = String(String.UnicodeScalarView(scalars[(column - 1)...]))
            return candidates.contains { c in
                rest.hasPrefix(c) && rest.dropFirst(c.count).drop(while: { $0 == " " }).hasPrefix(":")
            }
        }
        // The same flow mapping, later on the first key's line.
        let first = Array(lines[mark.line - 1].unicodeScalars)
        var col = max(2, mark.column + key.unicodeScalars.count)
        while col <= first.count {
            let prev = first[col - 2]
            if prev == " " || prev == "," || prev == "{", keyAt(lines[mark.line - 1], col) { return (mark.line, col) }
            col += 1
        }
        for index in mark.line..<lines.count {
            let line = lines[index]
            if keyAt(line, mark.column) {
                let before = line.unicodeScalars.prefix(mark.column - 1)
                if before.allSatisfy({ $0 == " " || $0 == "-" }) { return (index + 1, mark.column) }
            }
        }
        return nil
    }

    static func position(ofUTF8Offset offset: Int, in text: String) -> (Int, Int) {
        var line = 1, column = 1
        for (i, b) in text.utf8.enumerated() {
            if i >= offset { break }
            if b == UInt8(ascii: "\n") { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        return (line, column)
    }

    // MARK: - Node helpers

    func mapping(_ node: Node, _ what: String) -> [(Node, Node)]? {
        if case .mapping(let m) = node { return Array(m) }
        error(node, "\(what) must be a mapping (key: value)")
        return nil
    }

    func sequence(_ node: Node, _ what: String) -> [Node]? {
        if case .sequence(let s) = node { return Array(s) }
        error(node, "\(what) must be a list")
        return nil
    }

    /// A scalar's text; lists and mappings are an error.
    func scalar(_ node: Node, _ what: String) -> String? {
        if case .scalar(let s) = node { return s.string }
        error(node, "\(what) must be a single value, not a list or mapping")
        return nil
    }

    /// A scalar or a list of scalars.
    func scalars(_ node: Node, _ what: String) -> [(Node, String)]? {
        switch node {
        case .scalar(let s): return [(node, s.string)]
        case .sequence(let items):
            var out = [(Node, String)]()
            for item in items { if let s = scalar(item, what) { out.append((item, s)) } }
            return out
        default:
            error(node, "\(what) must be a value or a list of values")
            return nil
        }
    }

    func isQuoted(_ node: Node) -> Bool {
        if case .scalar(let s) = node { return s.style == .singleQuoted || s.style == .doubleQuoted }
        return false
    }

    func keyName(_ key: Node) -> String? {
        if case .scalar(let s) = key { return s.string }
        error(key, "keys must be plain names")
        return nil
    }

    /// Checks keys against the allowed set; returns the pairs by key name.
    func fields(_ pairs: [(Node, Node)], allowed: [String], in what: String) -> [String: (key: Node, value: Node)] {
        var out = [String: (key: Node, value: Node)]()
        for (k, v) in pairs {
            guard let name = keyName(k) else { continue }
            guard allowed.contains(name) else {
                let suggestion =
                    allowed.min { Self.distance($0, name) < Self.distance($1, name) }
                    .flatMap { Self.distance($0, name) <= 2 ? " (did you mean '\($0)'?)" : nil } ?? ""
                error(k, "unknown key '\(name)' in \(what)\(suggestion); allowed: \(allowed.joined(separator: ", "))")
                continue
            }
            out[name] = (k, v)
        }
        return out
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var prev = row[0]; row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let cur = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return row[b.count]
    }

    func line(_ node: Node) -> Int { node.mark?.line ?? 1 }
}
