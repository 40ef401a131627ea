import Foundation

/// The `permdrift baseline` tools that read baselines without changing one: drawing a starting baseline
/// (`draft`), checking one against the tree (`lint`), comparing two (`diff`), signing (`sign`) and
/// verifying (`verify`). Changes to a baseline are `BaselineEdit`'s. Each tool says on the console what
/// went wrong, writes its result as the report, and returns the exit status (`ExitStatus`).
public struct BaselineTools {
    /// The host whose accounts resolve names (and whose tree `draft` and `lint` read).
    public var host: HostRoot
    public let console: RunConsole

    public init(host: HostRoot, console: RunConsole = .standard) {
        self.host = host
        self.console = console
    }

    /// Reads a file for the baseline command `command`. `trusted`: it must be a trusted file (owned by
    /// root or the caller, on a path nobody else can change). One that cannot be used ends the command
    /// (exit 2), naming it and the problem.
    public func contents(of path: String, trusted: Bool, command: String) throws(RunExit) -> [UInt8] {
        switch TrustedFile.read(path: path, requireTrustedOwner: trusted) {
        case .success(let bytes): return bytes
        case .failure(let e):
            console.error("permdrift baseline \(command): \(e)")
            throw RunExit(ExitStatus.untrusted)
        }
    }

    /// Loads a baseline's bytes; one that does not load ends the command (exit 2), its errors printed
    /// like a compiler's.
    public func load(_ bytes: [UInt8], file: String, accounts: AccountDatabase) throws(RunExit) -> Baseline {
        do { return try BaselineLoader(accounts: accounts).load(bytes, file: file) } catch {
            console.error(error.description)
            throw RunExit(ExitStatus.untrusted)
        }
    }

