/// "Did you mean …?" for misspelt keys and names: the closest allowed word by edit distance.
public enum Suggestion {
    /// The allowed word nearest to `word`, if it is within a third of the word's length (at least 2 edits).
    public static func closest(to word: String, in allowed: some Sequence<String>) -> String? {
        let limit = max(2, word.count / 3)
        var best: (String, Int)?
        for candidate in allowed {
            let d = editDistance(word.lowercased(), candidate.lowercased())
            if d <= limit, d < (best?.1 ?? .max) { best = (candidate, d) }
        }
        return best?.0
    }

    /// Levenshtein distance, O(|a|·|b|) time, O(|b|) memory.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The fix text for an unknown key or name: a suggestion when one is close, else the list.
    public static func fix(for word: String, allowed: [String]) -> String {
        let list = allowed.sorted().joined(separator: ", ")
        if let near = closest(to: word, in: allowed) { return "did you mean '\(near)'? Allowed: \(list)" }
        return "allowed: \(list)"
    }
}
