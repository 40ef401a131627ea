/// Who can read, write and execute one path, and why: `permdrift explain`.
public struct Explanation: Sendable {
    public struct Holder: Sendable, Equatable {
        /// `user:NAME`, or `uid:N` for an id without an account.
        public let principal: String
        public let uid: UInt32
        /// The entries that grant the right at each step.
        public let via: [AccessStep]
    }

    public let path: HostPath
    public let record: FileRecord
    /// For each right, every user but root who has it, in uid order.
    public let rights: [(right: AccessRight, holders: [Holder])]

    /// Explains `path` under `rootDirectory`, with names and group memberships from `accounts`.
    public static func explain(
        _ path: HostPath, rootDirectory: String,
        accounts: AccountDatabase
    ) -> Result<Explanation, Walker.ChainFailure> {
        let walker = Walker(rootDirectory: rootDirectory)
        let chain: [(path: HostPath, record: FileRecord)]
        switch walker.lookUpChain(path) {
        case .success(let c): chain = c
        case .failure(let f): return .failure(f)
        }
        let evaluator = AccessEvaluator(accounts: accounts)
        var parent: AccessContext?
        for step in chain.dropLast() {
            parent = evaluator.context(parent: parent, pathLength: step.path.bytes.count, record: step.record)
        }
        let target = chain.last!
        var rights = [(right: AccessRight, holders: [Holder])]()
        for right in AccessRight.allCases {
            let holders = evaluator.holders(right, record: target.record, parent: parent)
                .subtracting(evaluator.index.root)
                .intersection(evaluator.reportable(parent: parent, record: target.record))
            let list = holders.members(upTo: evaluator.index.count).map { i -> Holder in
                let uid = evaluator.index.uid(at: i)
                return Holder(
                    principal: accounts.userLabel(uid), uid: uid,
                    via: target.path.bytes.withUnsafeBufferPointer {
                        evaluator.via(uid: uid, right: right, path: $0, record: target.record, parent: parent)
                    })
            }.sorted { $0.uid < $1.uid }
            rights.append((right, list))
        }
        return .success(Explanation(path: target.path, record: target.record, rights: rights))
    }

    /// `{"path": …, "rights": {"read": [{"principal": …, "via": […]}], "write": […], "execute": […]}}`.
    public var json: String {
        var rightsFields = [(String, JSONValue)]()
        for (right, holders) in rights {
            rightsFields.append(
                (
                    right.rawValue,
                    .array(
                        holders.map { h in
                            .object([("principal", .string(h.principal)), ("via", .array(h.via.map { .string($0.plainText) }))])
                        })
                ))
        }
        return JSONValue.object(JSONValue.pathFields(path) + [("rights", .object(rightsFields))]).serialized()
    }

    public var text: String {
        var out = "\(path): \(record.type.rawValue), mode \(ModeSpec.octal(record.mode))\n"
        out += "root (uid 0) can do anything and is not listed.\n"
        for (right, holders) in rights {
            out += "\n\(right.rawValue): \(holders.isEmpty ? "nobody else" : "\(holders.count) user\(holders.count == 1 ? "" : "s")")\n"
            for h in holders {
                out += "  \(TerminalText.escape(h.principal))\n"
                for step in h.via { out += "    \(step.terminalText)\n" }
            }
        }
        return out
    }
}
