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
            let distance = EditDistance.between(lowered, spelling)
            if distance < (best?.distance ?? Int.max) { best = (meaning, distance) }
        }
        guard let best else { return nil }
        let tolerance = key.count <= 3 ? 1 : min(3, max(1, key.count / 3))
        return best.distance <= tolerance ? best.key : nil
    }
}
