import Foundation

/// The JSON settings every file of ours uses: snake_case keys, sorted, pretty, slashes unescaped.
public enum JSONCoding {
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// `value` as one compact line of JSON and its newline (journal lines).
    public static func encodeLine(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return Array(try encoder.encode(value)) + [UInt8(ascii: "\n")]
    }

    /// `value` as one pretty JSON document and a final newline.
    public static func encodeDocument(_ value: some Encodable) throws -> [UInt8] {
        Array(try encoder.encode(value)) + [UInt8(ascii: "\n")]
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    /// A decoding error in a few words: which field and what was wrong.
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "unreadable JSON" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "the document" : String(keys.drop(while: { $0 == "." }))
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return parent == "the document" ? "no \(key.stringValue)" : "no \(key.stringValue) in \(parent)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context)) has the wrong type"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context)) is invalid"
        @unknown default:
            return "unreadable JSON"
        }
    }
}

/// The first fields of each of our JSON files, read before anything else to tell what a file is.
struct FormatHeader: Decodable {
    var format: String?
    var formatVersion: Int?
}

/// Why one of our files could not be read, before its content is looked at.
public enum DocumentRead {
    /// The file's bytes, or nil when it does not exist. `kind` names it in messages.
    public static func bytes(_ path: String) throws(FileReadProblem) -> [UInt8]? {
        do {
            return try FileReader.contents(of: path, maxBytes: 256 << 20)
        } catch {
            switch error {
            case .notFound: return nil
            case .isDirectory, .notRegularFile: throw .notAFile
            case .tooLarge(let size): throw .unreadable("\(size.grouped) bytes is too large")
            case .unreadable(let reason): throw .unreadable(reason)
            }
        }
    }

    public enum FileReadProblem: Error {
        case notAFile
        case unreadable(String)
    }

    /// True when the bytes hold nothing but white space or NULs (a file cut short).
    public static func isBlank(_ bytes: [UInt8]) -> Bool {
        bytes.allSatisfy { $0 == 0 || $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
    }
}
