import Crypto
import SecretsModel
import TestSupport
import Testing

@testable import SecretsCore

/// The fingerprints' own HMAC-SHA256 (`HMACSHA256`, `SHA256Stream`) against published vectors
/// and against swift-crypto, the reference, on random keys and messages of every length around
/// SHA-256's 64-byte block and its 55-byte padding edge.
@Suite struct HMACTests {
    private static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            .joined()
    }

    private static func code(_ key: [UInt8], _ pieces: [[UInt8]], hardware: Bool) -> String {
        let hmac = HMACSHA256(key: key, hardware: hardware)
        var message = hmac.start()
        for piece in pieces { message.absorb(piece) }
        return hmac.finish(message) { hex($0) }
    }

    private static func reference(_ key: [UInt8], _ message: [UInt8]) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// Both ways of compressing a block: the CPU's SHA instructions (where it has them; elsewhere
    /// this case runs the Swift code again) and Swift.
    static let ways = [true, false]

    /// RFC 4231 §4.2-4.8 (case 5 truncates its output, so it is left out).
    @Test(arguments: ways) func rfc4231Vectors(hardware: Bool) {
        func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
        func repeated(_ byte: UInt8, _ count: Int) -> [UInt8] { [UInt8](repeating: byte, count: count) }
        let cases: [(key: [UInt8], data: [UInt8], mac: String)] = [
            (repeated(0x0b, 20), bytes("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (
                bytes("Jefe"), bytes("what do ya want for nothing?"),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            (
                repeated(0xaa, 20), repeated(0xdd, 50),
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
            ),
            (
                Array(1...25), repeated(0xcd, 50),
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
            ),
            (
                repeated(0xaa, 131), bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
            (
                repeated(0xaa, 131),
                bytes(
                    "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                ),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
            ),
        ]
        for (key, data, mac) in cases {
            #expect(Self.code(key, [data], hardware: hardware) == mac)
            #expect(Self.reference(key, data) == mac, "the reference itself")
        }
    }

    @Test(arguments: ways) func randomKeysAndMessagesMatchSwiftCrypto(hardware: Bool) {
        var generator = SeededRandom(seed: 20_261_201)
        let edges = [0, 1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 121, 127, 128, 129, 191, 192, 300]
        for round in 0..<1_500 {
            let keyLength = [0, 1, 31, 32, 63, 64, 65, 100, 200][round % 9]
            let key = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let length =
                round < edges.count * 4 ? edges[round % edges.count] : Int.random(in: 0...400, using: &generator)
            let message = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Fed in random pieces, empty ones included: how they are cut must not matter.
            var pieces: [[UInt8]] = []
            var rest = message[...]
            while !rest.isEmpty || pieces.count < 2 {
                let size = Int.random(in: 0...min(rest.count, 80), using: &generator)
                pieces.append(Array(rest.prefix(size)))
                rest = rest.dropFirst(size)
            }
            #expect(
                Self.code(key, pieces, hardware: hardware) == Self.reference(key, message),
                "key \(keyLength) bytes, message \(length)")
        }
    }

    @Test(arguments: ways) func theStreamIsSHA256(hardware: Bool) {
        var generator = SeededRandom(seed: 7)
        for length in [0, 3, 55, 56, 64, 65, 1_000, 100_000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var stream = SHA256Stream(hardware: hardware)
            stream.absorb(bytes)
            #expect(stream.finish { Self.hex($0) } == Self.hex(SHA256.hash(data: bytes)), "\(length) bytes")
        }
    }

    /// What a fingerprint is defined as (`FingerprintKey`'s doc): HMAC-SHA256 over the address's
    /// length, the address as written and the value, here computed by swift-crypto.
    @Test func fingerprintsAreTheDefinedHMACForEveryShapeOfAddress() {
        var generator = SeededRandom(seed: 11)
        let names = [
            "a", "secret_000001", "é", "e\u{301}", "\u{301}lead", "a/b/c", "🔑 key", String(repeating: "n", count: 300),
        ]
        let scopes: [SecretScope] = [.account, .user("usr_1Fast"), .user("usr_" + String(repeating: "Z", count: 60))]
        for keyLength in [32, 48, 64, 90] {
            let material = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let key = FingerprintKey(keptApart: material, allowRaw: true)!
            let fingerprinter = Fingerprinter(key)
            for name in names {
                for scope in scopes {
                    for account in [nil, "acct_1Fast"] as [String?] {
                        let address = SecretAddress(account: account, scope: scope, name: name)
                        let length = Int.random(in: 0...150, using: &generator)
                        let value = SecretValue(String(repeating: "v", count: length) + "ü")
                        let text = Array(address.description.utf8)
                        let message =
                            withUnsafeBytes(of: UInt64(text.count).bigEndian) { Array($0) } + text
                            + Array(value.plaintext.utf8)
                        let expected = key.withBytes { Self.reference($0, message) }
                        #expect(fingerprinter.fingerprint(of: value, at: address).hex == expected, "\(address)")
                    }
                }
            }
        }
    }

    /// A prepared key is the key to anyone who reads it: its inner and outer chaining values make
    /// every fingerprint under the key, so it prints and dumps as the key does, `<redacted>`.
    @Test func aPreparedKeyNeverPrints() throws {
        let key = try #require(FingerprintKey(keptApart: [UInt8](repeating: 0x0b, count: 32), allowRaw: true))
        let fingerprinter = Fingerprinter(key)
        let hmac = HMACSHA256(key: [UInt8](repeating: 0x0b, count: 32))
        var texts = ["\(fingerprinter)", String(reflecting: fingerprinter), "\(hmac)", String(reflecting: hmac)]
        for item in [fingerprinter, hmac, hmac.start()] as [Any] {
            var dumped = ""
            dump(item, to: &dumped)
            texts.append(dumped)
        }
        // A chaining word prints as a number of up to ten digits; nothing else here is a number.
        let word = try Regex("[0-9]{5,}")
        for text in texts { #expect(!text.contains(word), "\(text)") }
        #expect(texts[0] == "<redacted>" && texts[1] == "<redacted>")
    }

    /// A fingerprint holds its bytes, not its text: the text must come back digit for digit, and
    /// only 64 lowercase hex digits are one.
    @Test func aFingerprintGivesBackExactlyItsDigits() {
        var generator = SeededRandom(seed: 3)
        for _ in 0..<500 {
            let hex = String((0..<64).map { _ in "0123456789abcdef".randomElement(using: &generator)! })
            #expect(Fingerprint(hex: hex)?.hex == hex)
            #expect(Fingerprint(hex: hex)?.short == String(hex.prefix(8)))
        }
        let valid = String(repeating: "0f", count: 32)
        #expect(Fingerprint(hex: valid) == Fingerprint(hex: valid))
        #expect(Fingerprint(hex: valid) != Fingerprint(hex: String(repeating: "f0", count: 32)))
        for bad in [
            "", String(valid.dropLast()), valid + "0", valid.uppercased(), String(valid.dropLast()) + "g",
            String(valid.dropLast()) + "é", " " + String(valid.dropFirst()),
        ] {
            #expect(Fingerprint(hex: bad) == nil, "\(bad)")
        }
    }
}
