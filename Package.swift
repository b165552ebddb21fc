// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ELicence",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "elicence", targets: ["elicence"]),
        .library(name: "LicenceCore", targets: ["LicenceCore"]),
        .library(name: "LicenceCrypto", targets: ["LicenceCrypto"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
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
        .target(
            name: "LicenceCore",
            dependencies: ["CZlib"]
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
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "LicenceCoreTests",
            dependencies: ["LicenceCore"]
        ),
        // Temporary directories, child processes and fixture paths shared by the test targets.
        .target(
            name: "TestSupport",
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "LicenceCryptoTests",
            dependencies: ["LicenceCore", "LicenceCrypto", "TestSupport"]
        ),
        .testTarget(
            name: "ELicenceTests",
            dependencies: ["LicenceCore", "LicenceCrypto", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
