// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ELicence",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "elicence", targets: ["elicence"]),
        .library(name: "LicenceCore", targets: ["LicenceCore"]),
        .library(name: "LicenceCrypto", targets: ["LicenceCrypto"]),
        .library(name: "LicenceStore", targets: ["LicenceStore"]),
        .library(name: "LicenceQR", targets: ["LicenceQR"]),
        .library(name: "LicenceLog", targets: ["LicenceLog"]),
        .library(name: "LicenceServer", targets: ["LicenceServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // zlib, used by the token codec for its bounded DEFLATE step.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // OpenSSL 3 (libcrypto): SM2-with-SM3, key generation and PKCS#8 PEM files.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // libqrencode: QR module matrices.
        .systemLibrary(
            name: "CQRencode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),
        // SM2 signature verification with precomputed tables, in C with no dependencies.
        .target(name: "CSM2"),
        .target(
            name: "LicenceCore",
            dependencies: ["CZlib"]
        ),
        // The transparency log's formats: leaves, the RFC 9162 Merkle tree and its proofs, C2SP tiles,
        // checkpoints and signed notes. Pure, like LicenceCore, with SHA-256 from swift-crypto.
        .target(
            name: "LicenceLog",
            dependencies: ["LicenceCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "LicenceStore",
            dependencies: [
                "LicenceCore",
                "LicenceLog",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "LicenceQR",
            dependencies: ["CQRencode", "CZlib"]
        ),
        .target(
            name: "LicenceCrypto",
            dependencies: [
                "LicenceCore",
                "COpenSSL",
                "CSM2",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "LicenceServer",
            dependencies: [
                "LicenceCore",
                "LicenceCrypto",
                "LicenceStore",
                "LicenceLog",
                "LicenceQR",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "elicence",
            dependencies: [
                "LicenceCore",
                "LicenceCrypto",
                "LicenceStore",
                "LicenceLog",
                "LicenceQR",
                "LicenceServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // In-process verification speed for Tools/bench/run.
        .executableTarget(
            name: "elicence-bench",
            dependencies: ["LicenceCore", "LicenceCrypto"],
            path: "Tools/bench/ELicenceBench"
        ),
        // Usage records for Tools/bench/usage-records: bytes a record and the cost of an insert, at both ends.
        .executableTarget(
            name: "usage-records-bench",
            dependencies: ["LicenceStore", .product(name: "Logging", package: "swift-log")],
            path: "Tools/bench/UsageRecords"
        ),
        // The floor of the server's trivial route for Tools/bench/run: Hummingbird alone, one route.
        .executableTarget(
            name: "bare-hummingbird",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log")],
            path: "Tools/bench/BareHummingbird"
        ),
        .testTarget(
            name: "LicenceCoreTests",
            dependencies: ["LicenceCore", "TestSupport"]
        ),
        // Temporary directories, child processes and fixture paths shared by the test targets.
        .target(
            name: "TestSupport",
            dependencies: ["LicenceCore", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "LicenceCryptoTests",
            dependencies: ["LicenceCore", "LicenceCrypto", "TestSupport", "CSM2", "COpenSSL"]
        ),
        .testTarget(
            name: "LicenceStoreTests",
            dependencies: ["LicenceCore", "LicenceStore", "TestSupport"]
        ),
        .testTarget(
            name: "LicenceLogTests",
            dependencies: ["LicenceCore", "LicenceLog", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "LicenceQRTests",
            dependencies: ["LicenceQR", "TestSupport"]
        ),
        .testTarget(
            name: "LicenceServerTests",
            dependencies: [
                "LicenceCore", "LicenceCrypto", "LicenceLog", "LicenceServer", "LicenceStore", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "ELicenceTests",
            dependencies: ["LicenceCore", "LicenceCrypto", "LicenceStore", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
