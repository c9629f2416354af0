import Crypto
import Foundation
import SecretsModel
import TestSupport
import Testing

@testable import SecretsCore

/// The fast paths of issue 9 against the slow ones they replace: the one-pass state reader
/// against `JSONDecoder`, byte-wise address parsing, and a prepared HMAC key.
@Suite struct FastPathTests {

    private static let names = ["api_key", "é", "e\u{301}", "\u{301}leading_mark", "a/b", "中文", "😀", "k\"q", "t\\s"]

    private func randomState(_ random: inout SeededRandom) -> State {
        var secrets: [SecretAddress: State.Entry] = [:]
        for index in 0..<Int.random(in: 0...12, using: &random) {
            let account = Bool.random(using: &random) ? nil : "acct_\(Int.random(in: 1...3, using: &random))Fast"
            let scope: SecretScope = Bool.random(using: &random) ? .account : .user("usr_\(index % 2)Fast")
            let name = Self.names.randomElement(using: &random)! + "\(index)"
            let address = SecretAddress(account: account, scope: scope, name: name)
            secrets[address] = State.Entry(
                id: "appsecret_\(index)Fast",
                fingerprint: Bool.random(using: &random)
                    ? FingerprintKey().fingerprint(of: SecretValue("v\(index)"), at: address) : nil,
                expiresAt: Bool.random(using: &random) ? Int64.random(in: 0...4_102_444_800, using: &random) : nil,
                appliedAt: Int64.random(in: 0...4_102_444_800, using: &random),
                protectedSince: Bool.random(using: &random) ? 0 : nil)
        }
        let keptApart = Bool.random(using: &random)
        return State(
            lineage: "lineage-\(random.next() % 1000)", serial: Int.random(in: 0...5, using: &random),
            mode: [nil, .test, .live].randomElement(using: &random)!, fingerprintKey: FingerprintKey(),
            keyIsKeptApart: keptApart, secrets: secrets)
    }

    /// Both readers' verdicts on `bytes`: the same state, or the same error.
    private func expectSameReading(_ bytes: [UInt8], keptApart: StateDocument.KeptApartKey?, _ note: String) {
        let fast = Result { () throws(DocumentError) in
            try StateDocument.decode(bytes, path: "s.json", keptApart: keptApart, fastPath: true)
        }
        let slow = Result { () throws(DocumentError) in
            try StateDocument.decode(bytes, path: "s.json", keptApart: keptApart, fastPath: false)
        }
        #expect(fast == slow, "\(note): \(String(decoding: bytes.prefix(300), as: UTF8.self))")
    }

