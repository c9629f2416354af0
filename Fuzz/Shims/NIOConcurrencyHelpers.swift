// The one type of swift-nio's NIOConcurrencyHelpers that the emulator's store uses, over
// Foundation's NSLock, so the fuzz build needs no swift-nio checkout.
import Foundation

public final class NIOLockedValueBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) {
        self.value = value
    }

    public func withLockedValue<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
