import Foundation

extension FixRun {
    /// Makes the plan's changes with a journal, says what happened to each path, then scans again.
    func apply(_ plan: RepairPlan, baseline: Baseline, accounts: AccountDatabase, root: RootDirectory, journals: StateDirectory)
        throws(RunExit) -> Int32
    {
        let (run, journal) = try FixJournal.create(in: journals, console: console)
        var start = JournalEntry(event: .start)
        start.run = run
        start.root = CurrentProcess.absolutePath(root.path)
        start.started = ISO8601DateFormatter().string(from: Date())
        start.version = ScanResult.toolVersion
        let outcomes: [RepairApplier.PathOutcome]
        do {
            try journal.append(start)
            let applier = RepairApplier(root: root.descriptor, scanRoots: baseline.roots, journal: journal)
            outcomes = try applier.apply(plan)
        } catch {
            console.error(
                "permdrift fix: the journal cannot be written (\(error)); fix stopped before its next change. What was changed is in \(TerminalText.escape(journal.path))"
            )
            throw RunExit(ExitStatus.untrusted)
        }
        let names = RepairPlan.Names(user: { accounts.userName($0) }, group: { accounts.groupName($0) })
        var lines = [""]
        for o in outcomes {
            let what = o.changes.map { RepairPlan.describe($0, names) }.joined(separator: "; ")
            switch o.outcome {
            case .applied: lines.append("changed \(o.path): \(what)")
            case .skipped(let why): lines.append("SKIPPED \(o.path): \(why)")
            case .failed(let why): lines.append("FAILED  \(o.path): \(why)")
            }
        }
        let changed = outcomes.filter { $0.outcome == .applied }.count
        lines.append("")
        lines.append(
            "permdrift fix: changed \(changed) of \(outcomes.count) path\(outcomes.count == 1 ? "" : "s"); the journal is \(TerminalText.escape(journal.path)); permdrift fix --undo \(run) reverts this run."
        )
        console.report(lines.joined(separator: "\n") + "\n")
        return rescan(baseline, accounts: accounts, root: root, outcomes: outcomes)
    }

    /// Scans again and says what is left: 0 when nothing is, 1 when drift is left or a path was
    /// skipped, 2 when the second scan is incomplete.
    private func rescan(_ baseline: Baseline, accounts: AccountDatabase, root: RootDirectory, outcomes: [RepairApplier.PathOutcome])
        -> Int32
    {
        let result: ScanResult
        do throws(RunExit) { result = try scan(baseline, accounts: accounts, root: root) } catch { return ExitStatus.untrusted }
        guard result.isComplete else {
            console.error(
                "permdrift fix: the scan after the changes is incomplete (\(result.errorCount) path\(result.errorCount == 1 ? "" : "s") could not be read); what is left is not known"
            )
            return ExitStatus.untrusted
        }
        let touched = Set(outcomes.filter { $0.outcome == .applied }.map(\.path))
        let left = RepairPlan(result)
        var lines = [
            "permdrift fix: the scan after the changes finds \(result.findingCount) finding\(result.findingCount == 1 ? "" : "s")."
        ]
        let stillThere = result.findings.filter { touched.contains($0.path) && !$0.isAccess }
        for f in stillThere.prefix(20) {
            lines.append("  still drifting after its change: \(f.path): \(f.kind.rawValue) (rule \(TerminalText.escape(f.rule)))")
        }
        if !left.unrepairable.isEmpty || !left.actions.isEmpty {
            lines.append(
                "  \(left.actions.filter { $0.refusal == nil }.count) repairable now, \(left.actions.filter { $0.refusal != nil }.count) refused, \(left.unrepairable.reduce(0) { $0 + $1.findings.count }) that fix cannot repair; permdrift fix shows them."
            )
        }
        console.report(lines.joined(separator: "\n") + "\n")
        let skipped = outcomes.contains { $0.outcome != .applied }
        return result.findingCount == 0 && !skipped ? ExitStatus.clean : ExitStatus.drift
    }
}

/// A fix run's journal file in the state directory.
enum FixJournal {
    static func create(in state: StateDirectory, console: RunConsole) throws(RunExit) -> (String, JournalWriter) {
        let base = FixRunName.make()
        for attempt in 1...100 {
            let run = attempt == 1 ? base : "\(base)-\(attempt)"
            do { return (run, try JournalWriter(state: state, name: FixRunName.journalFile(run))) } catch  where error.errno.rawValue == 17
            {
                continue  // EEXIST: a run started within the same second
            } catch {
                console.error("permdrift fix: cannot create the journal: \(error); nothing was changed")
                throw RunExit(ExitStatus.untrusted)
            }
        }
        console.error("permdrift fix: cannot create the journal: 100 runs started within one second; nothing was changed")
        throw RunExit(ExitStatus.untrusted)
    }
}

