/// Pins: the pin for a path, a pin's finding when the path differs from it or is missing, emitted unless
/// an exception for "pin" silences it.
extension RuleEvaluator {
    /// The index of the pin for this path, if any.
    func pinIndex(for path: UnsafeBufferPointer<UInt8>) -> Int? {
        guard pinLengths.contains(path.count) else { return nil }
        return pinByPath[Array(path)]
    }

    /// Adds a pin's finding unless an exception for "pin" silences it.
    func emitPin(_ finding: Finding, into findings: inout FindingCollector) {
        var silenced = false
        for a in pinExceptions where exceptions[a].pattern.matches(finding.path) {
            findings.silenced[exceptions[a].index] += 1
            silenced = true
        }
        if !silenced { findings.append(finding) }
    }

    /// The pin finding for a pinned path, or nil when it holds.
    func checkPin(_ pin: Pin, record: FileRecord) -> Finding? {
        var expected = [String](), actual = [String]()
        // Widening when any of the differences is (docs/baseline.md, "Widening or narrowing").
        var widening = false
        func differ(_ name: String, _ e: String, _ a: String, widens: Bool) {
            expected.append("\(name) \(e)")
            actual.append("\(name) \(a)")
            widening = widening || widens
        }
        if let type = pin.type, type != record.type { differ("type", type.rawValue, record.type.rawValue, widens: Widening.type) }
        if let owner = pin.owner, owner != record.uid {
            differ("owner", accounts.userDisplay(owner), accounts.userDisplay(record.uid), widens: Widening.owner(actual: record.uid))
        }
        if let group = pin.group, group != record.gid {
            differ("group", accounts.groupDisplay(group), accounts.groupDisplay(record.gid), widens: Widening.group(record))
        }
        if record.type != .symlink {
            if let mode = pin.mode, mode != record.mode {
                differ(
                    "mode", ModeSpec.octal(mode), ModeSpec.octal(record.mode),
                    widens: Widening.mode(expected: .exact(mode), actual: record.mode, isDirectory: record.type == .directory))
            }
            if let acl = pin.acl, !Self.accessACL(record, satisfies: acl) {
                differ(
                    "acl", aclText(acl), record.acl.map(aclText) ?? "none",
                    widens: Widening.acl(expected: acl.exactACL, actual: acl.exactACL == nil ? record.acl : record.effectiveACL))
            }
            if let d = pin.defaultACL, !Self.defaultACL(record, satisfies: d) {
                differ(
                    "default-acl", aclText(d), record.defaultACL.map(aclText) ?? "none",
                    widens: Widening.defaultACL(expected: d.exactACL, actual: record.defaultACL))
            }
        }
        guard !expected.isEmpty else { return nil }
        return Finding(
            rule: "pin", severity: .high, kind: .pin, path: pin.path,
            expected: expected.joined(separator: "; "), actual: actual.joined(separator: "; "), widening: widening)
    }

    func missingPin(_ pin: Pin, why: String) -> Finding {
        Finding(
            rule: "pin", severity: .high, kind: .pinMissing, path: pin.path,
            expected: "exists" + (pin.type.map { " (\($0.rawValue))" } ?? ""), actual: why, widening: Widening.missing)
    }
}
