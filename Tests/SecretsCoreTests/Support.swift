import Foundation
import Testing

@testable import SecretsCore

/// 2027-01-15T08:00:00Z: a fixed "now", so expiry checks do not depend on the day tests run.
let fixedNow: Int64 = 1_800_000_000

/// Values the tests put into the environment. None may ever appear in output.
let canaryValue = "sk-canary-openai-value"
let fixtureEnvironment: Environment = [
    "OPENAI_API_KEY": canaryValue,
    "SHARED_KEY": "shared-canary-value",
    "EMPTY_VAR": "",
    "LONG_VAR": String(repeating: "L", count: 5001),
]

enum Fixtures {
    static let root: URL = {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("the Fixtures folder is not in the test bundle")
        }
        return url
    }()

    /// The names (without `.yaml`) of the manifests in one fixture folder.
    static func names(in folder: String) -> [String] {
        let files =
            (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
    }

    static func path(_ folder: String, _ name: String, _ ext: String = "yaml") -> String {
        root.appendingPathComponent(folder).appendingPathComponent("\(name).\(ext)").path
    }
}

/// Checks a manifest as `validate` does; the diagnostics text, or nil when it is valid.
func validationOutput(path: String, environment: Environment = fixtureEnvironment) -> String? {
    do {
        _ = try ManifestLoader.check(path: path, now: fixedNow, environment: environment, values: .required)
        return nil
    } catch {
        return error.description
    }
}
