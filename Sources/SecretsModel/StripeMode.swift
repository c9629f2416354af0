/// Test mode or live mode: separate Secret Stores, told apart by the API key's prefix.
public enum StripeMode: String, Codable, Sendable {
    case test, live
}