/// `permdrift fix --undo RUN`.
struct FixUndo {
    let options: ScanOptions
    let console: RunConsole

    func undo(_ run: String, journals state: StateDirectory) throws(RunExit) -> Int32 {
        guard FixRunName.isValid(run) else {
            console.error("permdrift fix: --undo \(TerminalText.escape(run)) is not the name of a fix run (such as 20261207T012345Z)")
            throw RunExit(ExitStatus.usage)
        }
        let file = FixRunName.journalFile(run)
        let display = (state.path.hasSuffix("/") ? state.path : state.path + "/") + file
        let bytes: [UInt8]
        switch TrustedFile.read(relative: file, in: state.descriptor, display: state.path) {
        case .success(let b): bytes = b
        case .failure(.missing):
            console.error(
                "permdrift fix: \(TerminalText.escape(display)): no such journal; permdrift fix --apply names its run when it ends")
            throw RunExit(ExitStatus.usage)
        case .failure(let e):
            console.error("permdrift fix: cannot read the journal: \(e)")
            throw RunExit(ExitStatus.untrusted)
        }
        let start: JournalEntry
        let steps: [RepairUndo.Step]
        do throws(JournalError) {
            (start, steps) = try RepairUndo.steps(try JournalCoding.decode(bytes, file: display), file: display)
        } catch {
            console.error("permdrift fix: the journal cannot be used: \(error); nothing was changed")
            throw RunExit(ExitStatus.untrusted)
        }
        let rootPath = start.root ?? "/"
        if let given = options.host.root, CurrentProcess.absolutePath(given) != CurrentProcess.absolutePath(rootPath) {
            console.error(
                "permdrift fix: run \(run) changed the tree under \(TerminalText.escape(rootPath)), not --root \(TerminalText.escape(given)); nothing was changed"
            )
            throw RunExit(ExitStatus.usage)
        }
        let root: FileDescriptor
        switch Syscalls.open(rootPath, [.readOnly, .directory, .closeOnExec]) {
        case .success(let fd): root = fd
        case .failure(let e):
            console.error("permdrift fix: cannot open \(TerminalText.escape(rootPath)): \(e); nothing was changed")
            throw RunExit(ExitStatus.untrusted)
        }
        defer { root.close() }
        let journal: JournalWriter
        do { journal = try JournalWriter(state: state, name: FixRunName.undoJournalFile(run)) } catch  where error.errno.rawValue == 17 {
            console.error(
                "permdrift fix: run \(run) has been undone already (\(TerminalText.escape(display.dropLast(6) + ".undo.jsonl")) exists); nothing was changed"
            )
            throw RunExit(ExitStatus.usage)
        } catch {
            console.error("permdrift fix: cannot create the undo journal: \(error); nothing was changed")
            throw RunExit(ExitStatus.untrusted)
        }
        let results: [(step: RepairUndo.Step, outcome: RepairApplier.Outcome)]
        do throws(SystemCallError) {
            var begin = JournalEntry(event: .start)
            begin.run = run
            begin.undoes = run
            begin.root = rootPath
            begin.started = ISO8601DateFormatter().string(from: Date())
            begin.version = ScanResult.toolVersion
            try journal.append(begin)
            results = try RepairUndo(root: root, journal: journal).revert(steps)
        } catch {
            console.error("permdrift fix: the undo journal cannot be written (\(error)); the undo stopped before its next change")
            throw RunExit(ExitStatus.untrusted)
        }
        var lines = [String]()
        for (step, outcome) in results {
            switch outcome {
            case .applied: lines.append("restored \(step.path): \((step.after ?? step.before).changes(to: step.before))")
            case .skipped(let why): lines.append("SKIPPED  \(step.path): \(why)")
            case .failed(let why): lines.append("FAILED   \(step.path): \(why)")
            }
        }
        let restored = results.filter { $0.outcome == .applied }.count
        lines.append(
            "permdrift fix: restored \(restored) of \(results.count) path\(results.count == 1 ? "" : "s") changed by run \(run); the undo's journal is \(TerminalText.escape(journal.path))."
        )
        console.report(lines.joined(separator: "\n") + "\n")
        return restored == results.count ? ExitStatus.clean : ExitStatus.drift
    }
}
