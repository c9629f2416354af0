/// A resolved secret value. Its plaintext is reachable only through `plaintext`, so every
/// place that touches it is easy to find; printing, interpolating or dumping it shows
/// `<redacted>`.
public struct SecretValue: Sendable, Equatable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    /// The value itself: to be sent to Stripe or fingerprinted, never shown or stored.
    public let plaintext: String

    public init(_ plaintext: String) {
        self.plaintext = plaintext
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
