/// A set of users as a bitset over a `PrincipalIndex`. A set may be *inverted* — everyone except the
/// listed users — which is how "other" entries grant: to every user, including ones indexed later.
public struct UserSet: Hashable, Sendable {
    var words: [UInt64]
    var inverted: Bool

    public static let empty = UserSet(words: [], inverted: false)
    public static let everyone = UserSet(words: [], inverted: true)

    init(words: [UInt64], inverted: Bool) {
        self.words = words
        self.inverted = inverted
    }

    init(index: Int) {
        words = Array(repeating: 0, count: index / 64 + 1)
        words[index / 64] = 1 << UInt64(index % 64)
        inverted = false
    }

    func contains(_ index: Int) -> Bool {
        let w = index / 64
        let bit = w < words.count ? (words[w] >> UInt64(index % 64)) & 1 == 1 : false
        return bit != inverted
    }

    var isEmpty: Bool { !inverted && words.allSatisfy { $0 == 0 } }

    private static func combine(_ a: [UInt64], _ b: [UInt64], _ op: (UInt64, UInt64) -> UInt64) -> [UInt64] {
        let n = max(a.count, b.count)
        var out = [UInt64](repeating: 0, count: n)
        for i in 0..<n { out[i] = op(i < a.count ? a[i] : 0, i < b.count ? b[i] : 0) }
        while let last = out.last, last == 0 { out.removeLast() }
        return out
    }

    public func intersection(_ other: UserSet) -> UserSet {
        switch (inverted, other.inverted) {
        case (false, false): UserSet(words: Self.combine(words, other.words, &), inverted: false)
        case (true, false): UserSet(words: Self.combine(other.words, words) { $0 & ~$1 }, inverted: false)
        case (false, true): UserSet(words: Self.combine(words, other.words) { $0 & ~$1 }, inverted: false)
        case (true, true): UserSet(words: Self.combine(words, other.words, |), inverted: true)
        }
    }

    public func union(_ other: UserSet) -> UserSet {
        switch (inverted, other.inverted) {
        case (false, false): UserSet(words: Self.combine(words, other.words, |), inverted: false)
        case (true, false): UserSet(words: Self.combine(words, other.words) { $0 & ~$1 }, inverted: true)
        case (false, true): UserSet(words: Self.combine(other.words, words) { $0 & ~$1 }, inverted: true)
        case (true, true): UserSet(words: Self.combine(words, other.words, &), inverted: true)
        }
    }

    public func subtracting(_ other: UserSet) -> UserSet {
        intersection(UserSet(words: other.words, inverted: !other.inverted))
    }

    /// The members among the first `count` indexes, in index order.
    func members(upTo count: Int) -> [Int] {
        var out = [Int]()
        for i in 0..<count where contains(i) { out.append(i) }
        return out
    }
}

extension UserSet {
    /// Whether every member of `self` is in `other`, without allocating. An inverted set (everyone but a
    /// few) is treated as never contained in a finite one.
    func isSubset(of other: UserSet) -> Bool {
        switch (inverted, other.inverted) {
        case (false, false):
            for i in words.indices where words[i] & ~(i < other.words.count ? other.words[i] : 0) != 0 { return false }
            return true
        case (false, true):
            for i in words.indices where i < other.words.count && words[i] & other.words[i] != 0 { return false }
            return true
        case (true, false):
            return false
        case (true, true):
            for i in other.words.indices where other.words[i] & ~(i < words.count ? words[i] : 0) != 0 { return false }
            return true
        }
    }
}
