// swift-tools-version: 6.1
import PackageDescription

/// Settings shared by every target of ours.
let swiftSettings: [SwiftSetting] = [
    // Swift 6 language mode is the package default; these keep us honest about what is coming next.
    // SE-0335: `any` must be spelled out for existential types.
    .enableUpcomingFeature("ExistentialAny"),
    // SE-0444: an import in one file does not leak member lookup into the others.
    .enableUpcomingFeature("MemberImportVisibility"),
    // SE-0409: imports are internal unless a file says otherwise.
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Causeway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "causeway", targets: ["causeway"]),
        .library(name: "CausewayCore", targets: ["CausewayCore"]),
        .library(name: "CausewayTrust", targets: ["CausewayTrust"]),
        .library(name: "CausewayMapping", targets: ["CausewayMapping"]),
        .library(name: "AdapterKit", targets: ["AdapterKit"]),
        .library(name: "AdapterKitTesting", targets: ["AdapterKitTesting"]),
        .library(name: "CausewayStore", targets: ["CausewayStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3" ..< "5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // OTLP over HTTP only: the gRPC exporter (and its build) is not needed.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        .target(
            name: "CausewayCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CausewayTrust",
            dependencies: ["CausewayCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CausewayMapping",
            dependencies: ["CausewayCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // The one API adapters see; adapters depend on it and their one driver only.
        .target(name: "AdapterKit", dependencies: ["CausewayCore"], swiftSettings: swiftSettings),
        // PostgreSQL URLs with libpq's TLS parameters (sslmode, sslrootcert, sslcert, sslkey), shared
        // by the PostgreSQL store and the PostgreSQL rows adapter.
        .target(
            name: "PostgresTLS",
            dependencies: [.product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // The store: agreements, outbox, attempts, ledger. SQLite (embedded default) and PostgreSQL.
        .target(
            name: "CausewayStore",
            dependencies: [
                "CausewayCore", "PostgresTLS", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Pipeline services, HTTP API and dashboard, composition root.
        .target(
            name: "CausewayGateway",
            dependencies: [
                "CausewayCore", "CausewayTrust", "CausewayMapping", "AdapterKit", "CausewayStore", "PostgresAdapter", "SQLiteAdapter",
                "TrytonAdapter", "HTTPAdapter", "FileAdapter", "ProcessAdapter",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Adapters: each depends on AdapterKit and its one driver.
        .target(
            name: "PostgresAdapter",
            dependencies: ["AdapterKit", "CausewayCore", "PostgresTLS", .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "Logging", package: "swift-log")],
            path: "Adapters/Postgres",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SQLiteAdapter",
            dependencies: ["AdapterKit", "CausewayCore", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Adapters/SQLite",
            swiftSettings: swiftSettings
        ),
        // Writes XML, JSON or CSV files atomically into a folder an ERP ingests.
        .target(name: "FileAdapter", dependencies: ["AdapterKit", "CausewayCore"], path: "Adapters/File", swiftSettings: swiftSettings),
        // Adapters in any language: a child program speaking JSON lines on stdin/stdout.
        .target(
            name: "ProcessAdapter",
            dependencies: ["AdapterKit", "CausewayCore"],
            path: "Adapters/Process",
            exclude: ["examples"],
            swiftSettings: swiftSettings
        ),
        // libxml2 for XML Schema validation (Debian: libxml2-dev).
        .systemLibrary(name: "CLibXML2", path: "Adapters/CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        // REST JSON and XML/SOAP calls.
        .target(
            name: "HTTPAdapter",
            dependencies: ["AdapterKit", "CausewayCore", "CLibXML2", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            path: "Adapters/HTTP",
            swiftSettings: swiftSettings
        ),
        // Purchase orders in the Tryton ERP over its JSON-RPC interface.
        .target(
            name: "TrytonAdapter",
            dependencies: ["AdapterKit", "CausewayCore", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            path: "Adapters/Tryton",
            swiftSettings: swiftSettings
        ),
        // For adapter authors' tests: an in-memory adapter and the conformance suite.
        .target(name: "AdapterKitTesting", dependencies: ["AdapterKit", "CausewayCore"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "causeway",
            dependencies: [
                "CausewayCore", "CausewayTrust", "CausewayMapping", "CausewayGateway", "CausewayStore", "SQLiteAdapter", "PostgresTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // libFuzzer entry point over read → canonicalize → verify. `scripts/fuzz` builds it with
        // `-sanitize=fuzzer`; a plain build gives a replay tool that runs saved inputs.
        .executableTarget(
            name: "causeway-fuzz",
            dependencies: ["CausewayCore", "CausewayTrust"],
            path: "Fuzz/causeway-fuzz",
            swiftSettings: swiftSettings
        ),
        // Test support: paths of the shared vectors and tools, helpers to run the CLI.
        .target(name: "CausewayTesting", swiftSettings: swiftSettings),
        .testTarget(name: "CausewayCoreTests", dependencies: ["CausewayCore", "CausewayTesting"], exclude: ["Support/rfc9162_ref.py"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CausewayTrustTests",
            dependencies: ["CausewayTrust", "CausewayTesting", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "CausewayMappingTests", dependencies: ["CausewayMapping", "CausewayTrust", "CausewayTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AdapterKitTests",
            dependencies: ["AdapterKit", "AdapterKitTesting", "CausewayTrust", "CausewayTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CausewayStoreTests",
            dependencies: [
                "CausewayStore", "CausewayCore", "CausewayTesting", "PostgresTLS", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CausewayGatewayTests",
            dependencies: ["CausewayGateway", "AdapterKit", "AdapterKitTesting", "CausewayStore", "CausewayTrust", "CausewayTesting",
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                           .product(name: "Tracing", package: "swift-distributed-tracing")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PostgresAdapterTests",
            dependencies: ["PostgresAdapter", "AdapterKit", "AdapterKitTesting", "CausewayCore", "CausewayMapping", "CausewayTesting",
                           .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SQLiteAdapterTests",
            dependencies: ["SQLiteAdapter", "AdapterKit", "AdapterKitTesting", "CausewayCore", "CausewayMapping", "CausewayTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FileAdapterTests",
            dependencies: ["FileAdapter", "AdapterKit", "AdapterKitTesting", "CausewayCore", "CausewayMapping", "CausewayTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProcessAdapterTests",
            dependencies: ["ProcessAdapter", "AdapterKit", "AdapterKitTesting", "CausewayCore", "CausewayMapping", "CausewayTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HTTPAdapterTests",
            dependencies: ["HTTPAdapter", "AdapterKit", "AdapterKitTesting", "CausewayCore", "CausewayMapping", "CausewayTesting"],
            exclude: ["Support/recording_server.py"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TrytonAdapterTests",
            dependencies: ["TrytonAdapter", "AdapterKit", "AdapterKitTesting", "CausewayCore", "CausewayMapping", "CausewayTesting"],
            swiftSettings: swiftSettings
        ),
        // The Python helpers beside the tests are run by them, not built.
        .testTarget(
            name: "CausewayCLITests", dependencies: ["causeway", "CausewayTrust", "CausewayTesting"],
            exclude: ["Support/audit_browser.py", "Support/callback_recorder.py", "Support/dashboard_browser.py", "Support/independent_signer.py",
                      "Support/tryton_purchase.py", "Support/tryton_query.py", "Support/versions_browser.py"],
            swiftSettings: swiftSettings
        ),
    ]
)
