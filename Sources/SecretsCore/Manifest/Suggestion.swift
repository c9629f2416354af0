/// "Did you mean" for a mistyped key: the closest allowed key within a small edit distance,
/// or the key a common synonym stands for (`payload` means `value`).
enum Suggestion {
    private static let synonyms: [String: String] = [
        "payload": "value", "secret": "value", "data": "value", "from": "value",
        "expiry": "expires_at", "expires": "expires_at", "expiration": "expires_at", "ttl": "expires_at",
        "account_id": "account", "stripe_account": "account", "user": "scope",
        "environment": "env", "variable": "env", "path": "file", "trim": "trim_newline",
    ]

    static func closest(to key: String, among allowed: [String]) -> String? {
        let lowered = key.lowercased()
        var best: (key: String, distance: Int)?
        let candidates =
            allowed.map { ($0, $0) }
            + synonyms.filter { allowed.contains($0.value) }.map { ($0.key, $0.value) }
        for (spelling, meaning) in candidates {
            let distance = editDistance(lowered, spelling)
            if distance < (best?.distance ?? Int.max) { best = (meaning, distance) }
        }
        guard let best else { return nil }
        let tolerance = key.count <= 3 ? 1 : min(3, max(1, key.count / 3))
        return best.distance <= tolerance ? best.key : nil
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
    /// neighbours each cost one.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], before[j - 2] + 1)
                }
            }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count]
    }
}
