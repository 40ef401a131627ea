import Foundation

/// A JSON document built in a fixed key order and written as pure ASCII (everything else as `\uXXXX`),
/// so reports are deterministic and safe to print on a terminal.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        a.serialized() == b.serialized()
    }

    public static func string(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }

    /// Serialized with two-space indentation and a final newline.
    public func serialized() -> String {
        var out = ""
        render(into: &out, indent: 0)
        out += "\n"
        return out
    }

    private func render(into out: inout String, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += String(repeating: " ", count: indent + 2)
                item.render(into: &out, indent: indent + 2)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent) + "]"
        case .object(let pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{\n"
            for (i, (key, value)) in pairs.enumerated() {
                out += String(repeating: " ", count: indent + 2)
                JSONValue.writeString(key, to: &out)
                out += ": "
                value.render(into: &out, indent: indent + 2)
                out += i == pairs.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent) + "}"
        }
    }

    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for unit in s.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            default:
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        out += "\""
    }
}

extension JSONValue {
    /// A path as JSON fields: `path` (exact when the name is valid UTF-8), and `path_b64` with the exact
    /// bytes when it is not.
    /// `path` (and `path_b64` when it is not UTF-8); for a path shortened for the report (see
    /// `HostPath.init(reporting:)`), also `path_length`, the length of the path it stands for.
    static func pathFields(_ path: HostPath, key: String = "path") -> [(String, JSONValue)] {
        var fields: [(String, JSONValue)]
        if let s = path.utf8String {
            fields = [(key, .string(s))]
        } else {
            fields = [(key, .string(path.lossyString)), ("\(key)_b64", .string(Data(path.bytes).base64EncodedString()))]
        }
        if let length = path.shortenedFrom { fields.append(("\(key)_length", .int(Int64(length)))) }
        return fields
    }
}