    @Test func theOnePassReaderReadsEveryStateAsJSONDecoderDoes() {
        var random = SeededRandom(seed: 9)
        for round in 0..<150 {
            let state = randomState(&random)
            let keptApart =
                state.keyIsKeptApart ? StateDocument.KeptApartKey(state.fingerprintKey, origin: "test") : nil
            let bytes = StateDocument.encode(state)
            expectSameReading(bytes, keptApart: keptApart, "round \(round), as written")
            #expect((try? StateDocument.decode(bytes, path: "s.json", keptApart: keptApart)) == state)
            // Forms the encoder never writes but a person might: escapes, nulls, compact.
            let text = String(decoding: bytes, as: UTF8.self)
            for variant in [
                text.replacingOccurrences(of: "\"appsecret_", with: "\"\\u0061ppsecret_"),
                text.replacingOccurrences(of: "\"mode\" : \"test\"", with: "\"mode\" : null"),
                text.replacingOccurrences(of: "\"protected_since\" : 0", with: "\"protected_since\" : null"),
                text.replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: " : ", with: ":"),
                text.replacingOccurrences(of: "\"serial\" : ", with: "\"serial\" : -"),
                text.replacingOccurrences(of: "\"expires_at\" : ", with: "\"expires_at\" : \"") + "x",
            ] {
                expectSameReading(Array(variant.utf8), keptApart: keptApart, "round \(round), a variant")
            }
        }
    }

    @Test func everyDamagedStateIsRefusedWithTheSameMessageByBothReaders() {
        var random = SeededRandom(seed: 17)
        let replacements: [[UInt8]] = [
            Array("\"".utf8), Array("null".utf8), Array("1".utf8), Array("{".utf8), Array("]".utf8), [0xFF],
            [0xC3], Array("\\u".utf8), Array("1.5".utf8), Array("[]".utf8), Array(",".utf8), [],
        ]
        for round in 0..<400 {
            let state = randomState(&random)
            var bytes = StateDocument.encode(state)
            for _ in 0...Int.random(in: 0...2, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                let width = Int.random(in: 0...4, using: &random)
                bytes.replaceSubrange(
                    at..<min(at + width, bytes.count), with: replacements.randomElement(using: &random)!)
            }
            let keptApart =
                state.keyIsKeptApart ? StateDocument.KeptApartKey(state.fingerprintKey, origin: "test") : nil
            expectSameReading(bytes, keptApart: keptApart, "round \(round)")
        }
    }

    /// Hand-written hostile forms of one state, each read by both readers: escapes in keys and
    /// values, surrogates, bytes that are not UTF-8, a BOM, NULs, odd numbers, duplicate keys
    /// spelt two ways, deep nesting.
    @Test func hostileFormsOfAStateAreReadAlikeByBothReaders() {
        let address = SecretAddress(account: nil, scope: .account, name: "n")
        let state = State(
            lineage: "lin-1", serial: 3, mode: .test, fingerprintKey: FingerprintKey(), keyIsKeptApart: false,
            secrets: [
                address: State.Entry(
                    id: "appsecret_1Fast", fingerprint: FingerprintKey().fingerprint(of: SecretValue("v"), at: address),
                    expiresAt: 100, appliedAt: 0, protectedSince: 2)
            ])
        let text = String(decoding: StateDocument.encode(state), as: UTF8.self)
        func swap(_ old: String, _ new: String) -> [UInt8] {
            #expect(text.contains(old), "\(old) is in the encoded state")
            return Array(text.replacingOccurrences(of: old, with: new).utf8)
        }
        var forms: [[UInt8]] = [
            swap("\"serial\" : 3", "\"serial\" : -0"), swap("\"serial\" : 3", "\"serial\" : 3e0"),
            swap("\"serial\" : 3", "\"serial\" : 3.0"), swap("\"serial\" : 3", "\"serial\" : 03"),
            swap("\"serial\" : 3", "\"serial\" : 9007199254740993"),
            swap("\"serial\" : 3", "\"serial\" : 9007199254740992"), swap("\"serial\" : 3", "\"serial\" : true"),
            swap("\"serial\" : 3", "\"serial\" : \"3\""), swap("\"serial\" : 3", "\"serial\" : null"),
            swap("\"expires_at\" : 100", "\"expires_at\" : -9007199254740992"),
            swap("\"expires_at\" : 100", "\"expires_at\" : 1e2"),
            swap("\"mode\"", "\"m\\u006fde\""), swap("\"mode\"", "\"mode\" : \"live\", \"m\\u006fde\""),
            swap("\"mode\" : \"test\"", "\"mode\" : \"TEST\""), swap("\"lineage\"", "\"lineage\" : \"x\", \"lineage\""),
            swap("\"format\" : \"stripe-secrets-state\"", "\"format\" : \"stripe\\u002dsecrets-state\""),
            swap("\"format_version\" : 1", "\"format_version\" : 1.0"),
            swap("\"format_version\" : 1", "\"format_version\" : -0"),
            swap("\"account/n\"", "\"account/\\ud83d\\ude00\""), swap("\"account/n\"", "\"account/\\ud800\""),
            swap("\"account/n\"", "\"account/\\udc00\""), swap("\"account/n\"", "\"account/\\ud800\\u0041\""),
            swap("\"account/n\"", "\"account/n\\u0000\""), swap("\"account/n\"", "\"account\\/n\""),
            swap("\"lin-1\"", "\"lin\\u002d1\""), swap("\"lin-1\"", "\"lin-1\\u0000\""),
            swap("\"appsecret_1Fast\"", "\"appsecret_1Fas\\u0074\""),
            swap("\"fingerprint\" : \"", "\"fingerprint\" : \"A"),
            swap("\"protected_since\" : 2", "\"protected_since\" : null"),
            swap("\"secrets\" : [", "\"secrets\" : [null, "),
            swap("\"secrets\" : [", "\"secrets\" : " + String(repeating: "[", count: 70)),
            [0xEF, 0xBB, 0xBF] + Array(text.utf8), Array(text.utf8) + [0], [0] + Array(text.utf8),
            Array(text.utf8) + Array("{}".utf8), Array(text.replacingOccurrences(of: "\n", with: "\u{0B}").utf8),
        ]
        // Bytes that are not UTF-8 (cut short, overlong, a surrogate, beyond U+10FFFF) in a name.
        for bad in [[0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF]] as [[UInt8]] {
            var form = swap("\"account/n\"", "\"account/n~\"")
            let at = form.firstIndex(of: UInt8(ascii: "~"))!
            form.replaceSubrange(at...at, with: bad)
            forms.append(form)
        }
        for (index, form) in forms.enumerated() { expectSameReading(form, keptApart: nil, "hostile form \(index)") }
    }

    /// A document written by hand, as another tool might write `state` (PostgreSQL's `jsonb`
    /// reorders keys): keys in any order, any white space, characters escaped at random, and
    /// optional fields null rather than absent.
    private func rewritten(_ state: State, _ random: inout SeededRandom) -> [UInt8] {
        let spaces = ["", " ", "\n", "\t", "\r\n  ", "  "]
        func space() -> String { spaces.randomElement(using: &random)! }
        func string(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += Bool.random(using: &random) ? "\\\"" : "\\u0022"
                case "\\": out += "\\\\"
                case "/" where Bool.random(using: &random): out += "\\/"
                case _ where scalar.value < 0x20 || Int.random(in: 0..<8, using: &random) == 0:
                    for unit in String(scalar).utf16 {
                        let hex = String(unit, radix: 16)
                        out +=
                            "\\u" + String(repeating: "0", count: 4 - hex.count)
                            + (Bool.random(using: &random) ? hex : hex.uppercased())
                    }
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        func object(_ members: [(String, String?)]) -> String {
            let present = members.compactMap { key, value -> (String, String)? in
                if let value { return (key, value) }
                return Bool.random(using: &random) ? (key, "null") : nil
            }.shuffled(using: &random)
            let body = present.map { "\(space())\(string($0))\(space()):\(space())\($1)\(space())" }
            return "{" + (body.isEmpty ? space() : body.joined(separator: ",")) + "}"
        }
        let entries = state.secrets.sorted { $0.key < $1.key }.map { address, entry in
            object([
                ("address", string(address.description)), ("id", string(entry.id)),
                ("fingerprint", entry.fingerprint.map { string($0.hex) }),
                ("expires_at", entry.expiresAt.map(String.init)),
                ("applied_at", string(Timestamp.format(entry.appliedAt))),
                ("protected_since", entry.protectedSince.map(String.init)),
            ])
        }
        let secrets =
            "[" + (entries.isEmpty ? space() : entries.map { space() + $0 + space() }.joined(separator: ",")) + "]"
        let document = object([
            ("format", string("stripe-secrets-state")), ("format_version", "1"), ("lineage", string(state.lineage)),
            ("serial", String(state.serial)), ("mode", state.mode.map { string($0.rawValue) }),
            ("fingerprint_key", state.keyIsKeptApart ? nil : string(state.fingerprintKey.base64)),
            ("fingerprint_key_id", state.keyIsKeptApart ? string(state.fingerprintKey.identifier) : nil),
            ("secrets", secrets),
        ])
        return Array((space() + document + space()).utf8)
    }

    @Test func theOnePassReaderReadsKeysInAnyOrderWithAnySpacingAndEscapes() {
        var random = SeededRandom(seed: 23)
        for round in 0..<300 {
            let state = randomState(&random)
            let keptApart =
                state.keyIsKeptApart ? StateDocument.KeptApartKey(state.fingerprintKey, origin: "test") : nil
            let bytes = rewritten(state, &random)
            // Each is read by the one-pass reader itself, not handed on to JSONDecoder.
            #expect(
                StateScanner.read(bytes) != nil, "round \(round): \(String(decoding: bytes.prefix(300), as: UTF8.self))"
            )
            expectSameReading(bytes, keptApart: keptApart, "round \(round), rewritten")
            #expect((try? StateDocument.decode(bytes, path: "s.json", keptApart: keptApart)) == state)
        }
    }

    @Test func everyCutAndEveryBytePatchIsReadAlikeByBothReaders() {
        var random = SeededRandom(seed: 31)
        let patches: [[UInt8]] = [
            Array("null".utf8), Array("true".utf8), Array("-".utf8), Array("0".utf8), Array("{}".utf8),
            Array("[]".utf8),
            Array("\"\"".utf8), Array("\\".utf8), Array("\\u00".utf8), [0x80], [0x00], [0x7F], Array(" ".utf8),
        ]
        for round in 0..<3 {
            let state = randomState(&random)
            let keptApart =
                state.keyIsKeptApart ? StateDocument.KeptApartKey(state.fingerprintKey, origin: "test") : nil
            let bytes = round == 0 ? StateDocument.encode(state) : rewritten(state, &random)
            for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 400)) {
                expectSameReading(Array(bytes[..<cut]), keptApart: keptApart, "round \(round), cut at \(cut)")
                var patched = bytes
                patched.replaceSubrange(cut..<cut + 1, with: patches[cut % patches.count])
                expectSameReading(patched, keptApart: keptApart, "round \(round), patched at \(cut)")
            }
        }
    }

    /// Documents that are well-formed JSON but not a readable state, or readable only as they
    /// are written: each check of the entries and of the header, on both readers.
    @Test func entriesAndHeadersThatBreakARuleAreReadAlikeByBothReaders() {
        let entry = #"{"address": "account/n", "id": "appsecret_1", "applied_at": "2026-01-02T03:04:05Z"}"#
        func document(_ secrets: [String], _ header: String = #""serial": 2"#) -> [UInt8] {
            let key = FingerprintKey().base64
            return Array(
                (#"{"format": "stripe-secrets-state", "format_version": 1, "lineage": "l-1", "fingerprint_key": ""#
                    + key + #"", "#
                    + header + #", "secrets": ["# + secrets.joined(separator: ",") + "]}").utf8)
        }
        func with(_ old: String, _ new: String) -> String {
            #expect(entry.contains(old))
            return entry.replacingOccurrences(of: old, with: new)
        }
        let forms: [[UInt8]] = [
            document([entry]), document([]), document([entry, entry]),
            document([entry, with("account/n", "account/m")]),
            document([with("account/n", "account/")]), document([with("account/n", "acct_x/account/n")]),
            document([with("account/n", "user:usr_/n")]), document([with("account/n", #"account/a\u0000"#)]),
            document([with("account/n", #"account/a\u200b"#)]), document([with("account/n", "user:usr_1/n")]),
            document([with("appsecret_1", "appsecret_")]), document([with("appsecret_1", "secret_1")]),
            document([with("appsecret_1", "appsecret_1-")]),
            document([with("2026-01-02T03:04:05Z", "2026-01-02")]),
            document([with("2026-01-02T03:04:05Z", "2026-02-30T03:04:05Z")]),
            document([with("2026-01-02T03:04:05Z", "2026-01-02T03:04:05+01:00")]),
            document([with("2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000z")]),
            document([with("}", #", "expires_at": -1}"#)]), document([with("}", #", "expires_at": 253402300800}"#)]),
            document([with("}", #", "expires_at": 253402300799}"#)]), document([with("}", #", "expires_at": "1"}"#)]),
            document([with("}", #", "protected_since": 2}"#)]), document([with("}", #", "protected_since": 3}"#)]),
            document([with("}", #", "protected_since": -1}"#)]), document([with("}", #", "protected_since": true}"#)]),
            document([with("}", #", "fingerprint": "\#(String(repeating: "a", count: 64))"}"#)]),
            document([with("}", #", "fingerprint": "\#(String(repeating: "A", count: 64))"}"#)]),
            document([with("}", #", "fingerprint": "abc"}"#)]), document([with("}", #", "fingerprint": 1}"#)]),
            document([with("}", #", "id": "appsecret_2"}"#)]), document([with("}", #", "note": 1}"#)]),
            document([with("}", #", "address": {}}"#)]), document([with(#""id""#, #""id""#)]),
            document([with("}", #", "protected_since": 2}"#)], #""serial": 1"#),
            document([with("}", #", "protected_since": 0}"#)], #""serial": -1"#),
            document([entry], #""serial": 2, "mode": "live""#), document([entry], #""serial": 2, "mode": "prod""#),
            document([entry], #""serial": 2, "mode": null, "fingerprint_key_id": null"#),
            document([entry], #""serial": 2, "fingerprint_key_id": "x""#),
            document([entry], #""serial": 9007199254740993"#),
            document([entry], #""serial": 2, "lineage": "l-2""#), document([entry], #""serial": 2, "extra": 1"#),
            document([entry], #""serial": 2, "format_version": 2"#), document([entry], #""serial": null"#),
            document(["null"]), document(["[]"]), document(["{}"]), document(["1"]),
        ]
        for (index, form) in forms.enumerated() { expectSameReading(form, keptApart: nil, "form \(index)") }
        #expect(StateScanner.read(document([entry, with("account/n", "account/m")])) != nil)
    }

    /// The byte-wise checks of a fingerprint and of a Stripe id against their definitions, every
    /// byte value at every position.
    @Test func fingerprintsAndIDsAreCheckedByteByByteAsDefined() {
        let hex = Array("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".utf8)
        let id = Array("appsecret_0aZ9zA".utf8)
        for position in 0..<hex.count {
            for byte in UInt8.min...UInt8.max {
                var bytes = hex
                bytes[position] = byte
                let isHexDigit = (48...57).contains(byte) || (97...102).contains(byte)
                #expect(bytes.withUnsafeBufferPointer { Fingerprint(hexUTF8: $0) != nil } == isHexDigit)
                guard position < id.count else { continue }
                var text = id
                text[position] = byte
                let isIDByte =
                    position < 10
                    ? byte == id[position]
                    : (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
                #expect(
                    text.withUnsafeBufferPointer { SecretAddress.isStripeID(utf8: $0, prefix: "appsecret_") }
                        == isIDByte)
            }
        }
        for count in [0, 63, 65] {
            #expect(
                Array(hex.prefix(count) + hex.prefix(max(0, count - 64))).withUnsafeBufferPointer {
                    Fingerprint(hexUTF8: $0)
                } == nil)
        }
        #expect(!SecretAddress.isStripeID("appsecret_", prefix: "appsecret_"))
        #expect(SecretAddress.isStripeID("appsecret_" + String(repeating: "a", count: 245), prefix: "appsecret_"))
        #expect(!SecretAddress.isStripeID("appsecret_" + String(repeating: "a", count: 246), prefix: "appsecret_"))
    }

    @Test func anAddressIsParsedByBytesSoANameMayBeginWithACombiningMark() throws {
        // Searched by characters, "/" and U+0301 are one character, and the address would not parse.
        let address = try #require(SecretAddress("acct_1Fast/user:usr_1Fast/\u{301}name"))
        #expect(address.account == "acct_1Fast" && address.scope == .user("usr_1Fast"))
        #expect(address.name.utf8.elementsEqual("\u{301}name".utf8))
        #expect(SecretAddress(validating: address.description) == address)
        for text in ["account/", "acct_1/account", "user:/x", "nope/x", "acct_1Fast", "/x", "account\u{301}/x"] {
            #expect(SecretAddress(text) == nil, "\(text)")
        }
        #expect(SecretAddress("account/a/b")?.name == "a/b")
        #expect(SecretAddress("acct_x/y")?.account == nil, "acct_x is then a scope part, and not a valid one")
    }

    @Test func aPreparedKeyGivesTheFingerprintOfAFreshHMAC() {
        let key = FingerprintKey()
        let fingerprinter = Fingerprinter(key)
        for (index, name) in Self.names.enumerated() {
            let address = SecretAddress(account: "acct_1Fast", scope: .account, name: name)
            let value = SecretValue("value \(index) é")
            let addressBytes = Array(address.description.utf8)
            var message = withUnsafeBytes(of: UInt64(addressBytes.count).bigEndian) { Array($0) }
            message += addressBytes + Array(value.plaintext.utf8)
            let expected = key.withBytes { bytes in
                HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: bytes)).map {
                    String(format: "%02x", $0)
                }.joined()
            }
            // Twice from one prepared key: using it must not change it.
            #expect(fingerprinter.fingerprint(of: value, at: address).hex == expected)
            #expect(fingerprinter.fingerprint(of: value, at: address).hex == expected)
            #expect(key.fingerprint(of: value, at: address).hex == expected)
        }
    }
}
