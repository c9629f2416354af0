// What every fuzz target shares: the input as bytes, invariant checks that stop the run (so
// libFuzzer saves the input as a crash), and a check of the crypto shim before any input.
import Crypto
import Foundation
import SecretsCore

/// The fuzzer's input as an array.
func input(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// Stops the run when an invariant does not hold; libFuzzer keeps the input that broke it.
func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, line: UInt = #line
) {
    if !condition() { fatalError("invariant failed: \(message())", line: line) }
}

/// The fingerprint key the state and journal seeds were made with: 32 bytes, 0x01 to 0x20.
let seedKey: FingerprintKey = {
    guard let key = FingerprintKey(base64: Data((1...32).map { UInt8($0) }).base64EncodedString()) else {
        fatalError("the seed key is 32 bytes")
    }
    return key
}()

/// Whether `message` quotes `text`: judged only for texts that no fixed wording of a message
/// holds (at least 16 bytes with no space, as a key or token is; the longest such word in our
/// messages and libyaml's is shorter).
func quotes(_ message: String, _ text: String) -> Bool {
    text.utf8.count >= 16 && !text.contains(where: \.isWhitespace) && message.contains(text)
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// Runs once before the first input: the shim must hash as swift-crypto does (FIPS 180-2
/// "abc"; RFC 4231 test case 2), or fingerprints and journal codes would be checked wrongly.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>
) -> CInt {
    require(
        hex(SHA256.hash(data: Array("abc".utf8)))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256 shim")
    var code = HMAC<SHA256>(key: SymmetricKey(data: Array("Jefe".utf8)))
    code.update(data: Array("what do ya want for nothing?".utf8))
    require(
        hex(code.finalize()) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "HMAC shim")
    return 0
}
