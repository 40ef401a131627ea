import ArgumentParser
import PermDriftCore

/// `permdrift baseline …`: approving baselines.
struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Manage baselines: draw, check, compare, accept drift, pin, sign and verify.",
        subcommands: [Init.self, Lint.self, Diff.self, Accept.self, Pin.self, Sign.self, Verify.self]
    )

    /// The library's baseline tools for the host the flags name.
    static func tools(_ host: RootOptions) -> BaselineTools { BaselineTools(host: host.hostRoot) }

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
            if let problem = BaselineTools.rootsProblem(roots) { throw ValidationError(problem) }
        }

        func run() throws {
            throw ExitCode(BaselineCommand.tools(host).draft(name: name, roots: roots, output: output))
        }
    }

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check a baseline: every error the loader finds, and warnings for rules and exceptions that match nothing on the tree, exceptions without expires, and rules that can never hold together.",
            discussion: "Exit codes: 0 clean, 1 warnings, 2 errors (or a tree that could not be read completely).")

        @Argument(help: ArgumentHelp("The baseline to check.", valueName: "file"))
        var file: String

        @OptionGroup var host: RootOptions

        func run() throws {
            throw ExitCode(BaselineCommand.tools(host).lint(file))
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
            throw ExitCode(BaselineCommand.tools(host).diff(old: old, new: new, json: format == .json))
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
            if let problem = BaselineEdit.acceptanceProblem(reason: reason, approvedBy: approvedBy) { throw ValidationError(problem) }
        }

        func run() throws {
            let exception = BaselineEditor.AcceptedException(
                rule: rule, path: path, approvedBy: approvedBy, reason: reason, expires: expires)
            throw ExitCode(BaselineEdit(file: baseline, host: host.hostRoot).accept(exception))
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
            throw ExitCode(BaselineEdit(file: baseline, host: host.hostRoot).pin(paths))
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
            throw ExitCode(BaselineTools(host: HostRoot(root: nil)).sign(file, key: key))
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
            throw ExitCode(BaselineTools(host: HostRoot(root: nil)).verify(file, signers: signers))
        }
    }
}
