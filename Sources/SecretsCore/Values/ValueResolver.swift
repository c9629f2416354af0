import SecretsModel

/// Reads secret values from their sources: environment variables and UTF-8 text files.
///
/// A file's leading UTF-8 byte order mark is dropped (editors add it; it is never meant as
/// part of a secret), and so is one trailing LF or CRLF unless the source says otherwise.
/// A problem names the variable or the path, never the content.
public struct ValueResolver: Sendable {
    /// Stripe's limit on a payload, in characters (counted as Unicode scalars).
    public static let maxLength = StripeLimits.maxLength
    /// Files are read whole up to this size; a valid value (5,000 characters) is at most
    /// 20,000 bytes, so anything larger is refused unread.
    static let maxFileBytes = 1 << 20

    public let environment: Environment
    /// The folder relative `file:` paths start from: the manifest's folder.
    public let directory: String

    public init(environment: Environment, directory: String) {
        self.environment = environment
        self.directory = directory
    }

    public func resolve(_ source: ValueSource) -> Result<SecretValue, ValueProblem> {
        switch source {
        case .environment(let name): resolveVariable(name)
        case .file(let path, let trimNewline): resolveFile(path, trimNewline: trimNewline)
        }
    }

    private func resolveVariable(_ name: String) -> Result<SecretValue, ValueProblem> {
        if environment.notUTF8.contains(name) {
            return .failure(ValueProblem("environment variable \(name) is not UTF-8 text"))
        }
        guard let value = environment.values[name] else {
            return .failure(ValueProblem("environment variable \(name) is not set"))
        }
        return checked(value, "environment variable \(name)", emptyHint: "")
    }

    private func resolveFile(_ path: String, trimNewline: Bool) -> Result<SecretValue, ValueProblem> {
        let fullPath = path.hasPrefix("/") ? path : directory + "/" + path
        let bytes: [UInt8]
        do {
            bytes = try FileReader.contents(of: fullPath, maxBytes: Self.maxFileBytes)
        } catch {
            return .failure(
                ValueProblem(
                    error.describe(
                        path,
                        notFoundHint: path.hasPrefix("/")
                            ? nil : "relative paths start at the manifest's folder",
                        limit: "Stripe allows at most \(Self.maxLength.grouped) characters")))
        }
        if bytes.contains(0) {
            return .failure(ValueProblem("\(path) is binary (it holds a NUL byte); secret files must be UTF-8 text"))
        }
        guard var text = String(validating: bytes, as: UTF8.self) else {
            return .failure(ValueProblem("\(path) is not valid UTF-8 text"))
        }
        if text.unicodeScalars.first == "\u{FEFF}" { text.unicodeScalars.removeFirst() }
        let newline = !trimNewline ? 0 : text.hasSuffix("\r\n") ? 2 : text.hasSuffix("\n") ? 1 : 0
        text.unicodeScalars.removeLast(newline)
        return checked(text, path, emptyHint: newline > 0 ? " after trimming the final newline" : "")
    }

    private func checked(_ value: String, _ what: String, emptyHint: String) -> Result<SecretValue, ValueProblem> {
        let length = value.unicodeScalars.count
        if length == 0 {
            return .failure(ValueProblem("\(what) is empty\(emptyHint); Stripe refuses an empty secret"))
        }
        if length > Self.maxLength {
            return .failure(
                ValueProblem(
                    "\(what) is \(length.grouped) characters; Stripe allows at most \(Self.maxLength.grouped)"))
        }
        return .success(SecretValue(value))
    }
}
/// Why a value could not be resolved; the message never contains the value.
public struct ValueProblem: Error, Equatable, Sendable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }
}
