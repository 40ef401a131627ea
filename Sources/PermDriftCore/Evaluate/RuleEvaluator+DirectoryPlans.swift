/// The evaluator's plans per directory: what the rules, excludes and exceptions decide for the paths
/// below a directory, worked out once when the walk visits it (`DirectoryMatch`) and handed down to its
/// entries, so that most entries are matched against nothing.
extension RuleEvaluator {
    /// What the rules and the excludes decide below the directory at `path`, which the walk has just
    /// visited; `parent` is its own directory's decision. A directory below which everything is decided
    /// shares that decision with every directory under it: no matching, no copy, however deep the tree.
    func directoryMatch(for path: UnsafeBufferPointer<UInt8>, parent: DirectoryMatch?) -> DirectoryMatch {
        if let parent, parent.decidesEverythingBelow { return parent }
        // The directory's segments: its parent's (held when the walk came down from it) and its name.
        if let parent, let k = segmentOwners.lastIndex(where: { $0.match === parent }) {
            segmentOwners.removeSubrange((k + 1)...)
            segments.truncate(segmentOwners[k].count)
            segments.pushLastName(of: path)
        } else {
            segments.load(path)
            segmentOwners.removeAll()
        }
        segmentsLoaded = false  // `segments` now holds a directory, not an entry
        var rules = [DirectoryMatch.RuleDecision]()
        rules.reserveCapacity(boxes.count)
        for r in boxes.indices {
            if let inherited = parent?.rules[r], inherited.below != nil {
                rules.append(inherited)
            } else {
                rules.append(decide(rule: r, directory: path))
            }
        }
        var excludes = [DirectoryMatch.ExcludeDecision]()
        for e in excludePatterns.indices {
            if let inherited = parent?.excludes[e], inherited.below != .byName {
                excludes.append(inherited)
            } else {
                let d = excludePatterns[e].matchBelow(directory: path, segments: segments, below: &belowScratch, entries: &entriesScratch)
                excludes.append(DirectoryMatch.ExcludeDecision(below: d.below, entries: d.entries))
            }
        }
        var silencing = [DirectoryMatch.ExcludeDecision]()
        for e in exceptions.indices {
            if let inherited = parent?.exceptions[e], inherited.below != .byName {
                silencing.append(inherited)
            } else {
                let d = exceptions[e].pattern.matchBelow(
                    directory: path, segments: segments, below: &belowScratch, entries: &entriesScratch)
                silencing.append(DirectoryMatch.ExcludeDecision(below: d.below, entries: d.entries))
            }
        }
        let decision = DirectoryMatch(rules: rules, excludes: excludes, exceptions: silencing)
        segmentOwners.append((decision, segments.count))
        return decision
    }

    /// Rule `r` below the directory at `path` (whose segments are loaded): the first of its patterns that
    /// matches with its `where` holding, for every path below and for the directory's own entries.
    private func decide(rule r: Int, directory path: UnsafeBufferPointer<UInt8>) -> DirectoryMatch.RuleDecision {
        let rule = boxes[r].rule
        var below: Int? = -1
        var entries: Int? = -1
        var captures = Captures(count: 0)
        var belowOpen = true, entriesOpen = true
        for p in rule.patterns.indices where belowOpen || entriesOpen {
            let d = rule.patterns[p].matchBelow(directory: path, segments: segments, below: &belowScratch, entries: &entriesScratch)
            if belowOpen {
                switch d.below {
                case .byName: below = nil; belowOpen = false
                case .none: break
                case .all:
                    if conditionsHold(rule, rule: r, pattern: p, captures: belowScratch, path: path) {
                        below = p; belowOpen = false
                        if entriesOpen { entries = p; entriesOpen = false; captures = belowScratch }
                    }
                }
            }
            if entriesOpen {
                switch d.entries {
                case .byName: entries = nil; entriesOpen = false
                case .none: break
                case .all:
                    if conditionsHold(rule, rule: r, pattern: p, captures: entriesScratch, path: path) {
                        entries = p; entriesOpen = false; captures = entriesScratch
                    }
                }
            }
        }
        var allowed = [UserSet?](repeating: nil, count: AccessRight.ordered.count)
        if let p = entries, p >= 0, let access, boxes[r].hasAccess {
            let names = captureNames[r][p]
            let capture: (String) -> ResolvedName? = { name in
                names.firstIndex(of: name).flatMap { captures.value($0, in: path) }.flatMap(self.names.resolve)
            }
            for (k, specs) in boxes[r].accessSpecs.enumerated() {
                guard let specs else { continue }
                var uids = [UInt32]()
                for case .capture(let name) in specs { uids.append(capture(name)?.uid ?? UInt32.max) }
                let key = AccessEvaluator.AllowedKey(rule: r, right: AccessRight.ordered[k], captures: uids)
                let (set, missing) = access.allowedCached(key, specs, capture: capture)
                if missing.isEmpty { allowed[k] = set }
            }
        }
        return DirectoryMatch.RuleDecision(below: below, entries: entries, captures: captures, allowed: allowed)
    }

    /// Who rule `r` allows `right` (by index) for the entries of a directory, when its decision worked it out.
    func decidedAllowed(_ decided: DirectoryMatch?, rule r: Int, right k: Int) -> UserSet? {
        decided?.rules[r].allowed[k]
    }
}
