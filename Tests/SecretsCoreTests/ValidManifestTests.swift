import Testing
import TestSupport
@testable import SecretsCore
import SecretsModel

@Suite struct ValidManifestTests {
    @Test func everyFeatureLoadsIntoTheModel() throws {
        let path = Fixtures.path("valid", "every-feature")
        let manifest = try ManifestLoader.load(path: path, now: fixedNow)
        let own = "acct_1Nv0FGQ9RKHgCVdK"
        let summary = manifest.secrets.map { secret in
            "\(secret.address) \(secret.source) \(secret.expiresAt.map(String.init) ?? "-") \(secret.location.position)"
        }
        #expect(
            summary == [
                "\(own)/account/openai_api_key env OPENAI_API_KEY - 7:5",
                "\(own)/account/webhook_signing_key file keys/webhook.pem 4086460800 9:5",
                "\(own)/user:usr_OkDR2bKzwpXu3s/oauth_token file keys/oauth.txt 4102444800 12:5",
                "acct_A1/account/shared_config_key env SHARED_KEY - 16:5",
                "acct_B1/account/shared_config_key env SHARED_KEY - 16:5",
                "\(own)/account/no env SHARED_KEY 4086460800 19:5",
                "acct_A1/account/0123 env OPENAI_API_KEY - 24:5",
                "\(own)/account/nested/name/with/slashes env OPENAI_API_KEY - 27:5",
            ])
        #expect(manifest.secrets[2].source == .file(path: "keys/oauth.txt", trimNewline: false))
        #expect(manifest.secrets[1].source == .file(path: "keys/webhook.pem", trimNewline: true))
        #expect(manifest.footprint.scopes == 4)
        #expect(manifest.footprint.accounts == 3)
        #expect(manifest.secrets.map(\.protect) == Array(repeating: false, count: 7) + [true])
    }

    /// The count hashes only where the scope changes; scopes left and come back to, and the
    /// own account next to a connected one's, count once each.
    @Test func theFootprintCountsEachScopeAndAccountOnce() {
        let order: [(String?, SecretScope)] = [
            (nil, .account), (nil, .account), ("acct_A1", .account), (nil, .account), ("acct_A1", .user("usr_U1")),
            ("acct_B1", .user("usr_U1")), ("acct_A1", .account), (nil, .user("usr_U1")), ("acct_B1", .user("usr_U1")),
        ]
        let location = SourceLocation(file: "secrets.yaml", line: 1, column: 1)
        let secrets = order.enumerated().map { index, scope in
            SecretDeclaration(
                address: SecretAddress(account: scope.0, scope: scope.1, name: "s\(index)"),
                source: .environment("V"), expiresAt: nil, location: location, valueLocation: location)
        }
        let footprint = Manifest(path: "secrets.yaml", directory: ".", secrets: secrets).footprint
        #expect(footprint.scopes == 5)
        #expect(footprint.accounts == 3)
    }

    @Test func valuesResolveWithTheirTrimmingRules() throws {
        let path = Fixtures.path("valid", "every-feature")
        let secrets = try ManifestLoader.check(
            path: path, now: fixedNow, environment: fixtureEnvironment, values: .required
        ).values
        let values = Dictionary(
            secrets.map { ($0.declaration.address.name, try? $0.result.get().plaintext) },
            uniquingKeysWith: { a, _ in a })
        #expect(values["openai_api_key"] == canaryValue)
        #expect(values["webhook_signing_key"] == "file-canary-value")
        #expect(values["oauth_token"] == "oauth-canary-value\n")
        #expect(secrets.count == 8)
    }

    @Test(arguments: ["examples/basic/secrets.yaml", "examples/multi-account/secrets.yaml"])
    func examplesValidateWithNoEnvironment(example: String) throws {
        let repository = #filePath.components(separatedBy: "/Tests/")[0]
        let checked = try ManifestLoader.check(
            path: repository + "/" + example, now: fixedNow, environment: [:], values: .required)
        #expect(!checked.manifest.secrets.isEmpty)
        #expect(checked.values.count == checked.manifest.secrets.count)
    }

    @Test func addressesParseBackFromTheirWrittenForm() throws {
        let addresses = [
            SecretAddress(account: nil, scope: .account, name: "a/b"),
            SecretAddress(account: "acct_1", scope: .user("usr_2"), name: "x"),
        ]
        for address in addresses { #expect(SecretAddress(address.description) == address) }
        #expect(SecretAddress("team/x") == nil)
        #expect(SecretAddress("account/") == nil)
    }

    @Test func namesThatDifferOnlyInNormalisationAreTwoSecrets() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write(
            "secrets.yaml",
            "version: 1\nsecrets:\n  - name: \"caf\u{E9}\"\n    value: {env: A}\n  - name: \"cafe\u{301}\"\n    value: {env: A}\n"
        )
        let manifest = try ManifestLoader.load(path: path, now: fixedNow)
        #expect(manifest.secrets.count == 2)
        #expect(manifest.secrets[0].address != manifest.secrets[1].address)
    }

    @Test func secretValuesNeverPrint() {
        let value = SecretValue(canaryValue)
        #expect("\(value)" == "<redacted>")
        #expect(String(reflecting: value) == "<redacted>")
        var dumped = ""
        dump(value, to: &dumped)
        #expect(!dumped.contains(canaryValue))
    }

    /// A fingerprint key, above all one kept apart from the state, is as secret as a value: a
    /// key or a state printed by an error, a log line or a failed test shows none of its bytes.
    @Test func fingerprintKeysNeverPrint() throws {
        let key = try #require(FingerprintKey(keptApart: Array(FingerprintKey().base64.utf8), allowRaw: false))
        let state = State(keptApartKey: key)
        #expect("\(key)" == "<redacted>")
        #expect(String(reflecting: key) == "<redacted>")
        var texts = ["\(state)", String(reflecting: state)]
        for item in [key, state] as [Any] {
            var dumped = ""
            dump(item, to: &dumped)
            texts.append(dumped)
        }
        for text in texts {
            #expect(!text.contains(key.base64))
            // The key's bytes, as a mirror would list them.
            #expect(!text.contains("bytes"))
        }
    }
}
