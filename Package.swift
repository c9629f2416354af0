// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "stripe-secrets",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "stripe-secrets", targets: ["stripe-secrets"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // The system libyaml, seen only by StrictYAML.
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"]), .brew(["libyaml"])]
        ),
        // SHA-256 blocks with the x86 SHA instructions, for the fingerprints (a Swift fallback elsewhere).
        .target(name: "CSHA256"),
        // Before anything runs: no core dump of a process that holds plaintext values (prctl,
        // which Swift cannot call), and no closed 0, 1 or 2 left for a state file to take (a
        // constructor, which must run before the Swift runtime opens anything).
        .target(name: "CProcessGuard"),
        // The few types every layer shares: a secret's address and value, the Stripe mode, byte-wise text.
        .target(name: "SecretsModel"),
        // YAML text -> a strict node tree with line:column marks.
        .target(name: "StrictYAML", dependencies: ["CYAML", "SecretsModel"]),
        // Node tree -> Manifest -> resolved values -> Plan, and the State they are compared with.
        .target(
            name: "SecretsCore",
            dependencies: ["SecretsModel", "StrictYAML", "CSHA256", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The four Secret Store calls over HTTP: form encoding, retries, rate limits, typed errors.
        .target(
            name: "StripeAPI",
            dependencies: [
                "SecretsModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Where states live: a file beside the manifest, or a PostgreSQL database; one interface.
        .target(
            name: "StateStorage",
            dependencies: [
                "SecretsModel", "SecretsCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // What Stripe holds, for refreshed plans and imports: listings, and values as fingerprints.
        .target(name: "Refresh", dependencies: ["SecretsModel", "SecretsCore", "StripeAPI"]),
        // Plan -> Stripe calls -> State: checks a plan, runs its changes, journalling each completed call.
        .target(name: "Apply", dependencies: ["SecretsModel", "SecretsCore", "StateStorage", "StripeAPI"]),
        // The Secret Store on loopback, for the quickstart, the tests and offline rehearsals.
        .target(
            name: "Emulator",
            dependencies: [
                "SecretsModel", "StripeAPI",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Subcommands and views.
        .target(
            name: "StripeSecretsCLI",
            dependencies: [
                "SecretsModel", "SecretsCore", "StateStorage", "StripeAPI", "Apply", "Refresh", "Emulator",
                "CProcessGuard", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "stripe-secrets", dependencies: ["StripeSecretsCLI"],
            // Swift exports every symbol of an executable by default: 40,000 here, which the dynamic
            // loader hashes each library's symbols against at start-up (1.4 ms of every run; see
            // docs/performance.md). Nothing looks our symbols up by name.
            linkerSettings: [
                .unsafeFlags(["-Xlinker", "--no-export-dynamic"], .when(platforms: [.linux], configuration: .release))
            ]
        ),
        // `Benchmarks/run.sh` times manifest loading against a plain C libyaml event scan.
        .executableTarget(
            name: "manifest-load-benchmark",
            dependencies: ["SecretsModel", "SecretsCore", "StrictYAML"],
            path: "Benchmarks/ManifestLoad"
        ),
        // Helpers shared by the test targets.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "StrictYAMLTests", dependencies: ["StrictYAML", "TestSupport"]),
        .testTarget(name: "StripeAPITests", dependencies: ["SecretsModel", "StripeAPI"]),
        // The contract every state backend keeps, run against a file and a private PostgreSQL server.
        .testTarget(name: "StateStorageTests", dependencies: ["SecretsModel", "StateStorage", "TestSupport"]),
        .testTarget(
            name: "SecretsCoreTests",
            dependencies: ["SecretsModel", "SecretsCore", "TestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "StripeSecretsCLITests",
            dependencies: [
                "Apply", "CProcessGuard", "SecretsCore", "SecretsModel", "StateStorage", "StripeSecretsCLI",
                "TestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Runs the built binary; golden files are read from the source tree.
        .testTarget(
            name: "CLITests",
            dependencies: [
                "SecretsModel", "SecretsCore", "StateStorage", "StrictYAML", "StripeAPI", "Refresh", "TestSupport",
            ],
            exclude: ["Golden", "Hostile"]),
    ],
    swiftLanguageModes: [.v6]
)