    /// What is wrong with `baseline init`'s scan roots, if anything: there must be one, and each must be
    /// absolute, without `.` or `..`.
    public static func rootsProblem(_ roots: [String]) -> String? {
        guard !roots.isEmpty else { return "--roots needs at least one path" }
        for r in roots where !r.hasPrefix("/") || r.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) {
            return "--roots \(r): give an absolute path without . or .."
        }
        return nil
    }

    /// `baseline init`: a starting baseline named `name` for `roots` from the host as it is, written to
    /// `output` (never over an existing file: exit 64) or as the report. Exit 2 when some of the tree could
    /// not be read (the draft is written all the same, and the problems said).
    public func draft(name: String, roots: [String], output: String?) -> Int32 {
        do { return try makeDraft(name: name, roots: roots, output: output) } catch { return error.status }
    }

    private func makeDraft(name: String, roots: [String], output: String?) throws(RunExit) -> Int32 {
        let accounts = try host.accounts(console: console)
        let rootDirectory = try host.directory(console: console)
        let draft: BaselineDraft
        do {
            draft = try BaselineDraft(name: name, roots: roots.map(HostPath.init), rootDirectory: rootDirectory, accounts: accounts)
        } catch {
            console.error("permdrift baseline init: \(error)")
            throw RunExit(ExitStatus.untrusted)
        }
        // The draft must itself load.
        do { _ = try BaselineLoader(accounts: accounts).load(Array(draft.text.utf8), file: output ?? "draft") } catch {
            console.error(error.description)
            console.error("permdrift baseline init: the draft does not load; this is a bug")
            throw RunExit(ExitStatus.untrusted)
        }
        for e in draft.errors { console.error("permdrift baseline init: \(e)") }
        if let output {
            guard !HostFiles.exists(output) else {
                console.error("permdrift baseline init: \(TerminalText.escape(output)) exists; refusing to overwrite it")
                throw RunExit(ExitStatus.usage)
            }
            do { try AtomicFile.write(draft.text, to: output, mode: 0o644) } catch {
                console.error("permdrift baseline init: cannot write \(TerminalText.escape(output)): \(error)")
                throw RunExit(ExitStatus.untrusted)
            }
        } else {
            console.report(draft.text)
        }
        return draft.errors.isEmpty ? ExitStatus.clean : ExitStatus.untrusted
    }

    /// `baseline lint`: every error the loader finds, and warnings for what matches nothing on the tree.
    /// Exit 0 clean, 1 warnings, 2 errors or a tree that could not be read completely.
    public func lint(_ file: String) -> Int32 {
        do { return try check(file) } catch { return error.status }
    }

    private func check(_ file: String) throws(RunExit) -> Int32 {
        let accounts = try host.accounts(console: console)
        let rootDirectory = try host.directory(console: console)
        let baseline = try load(try contents(of: file, trusted: false, command: "lint"), file: file, accounts: accounts)
        let lint = LintCollector(baseline: baseline)
        var scanner = Scanner(baseline: baseline, accounts: accounts, rootDirectory: rootDirectory)
        scanner.lint = lint
        let result: ScanResult
        do { result = try scanner.run() } catch {
            console.error("permdrift baseline lint: cannot walk the tree: \(error)")
            throw RunExit(ExitStatus.untrusted)
        }
        let warnings = lint.warnings(file: file)
        for w in warnings { console.report(w + "\n") }
        if !result.isComplete {
            for e in result.errors { console.error("permdrift baseline lint: \(e)") }
            console.error("permdrift baseline lint: the tree could not be read completely; warnings about matching nothing may be wrong")
            throw RunExit(ExitStatus.untrusted)
        }
        let summary = warnings.isEmpty ? "no problems" : "\(warnings.count) warning\(warnings.count == 1 ? "" : "s")"
        console.report("\(TerminalText.escape(file)): \(summary) (\(result.entries) entries walked)\n")
        return warnings.isEmpty ? ExitStatus.clean : ExitStatus.drift
    }

    /// `baseline diff`: what changed in meaning from `old` to `new`, as text or JSON. Exit 0, or 2 when
    /// one cannot be read or loaded.
    public func diff(old: String, new: String, json: Bool) -> Int32 {
        do {
            let accounts = try host.accounts(console: console)
            var loaded = [Baseline]()
            for file in [old, new] {
                loaded.append(try load(try contents(of: file, trusted: false, command: "diff"), file: file, accounts: accounts))
            }
            let diff = BaselineDiff(old: loaded[0], new: loaded[1], accounts: accounts, today: Scanner.utcDay(Date()))
            console.report(json ? diff.json : diff.text)
            return ExitStatus.clean
        } catch {
            return error.status
        }
    }

    /// `baseline sign`: signs `file` with `key` (ssh-keygen -Y sign), writing `FILE.sig`. Exit 0, or 2.
    public func sign(_ file: String, key: String) -> Int32 {
        do throws(RunExit) {
            let bytes = try contents(of: file, trusted: false, command: "sign")
            do {
                let signature = try SSHSignature.sign(bytes, key: key)
                try AtomicFile.write(signature, to: SSHSignature.signaturePath(for: file), mode: 0o644)
            } catch {
                console.error("permdrift baseline sign: \(error)")
                throw RunExit(ExitStatus.untrusted)
            }
            console.report("signed \(TerminalText.escape(file)): \(TerminalText.escape(SSHSignature.signaturePath(for: file)))\n")
            return ExitStatus.clean
        } catch {
            return error.status
        }
    }

    /// `baseline verify`: checks `FILE.sig` against the allowed signers and says who approved the
    /// baseline. Exit 0, or 2 when it is rejected (and why).
    public func verify(_ file: String, signers: String) -> Int32 {
        switch ApprovedBaseline.read(file, signers: signers) {
        case .success(let approved):
            console.report("\(TerminalText.escape(file)): approved by \(TerminalText.escape(approved.signer.description))\n")
            return ExitStatus.clean
        case .failure(let why):
            console.error("permdrift baseline verify: \(TerminalText.escape(file)) rejected: \(why)")
            return ExitStatus.untrusted
        }
    }
}
