// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "PatronVault",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "PatronVaultCore", targets: ["PatronVaultCore"]),
        .executable(name: "patronvault", targets: ["patronvault"]),
        .executable(name: "patronvaultd", targets: ["patronvaultd"]),
        .executable(name: "patronvault-bench", targets: ["patronvault-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.25.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .target(
            name: "PatronVaultCrypto",
            dependencies: ["CSodium", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "PatronVaultPolicy", dependencies: ["PatronVaultCrypto"]),
        .target(
            name: "PatronVaultAudit",
            dependencies: [
                "PatronVaultCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "PatronVaultCore",
            dependencies: [
                "PatronVaultCrypto",
                "PatronVaultPolicy",
                "PatronVaultAudit",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // Documents the export format; tests validate exports against it.
            exclude: ["Export/patron-data.schema.json"]
        ),
        // The second implementation of the storage protocols, for a consortium's shared vault:
        // records and keys in two PostgreSQL databases.
        .target(
            name: "PatronVaultPostgres",
            dependencies: [
                "PatronVaultCore",
                "PatronVaultCrypto",
                "PatronVaultAudit",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What both front ends share: where the vault is and how it opens, from options and
        // environment variables.
        .target(
            name: "PatronVaultFrontEnd",
            dependencies: ["PatronVaultCore", "PatronVaultPolicy", "PatronVaultPostgres", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "patronvault",
            dependencies: [
                "PatronVaultCore",
                "PatronVaultFrontEnd",
                "PatronVaultCrypto",
                "PatronVaultPolicy",
                "PatronVaultAudit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "patronvaultd",
            dependencies: [
                "PatronVaultCore",
                "PatronVaultFrontEnd",
                "PatronVaultPolicy",
                "PatronVaultAudit",
                "PatronVaultCrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The systemd unit README's daemon section installs, and the sample configuration of a
            // daemon on PostgreSQL.
            exclude: ["patronvaultd.service", "patronvaultd-postgres.conf"],
            resources: [.copy("openapi.yaml"), .copy("Web/patron.css")]
        ),
        .executableTarget(
            name: "patronvault-bench",
            dependencies: [
                "PatronVaultCore", "PatronVaultFrontEnd", "PatronVaultCrypto", "PatronVaultPolicy", "PatronVaultAudit", "PatronVaultPostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(name: "PatronVaultCryptoTests", dependencies: ["PatronVaultCrypto"]),
        .testTarget(name: "PatronVaultPolicyTests", dependencies: ["PatronVaultPolicy"]),
        .testTarget(
            name: "PatronVaultAuditTests",
            dependencies: ["PatronVaultAudit", "PatronVaultCrypto", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "PatronVaultCoreTests",
            dependencies: [
                "PatronVaultCore", "PatronVaultCrypto", "PatronVaultPolicy", "PatronVaultAudit", "PatronVaultPostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The storage protocols' conformance suite, run on SQLite and on PostgreSQL.
        .testTarget(
            name: "StorageConformanceTests",
            dependencies: [
                "PatronVaultCore", "PatronVaultPostgres", "PatronVaultCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["patronvault", "patronvaultd", "PatronVaultFrontEnd", "PatronVaultPostgres", .product(name: "GRDB", package: "GRDB.swift")],
            // The selenium script the web page tests run in Chromium.
            exclude: ["Browser"]
        ),
    ]
)
