import ArgumentParser
import Foundation
import PermDriftCore

/// `permdrift baseline …`: approving baselines.
struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Manage baselines: draw, check, compare, accept drift, pin, sign and verify.",
        subcommands: [Init.self, Lint.self, Diff.self, Accept.self, Pin.self, Sign.self, Verify.self]
    )

    /// Reads a file for a baseline command, or exits 2 naming it and the problem.
    static func read(_ path: String, trusted: Bool, command: String) throws -> [UInt8] {
        switch TrustedFile.read(path: path, requireTrustedOwner: trusted) {
        case .success(let bytes): return bytes
        case .failure(let e):
            warn("permdrift baseline \(command): \(e)")
            throw ExitCode(ExitStatus.untrusted)
        }
    }

    /// Loads a baseline's bytes, or prints its errors like a compiler and exits 2.
    static func load(_ bytes: [UInt8], file: String, accounts: AccountDatabase) throws -> Baseline {
        do { return try BaselineLoader(accounts: accounts).load(bytes, file: file) } catch {
            warn(error.description)
            throw ExitCode(ExitStatus.untrusted)
        }
    }

    /// Reads, loads and rewrites a baseline's machine-written section, validating the result before it
    /// replaces the file.
    static func edit(_ file: String, host: RootOptions, change: (inout BaselineEditor, AccountDatabase, Baseline) throws -> String) throws {
        let accounts = try host.accounts()
        let bytes = try read(file, trusted: true, command: "edit")
        let loader = BaselineLoader(accounts: accounts)
        let loaded = try load(bytes, file: file, accounts: accounts)
        var editor: BaselineEditor
        do { editor = try BaselineEditor(bytes, loaded: loaded, accounts: accounts) } catch {
            warn("permdrift baseline: \(error)")
            throw ExitCode(ExitStatus.untrusted)
        }
        let summary = try change(&editor, accounts, loaded)
        let updated = editor.render()
        do { _ = try loader.load(updated, file: file) } catch {
            warn(error.description)
            warn("permdrift baseline: the change would not load; \(TerminalText.escape(file)) is unchanged")
            throw ExitCode(ExitStatus.untrusted)
        }
        do { try AtomicFile.write(updated, to: file, mode: 0o644) } catch {
            warn("permdrift baseline: cannot write \(TerminalText.escape(file)): \(error)")
            throw ExitCode(ExitStatus.untrusted)
        }
        print(summary)
        if FileManager.default.fileExists(atPath: SSHSignature.signaturePath(for: file)) {
            print("\(TerminalText.escape(SSHSignature.signaturePath(for: file))) no longer matches: review the change, then re-sign with `permdrift baseline sign \(TerminalText.escape(file)) --key KEY`")
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a starting baseline from a host in a known-good state: a few readable rules per scan root.")

        @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("The scan roots (absolute host paths).", valueName: "path"))
        var roots: [String]

        @Option(name: .long, help: ArgumentHelp("The baseline's name.", valueName: "name"))
        var name = "initial"

        @Option(name: .long, help: ArgumentHelp("Write it here (refusing to overwrite) instead of to standard output.", valueName: "file"))
        var output: String?

        @OptionGroup var host: RootOptions

        func validate() throws {
            guard !roots.isEmpty else { throw ValidationError("--roots needs at least one path") }
            for r in roots where !r.hasPrefix("/") || r.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) {
                throw ValidationError("--roots \(r): give an absolute path without . or ..")
            }
        }

        func run() throws {
            let accounts = try host.accounts()
            let rootDirectory = try host.rootDirectory()
            let draft: BaselineDraft
            do {
                draft = try BaselineDraft(name: name, roots: roots.map(HostPath.init), rootDirectory: rootDirectory, accounts: accounts)
            } catch {
                warn("permdrift baseline init: \(error)")
                throw ExitCode(ExitStatus.untrusted)
            }
            // The draft must itself load.
            do { _ = try BaselineLoader(accounts: accounts).load(Array(draft.text.utf8), file: output ?? "draft") } catch {
                warn(error.description)
                warn("permdrift baseline init: the draft does not load; this is a bug")
                throw ExitCode(ExitStatus.untrusted)
            }
            for e in draft.errors { warn("permdrift baseline init: \(e)") }
            if let output {
                guard !FileManager.default.fileExists(atPath: output) else {
                    warn("permdrift baseline init: \(TerminalText.escape(output)) exists; refusing to overwrite it")
                    throw ExitCode(ExitStatus.usage)
                }
                do { try AtomicFile.write(draft.text, to: output, mode: 0o644) } catch {
                    warn("permdrift baseline init: cannot write \(TerminalText.escape(output)): \(error)")
                    throw ExitCode(ExitStatus.untrusted)
                }
            } else {
                print(draft.text, terminator: "")
            }
            if !draft.errors.isEmpty { throw ExitCode(ExitStatus.untrusted) }
        }
    }

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a baseline: every error the loader finds, and warnings for rules and exceptions that match nothing on the tree, exceptions without expires, and rules that can never hold together.",
            discussion: "Exit codes: 0 clean, 1 warnings, 2 errors (or a tree that could not be read completely).")

        @Argument(help: ArgumentHelp("The baseline to check.", valueName: "file"))
        var file: String

        @OptionGroup var host: RootOptions

        func run() throws {
            let accounts = try host.accounts()
            let rootDirectory = try host.rootDirectory()
            let baseline = try BaselineCommand.load(try BaselineCommand.read(file, trusted: false, command: "lint"), file: file, accounts: accounts)
            let lint = LintCollector(baseline: baseline)
            var scanner = Scanner(baseline: baseline, accounts: accounts, rootDirectory: rootDirectory)
            scanner.lint = lint
            let result: ScanResult
            do { result = try scanner.run() } catch {
                warn("permdrift baseline lint: cannot walk the tree: \(error)")
                throw ExitCode(ExitStatus.untrusted)
            }
            let warnings = lint.warnings(file: file)
            for w in warnings { print(w) }
            if !result.isComplete {
                for e in result.errors { warn("permdrift baseline lint: \(e)") }
                warn("permdrift baseline lint: the tree could not be read completely; warnings about matching nothing may be wrong")
                throw ExitCode(ExitStatus.untrusted)
            }
            print("\(TerminalText.escape(file)): \(warnings.isEmpty ? "no problems" : "\(warnings.count) warning\(warnings.count == 1 ? "" : "s")") (\(result.entries) entries walked)")
            throw ExitCode(warnings.isEmpty ? ExitStatus.clean : ExitStatus.drift)
        }
    }

    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what changed in meaning between two baselines: rules, scan settings, pins, exceptions.")

        @Argument(help: ArgumentHelp("The baseline before.", valueName: "old"))
        var old: String

        @Argument(help: ArgumentHelp("The baseline after.", valueName: "new"))
        var new: String

        @OptionGroup var host: RootOptions

        @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
        var format: Explain.ExplainFormat = .text

        func run() throws {
            let accounts = try host.accounts()
            let loaded = try [old, new].map { file in
                try BaselineCommand.load(try BaselineCommand.read(file, trusted: false, command: "diff"), file: file, accounts: accounts)
            }
            let diff = BaselineDiff(old: loaded[0], new: loaded[1], accounts: accounts, today: Scanner.utcDay(Date()))
            print(format == .json ? diff.json : diff.text, terminator: "")
        }
    }

    struct Accept: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept a drift: add an exception (who approved it, why, until when) to the baseline's machine-written section.")

        @Option(name: .long, help: ArgumentHelp("The baseline to change.", valueName: "file"))
        var baseline: String

        @Option(name: .long, help: ArgumentHelp("The rule whose findings are accepted (or pin).", valueName: "id"))
        var rule: String

        @Option(name: .long, help: ArgumentHelp("The path or pattern the exception covers.", valueName: "path"))
        var path: String

        @Option(name: .long, help: ArgumentHelp("Why the drift is accepted.", valueName: "text"))
        var reason: String

        @Option(name: .customLong("by"), help: ArgumentHelp("Who approved it.", valueName: "name"))
        var approvedBy: String

        @Option(name: .long, help: ArgumentHelp("The last day it holds (YYYY-MM-DD, UTC).", valueName: "date"))
        var expires: String?

        @OptionGroup var host: RootOptions

        func validate() throws {
            for (name, value) in [("--reason", reason), ("--by", approvedBy)] where value.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ValidationError("\(name) must not be empty")
            }
        }

        func run() throws {
            try BaselineCommand.edit(baseline, host: host) { editor, _, _ in
                editor.accepted.append(.init(rule: rule, path: path, approvedBy: approvedBy, reason: reason, expires: expires))
                return "accepted findings of \(TerminalText.escape(rule)) on \(TerminalText.escape(path)), approved by \(TerminalText.escape(approvedBy))\(expires.map { " until \($0)" } ?? " with no expiry (lint warns about that)")"
            }
        }
    }

    struct Pin: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record the present state of paths as pins in the baseline's machine-written section.")

        @Argument(help: ArgumentHelp("Paths to pin, as they stand on the host.", valueName: "path"))
        var paths: [String]

        @Option(name: .long, help: ArgumentHelp("The baseline to change.", valueName: "file"))
        var baseline: String

        @OptionGroup var host: RootOptions

        func run() throws {
            let rootDirectory = try host.rootDirectory()
            try BaselineCommand.edit(baseline, host: host) { editor, accounts, _ in
                let walker = Walker(rootDirectory: rootDirectory)
                for path in paths {
                    guard path.hasPrefix("/") else { warn("permdrift baseline pin: \(path): give an absolute path"); throw ExitCode(ExitStatus.usage) }
                    switch walker.lookUp(HostPath(path)) {
                    case .found(let record):
                        let pin = BaselineEditor.pin(for: HostPath(path), record: record, accounts: accounts)
                        editor.pinned.removeAll { $0.path == pin.path }
                        editor.pinned.append(pin)
                    case .missing(let why):
                        warn("permdrift baseline pin: \(TerminalText.escape(why))"); throw ExitCode(ExitStatus.untrusted)
                    case .failed(let error):
                        warn("permdrift baseline pin: cannot read \(error)"); throw ExitCode(ExitStatus.untrusted)
                    }
                }
                return "pinned \(paths.map(TerminalText.escape).joined(separator: ", "))"
            }
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a baseline with an SSH key (ssh-keygen -Y sign, namespace permdrift-baseline), writing FILE.sig.")

        @Argument(help: ArgumentHelp("The baseline to sign.", valueName: "file"))
        var file: String

        @Option(name: .long, help: ArgumentHelp("The private key (or its public half, with the key in ssh-agent).", valueName: "key"))
        var key: String

        func run() throws {
            let bytes = try BaselineCommand.read(file, trusted: false, command: "sign")
            do {
                let signature = try SSHSignature.sign(bytes, key: key)
                try AtomicFile.write(signature, to: SSHSignature.signaturePath(for: file), mode: 0o644)
            } catch {
                warn("permdrift baseline sign: \(error)")
                throw ExitCode(ExitStatus.untrusted)
            }
            print("signed \(TerminalText.escape(file)): \(TerminalText.escape(SSHSignature.signaturePath(for: file)))")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a baseline's FILE.sig against an OpenSSH allowed_signers file and print who approved it.")

        @Argument(help: ArgumentHelp("The baseline to verify.", valueName: "file"))
        var file: String

        @Option(name: .long, help: ArgumentHelp("OpenSSH allowed_signers file.", valueName: "allowed-signers"))
        var signers: String

        func run() throws {
            switch ApprovedBaseline.read(file, signers: signers) {
            case .success(let approved):
                print("\(TerminalText.escape(file)): approved by \(TerminalText.escape(approved.signer.description))")
            case .failure(let why):
                warn("permdrift baseline verify: \(TerminalText.escape(file)) rejected: \(why)")
                throw ExitCode(ExitStatus.untrusted)
            }
        }
    }
}
