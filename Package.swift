// swift-tools-version:6.0
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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
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
        .target(
            name: "LicenceCore",
            dependencies: ["CZlib"]
        ),
        .target(
            name: "LicenceStore",
            dependencies: [
                "LicenceCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
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
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "elicence",
            dependencies: [
                "LicenceCore",
                "LicenceCrypto",
                "LicenceStore",
                "LicenceQR",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CSV", package: "CSV.swift"),
            ]
        ),
        .testTarget(
            name: "LicenceCoreTests",
            dependencies: ["LicenceCore", "TestSupport"]
        ),
        // Temporary directories, child processes and fixture paths shared by the test targets.
        .target(
            name: "TestSupport",
            dependencies: ["LicenceCore"],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "LicenceCryptoTests",
            dependencies: ["LicenceCore", "LicenceCrypto", "TestSupport"]
        ),
        .testTarget(
            name: "LicenceStoreTests",
            dependencies: ["LicenceCore", "LicenceStore", "TestSupport"]
        ),
        .testTarget(
            name: "LicenceQRTests",
            dependencies: ["LicenceQR", "TestSupport"]
        ),
        .testTarget(
            name: "ELicenceTests",
            dependencies: ["LicenceCore", "LicenceCrypto", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
