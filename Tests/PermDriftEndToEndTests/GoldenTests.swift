import Foundation
import PermDriftTestSupport
import Testing

/// The command line's help and the text report, compared with files under Golden/: a change to either
/// shows as a diff and must be made on purpose. To accept a change, regenerate and review the diff:
///
///     PERMDRIFT_UPDATE_GOLDEN=1 swift test --skip-build --filter GoldenTests
///
/// (see `Golden` in PermDriftTestSupport).
struct GoldenTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path

    /// A fixed environment: the C locale, 80 columns (the help wraps to COLUMNS), UTC.
    static let environment = Harness.Environment.only([
        "LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "COLUMNS": "80", "TZ": "UTC"
    ])

    /// The subcommands a help text lists under SUBCOMMANDS: (the first word of each entry).
    static func subcommands(inHelp help: String) -> [String] {
        var names: [String] = []
        var inList = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "SUBCOMMANDS:" { inList = true; continue }
            guard inList else { continue }
            if line.isEmpty { break }
            // An entry starts two spaces in; its description's continuation lines further.
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first else { continue }
            names.append(String(name))
        }
        return names
    }

    /// `permdrift --help` and `--help` of every subcommand it lists, and of theirs, each in its file
    /// (help.txt, help-scan.txt, help-baseline-init.txt …); no golden help file without its command.
    @Test func helpOfEveryCommand() throws {
        var pending: [[String]] = [[]]
        var files: Set<String> = []
        while let command = pending.popLast() {
            let run = try Harness.run(Harness.binary, command + ["--help"], environment: Self.environment)
            #expect(run.status == 0, "permdrift \(command.joined(separator: " ")) --help: \(run.stderr)")
            #expect(run.stderr.isEmpty, "\(run.stderr)")
            let file = (["help"] + command).joined(separator: "-") + ".txt"
            files.insert(file)
            Golden.check(run.stdout, against: Self.directory + "/" + file)
            pending += Self.subcommands(inHelp: run.stdout).reversed().map { command + [$0] }
        }
        #expect(files.count > 10, "\(files.sorted())")
        #expect(files.contains("help-scan.txt") && files.contains("help-baseline-init.txt"), "\(files.sorted())")
        let kept = Set(
            ((try? FileManager.default.contentsOfDirectory(atPath: Self.directory)) ?? [])
                .filter { $0.hasPrefix("help") && $0.hasSuffix(".txt") })
        for stale in kept.subtracting(files).sorted() {
            if Golden.updating {
                try FileManager.default.removeItem(atPath: Self.directory + "/" + stale)
            } else {
                Issue.record("Golden/\(stale) is for a command permdrift no longer has; PERMDRIFT_UPDATE_GOLDEN=1 removes it")
            }
        }
    }

    /// The parts of a text report that differ from run to run or host to host, replaced by names: the
    /// scratch host's temporary directory, the host name, the version, whether the kernel has Landlock
    /// (the head's ", Landlock sandbox on"), times and durations.
    static func normalised(_ report: String, host: ScratchHost) -> String {
        var text = report.replacingOccurrences(of: host.base, with: "<SCRATCH>")
        text = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            if line.hasPrefix("permdrift "), let colon = line.firstIndex(of: ":") {
                return "permdrift <VERSION>" + line[colon...]
            }
            guard line.hasPrefix("baseline ") else { return String(line) }
            let sandbox = ", Landlock sandbox on"
            return (line.hasSuffix(sandbox) ? String(line.dropLast(sandbox.count)) : String(line)) + ", <SANDBOX>"
        }.joined(separator: "\n")
        var name = [CChar](repeating: 0, count: 256)
        if gethostname(&name, name.count) == 0 {
            let hostName = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !hostName.isEmpty { text = text.replacingOccurrences(of: hostName, with: "<HOST>") }
        }
        let patterns = [
            (#"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2}| UTC)?"#, "<TIME>"),
            (#"\b\d+(\.\d+)? ?(ms|µs|s|seconds?)\b"#, "<DURATION>")
        ]
        for (pattern, replacement) in patterns {
            text = text.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return text
    }

    /// The text report of a scan of a scratch host with known drift: a transcript made world-readable,
    /// one given to another agent, one with an ACL entry for an outsider; one kept as the rule says.
    @Test func textReportOfAFixedScan() throws {
        let host = try ScratchHost()
        defer { host.remove() }
        try host.changeMode(ScratchHost.transcript, 0o644)
        try host.changeOwner(ScratchHost.transcript2, uid: ScratchHost.uid("bob"), gid: ScratchHost.uid("bob"))
        try host.make("/home/bob/transcripts/t3.jsonl", mode: 0o600, uid: ScratchHost.uid("bob"), gid: ScratchHost.uid("bob"))
        try host.setfacl("/home/bob/transcripts/t3.jsonl", "u:\(ScratchHost.uid("eve")):r")
        try host.make("/home/bob/transcripts/t4.jsonl", mode: 0o600, uid: ScratchHost.uid("bob"), gid: ScratchHost.uid("bob"))
        let baseline = try host.baseline(ScratchHost.transcriptsRule)
        let run = try Harness.run(
            Harness.binary, ["scan", "--no-config", "--root", host.root, "--baseline", baseline],
            environment: Self.environment)
        #expect(run.status == 1, "drift is exit 1: \(run.stderr)")
        #expect(run.stdout.contains("transcripts-private"), "\(run.stdout)")
        Golden.check(Self.normalised(run.stdout, host: host), against: Self.directory + "/scan-report.txt")
    }
}
