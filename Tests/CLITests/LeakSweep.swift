import Foundation
import Testing

/// One made-up secret of a leak sweep: its text as the tool is given it, and the bytes that
/// matter (the text's UTF-8, or the key a base64 text stands for).
struct Canary {
    let label: String
    let text: String
    let raw: [UInt8]

    /// Letters and digits, different in every run.
    static func token(_ count: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<count).map { _ in alphabet.randomElement()! })
    }

    init(_ label: String, _ text: String, raw: [UInt8]? = nil) {
        self.label = label
        self.text = text
        self.raw = raw ?? Array(text.utf8)
    }

    /// What would betray the canary, each with the form it stands for: any 10 characters of the
    /// text in any case (so also the text percent-encoded or JSON-escaped, whose letters and digits
    /// stay as they are, and a message quoting part of it), the hex of any 10 of its bytes, and
    /// its bytes in base64 or base64url at each of the three alignments (the groups that do not
    /// depend on what surrounds it).
    var needles: [(form: String, bytes: [UInt8])] {
        let characters = Array(text.utf8)
        var found: [(String, [UInt8])] = []
        for start in 0...(characters.count - Self.window) {
            found.append(("10 characters", Array(characters[start..<start + Self.window])))
        }
        for start in 0...(raw.count - Self.window) {
            let hex = raw[start..<start + Self.window].map { String(format: "%02x", $0) }.joined()
            found.append(("hex", Array(hex.utf8)))
        }
        for shift in 0..<3 {
            let padded = [UInt8](repeating: 0, count: shift) + raw
            let encoded = Array(Data(padded + [0, 0]).base64EncodedString().utf8)
            // Group g encodes bytes 3g..<3g+3 of `padded`; only groups wholly inside `raw` are stable.
            let first = (shift + 2) / 3
            let end = (shift + raw.count) / 3
            guard end - first >= 3 else { continue }
            let stable = Array(encoded[(first * 4)..<(end * 4)])
            found.append(("base64", stable))
            let url = stable.map {
                $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0
            }
            if url != stable { found.append(("base64url", url)) }
        }
        return found
    }

    private static let window = 10
}

/// Everything a leak sweep saw: each run's output, every file the tool left (or held while
/// running), the emulator's output and the database; checked at the end for any canary.
final class LeakEvidence {
    let canaries: [Canary]
    private(set) var items: [(label: String, bytes: [UInt8])] = []

    init(_ canaries: [Canary]) {
        self.canaries = canaries
    }

    func record(_ label: String, _ bytes: [UInt8]) {
        items.append((label, bytes))
    }

    func record(_ label: String, _ output: BinaryRunner.Output) {
        record("\(label): stdout", Array(output.stdout.utf8))
        record("\(label): stderr", Array(output.stderr.utf8))
    }

    /// Every regular file under `folder` as it is now, but for `inputs` (relative paths of the
    /// files that hold a canary on purpose: a value file, a key file).
    func recordFiles(in folder: String, after label: String, except inputs: Set<String>) {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return }
        for case let name as String in walker where !inputs.contains(name) {
            let path = folder + "/" + name
            guard
                (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular,
                let data = FileManager.default.contents(atPath: path)
            else { continue }
            record("\(name) after \(label)", Array(data))
        }
    }

    /// The short fingerprints (`fp 1234abcd`) the outputs showed.
    var shortFingerprints: Set<String> {
        var found: Set<String> = []
        for item in items {
            let text = String(decoding: item.bytes, as: UTF8.self)
            for match in text.matches(of: /fp ([0-9a-f]{8})/) { found.insert(String(match.1)) }
        }
        return found
    }

    /// Each place a canary shows, as "what, in which form, where"; empty when none does.
    func leaks() -> [String] {
        // Needles by their first 8 bytes (in lower case), so that each item is scanned once.
        var byPrefix: [UInt64: [(canary: String, form: String, bytes: [UInt8])]] = [:]
        for canary in canaries {
            // A stretch two canaries share (such as `_test_fake`) is left to the whole of either.
            let others = canaries.filter { $0.label != canary.label }.map { Array($0.text.lowercased().utf8) }
            for needle in canary.needles {
                let lowered = needle.bytes.map(Self.lowered)
                if others.contains(where: { $0.firstRange(of: lowered) != nil }) { continue }
                byPrefix[Self.prefix(lowered, at: 0), default: []].append((canary.label, needle.form, lowered))
            }
        }
        var found: Set<String> = []
        for item in items where item.bytes.count >= 8 {
            let bytes = item.bytes.map(Self.lowered)
            for start in 0...(bytes.count - 8) {
                guard let candidates = byPrefix[Self.prefix(bytes, at: start)] else { continue }
                for needle in candidates
                where start + needle.bytes.count <= bytes.count
                    && bytes[start..<start + needle.bytes.count].elementsEqual(needle.bytes)
                {
                    found.insert("the \(needle.canary) (\(needle.form)) in \(item.label)")
                }
            }
        }
        return found.sorted()
    }

    private static func lowered(_ byte: UInt8) -> UInt8 {
        (65...90).contains(byte) ? byte + 32 : byte
    }

    private static func prefix(_ bytes: [UInt8], at start: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[start + $1]) }
    }
}
