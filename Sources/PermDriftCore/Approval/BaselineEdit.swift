import Foundation

/// A change to a baseline's machine-written section: an accepted drift (`baseline accept`) or pins of
/// paths as they stand (`baseline pin`). The baseline must be a trusted file that loads; the changed
/// baseline must load too, or the file is left as it was; it is replaced atomically. A signature it had
/// no longer matches, and the summary says so. Each change returns the exit status (`ExitStatus`):
/// 0 done, 2 refused (said on the console), 64 a path that is not absolute.
public struct BaselineEdit {
    /// The baseline to change.
    public let file: String
    /// The host whose accounts resolve names (and whose tree `pin` reads).
    public var host: HostRoot
    public let console: RunConsole

    public init(file: String, host: HostRoot, console: RunConsole = .standard) {
        self.file = file
        self.host = host
        self.console = console
    }

    /// What is wrong with an acceptance's reason and approver, if anything: neither may be empty.
    public static func acceptanceProblem(reason: String, approvedBy: String) -> String? {
        for (name, value) in [("--reason", reason), ("--by", approvedBy)] where value.trimmingCharacters(in: .whitespaces).isEmpty {
            return "\(name) must not be empty"
        }
        return nil
    }

    /// `baseline accept`: adds the exception.
    public func accept(_ exception: BaselineEditor.AcceptedException) -> Int32 {
        apply { editor, _, _ in
            editor.accepted.append(exception)
            let until = exception.expires.map { " until \($0)" } ?? " with no expiry (lint warns about that)"
            return
                "accepted findings of \(TerminalText.escape(exception.rule)) on \(TerminalText.escape(exception.path)), approved by \(TerminalText.escape(exception.approvedBy))\(until)"
        }
    }

    /// `baseline pin`: records `paths` (absolute host paths) as they stand, replacing earlier pins of them.
    public func pin(_ paths: [String]) -> Int32 {
        let rootDirectory: String
        do { rootDirectory = try host.directory(console: console) } catch { return error.status }
        return apply { editor, accounts, _ throws(RunExit) in
            let walker = Walker(rootDirectory: rootDirectory)
            for path in paths {
                guard path.hasPrefix("/") else {
                    console.error("permdrift baseline pin: \(path): give an absolute path")
                    throw RunExit(ExitStatus.usage)
                }
                switch walker.lookUp(HostPath(path)) {
                case .found(let record):
                    let pin = BaselineEditor.pin(for: HostPath(path), record: record, accounts: accounts)
                    editor.pinned.removeAll { $0.path == pin.path }
                    editor.pinned.append(pin)
                case .missing(let why):
                    console.error("permdrift baseline pin: \(TerminalText.escape(why))")
                    throw RunExit(ExitStatus.untrusted)
                case .failed(let error):
                    console.error("permdrift baseline pin: cannot read \(error)")
                    throw RunExit(ExitStatus.untrusted)
                }
            }
            return "pinned \(paths.map(TerminalText.escape).joined(separator: ", "))"
        }
    }

    /// Reads, loads and rewrites the machine-written section with `change` (which returns the summary),
    /// validating the result before it replaces the file.
    func apply(_ change: (inout BaselineEditor, AccountDatabase, Baseline) throws(RunExit) -> String) -> Int32 {
        do { try rewrite(change) } catch { return error.status }
        return ExitStatus.clean
    }

    private func rewrite(_ change: (inout BaselineEditor, AccountDatabase, Baseline) throws(RunExit) -> String) throws(RunExit) {
        let tools = BaselineTools(host: host, console: console)
        let accounts = try host.accounts(console: console)
        let bytes = try tools.contents(of: file, trusted: true, command: "edit")
        let loader = BaselineLoader(accounts: accounts)
        let loaded = try tools.load(bytes, file: file, accounts: accounts)
        var editor: BaselineEditor
        do { editor = try BaselineEditor(bytes, loaded: loaded, accounts: accounts) } catch {
            console.error("permdrift baseline: \(error)")
            throw RunExit(ExitStatus.untrusted)
        }
        let summary = try change(&editor, accounts, loaded)
        let updated = editor.render()
        do { _ = try loader.load(updated, file: file) } catch {
            console.error(error.description)
            console.error("permdrift baseline: the change would not load; \(TerminalText.escape(file)) is unchanged")
            throw RunExit(ExitStatus.untrusted)
        }
        do { try AtomicFile.write(updated, to: file, mode: 0o644) } catch {
            console.error("permdrift baseline: cannot write \(TerminalText.escape(file)): \(error)")
            throw RunExit(ExitStatus.untrusted)
        }
        console.report(summary + "\n")
        let signature = SSHSignature.signaturePath(for: file)
        if HostFiles.exists(signature) {
            console.report(
                "\(TerminalText.escape(signature)) no longer matches: review the change, then re-sign with `permdrift baseline sign \(TerminalText.escape(file)) --key KEY`\n"
            )
        }
    }
}
