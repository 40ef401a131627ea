/// What the baseline's rules, excludes and exceptions decide for the paths below one directory, worked out from the
/// directory's path when the walk visits it (`RuleEvaluator.directoryMatch`) and handed down with it to
/// its entries (`PathPattern.matchBelow`). Most rules are decided for a whole subtree a few levels
/// below a scan root (`/home/{agent}/**` at `/home/ann`); below a directory where every rule and exclude
/// is decided, every directory shares this one object, so a chain of directories thousands deep costs
/// one pointer per level and no matching at all.
///
/// Immutable once made: it crosses threads with the directory it belongs to.
final class DirectoryMatch: @unchecked Sendable {
    struct RuleDecision {
        /// For every path strictly below the directory: the pattern of the rule that matches with its
        /// `where` holding, -1 when none does, nil when it depends on the names below.
        let below: Int?
        /// For the directory's own entries, the same (decided whenever `below` is).
        let entries: Int?
        /// What the deciding pattern bound, over the directory's part of the path (valid for every path
        /// below it).
        let captures: Captures
        /// Who the rule allows per right (`AccessRight.ordered`), for the entries, when decided.
        let allowed: [UserSet?]
    }

    struct ExcludeDecision {
        let below: PathPattern.SiblingMatch
        let entries: PathPattern.SiblingMatch
    }

    let rules: [RuleDecision]
    let excludes: [ExcludeDecision]
    /// The exceptions in force (`RuleEvaluator.exceptions`), decided like excludes.
    let exceptions: [ExcludeDecision]
    /// Whether every rule and exclude is decided for every path below: the directories below share this.
    let decidesEverythingBelow: Bool

    init(rules: [RuleDecision], excludes: [ExcludeDecision], exceptions: [ExcludeDecision]) {
        self.rules = rules
        self.excludes = excludes
        self.exceptions = exceptions
        decidesEverythingBelow =
            rules.allSatisfy { $0.below != nil } && excludes.allSatisfy { $0.below != .byName }
            && exceptions.allSatisfy { $0.below != .byName }
    }
}
