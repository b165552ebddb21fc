import Foundation
import LicenceCore
import TestSupport
import Testing
@testable import LicenceCrypto

/// The worked example of the DocC article "Token format": rebuilt here from its stated inputs with
/// the committed test key, every layer must match the hex printed in the article.
struct WorkedExampleTests {
    static let article = Paths.repositoryRoot + "/Sources/LicenceCore/LicenceCore.docc/TokenFormat.md"
    static let kid = "bcaca28b1d2d3661"

    /// Every layer of the example, by the name used in the article's `<!-- example:NAME -->` markers.
    static func layers() throws -> [(name: String, value: String)] {
        let pem = try FileIO.read(Paths.testKeys + "/private/\(kid).key.pem", limit: 4096)
        let key = try PrivateKey(pem: pem, passphrase: nil)
        let licence = try LicenceDocument(
            type: "11100000000013338W011", typeName: "营业执照", number: "闽市监2026第000123号",
            holder: .init(name: "福州某某科技有限公司", code: "91350100MA2Y01111F", codeType: "001"),
            issuer: .init(name: "福州市市场监督管理局", code: "11350000003591037R"),
            validFrom: "2026-01-15", validUntil: .date("2046-01-14"),
            fields: ["注册资本": "100万元人民币", "法定代表人": "张三"]).validated()
        let identifier = try LicenceIdentifier.sequential(typeCode: licence.typeCode, issuerCode: licence.issuer.code,
                                                          year: 2026, sequence: 123)
        let claims = LicenceClaims(licence: licence, identifier: identifier,
                                   issuedAt: Timestamp.parse("2026-01-15T09:30:00+08:00")!,
                                   status: StatusReference(index: 4711, uri: "https://elicence.example/v1/status-lists/0"))
        let sign1 = try LicenceToken.sign1(claims, with: key.signer)
        let cose = sign1.encoded()
        let compressed = Zlib.compress(cose)
        return [
            ("kid", Hex.encode(key.kid)),
            ("identifier", identifier.description),
            ("payload", Hex.encode(sign1.payload)),
            ("protected", Hex.encode(sign1.protectedBytes)),
            ("tbs", Hex.encode(sign1.toBeSigned)),
            ("signature", Hex.encode(sign1.signature)),
            ("cose", Hex.encode(cose)),
            ("zlib", Hex.encode(compressed)),
            ("token", LicenceToken.encode(coseBytes: cose)),
        ]
    }

    /// The text of the code block following each `<!-- example:NAME -->` marker, line breaks removed
    /// (hex is wrapped; the token, whose base45 alphabet has a space, stays on one line).
    static func articleBlocks(_ path: String = article, marker prefix: String = "<!-- example:") throws -> [String: String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var blocks: [String: String] = [:]
        var scanner = text[...]
        while let marker = scanner.range(of: prefix) {
            let rest = scanner[marker.upperBound...]
            guard let close = rest.range(of: " -->"), let open = rest.range(of: "```"),
                  let lineEnd = rest[open.upperBound...].firstIndex(of: "\n"),
                  let end = rest[lineEnd...].range(of: "```") else { break }
            let name = String(rest[..<close.lowerBound])
            blocks[name] = rest[lineEnd..<end.lowerBound].filter { $0 != "\n" }
            scanner = rest[end.upperBound...]
        }
        return blocks
    }

    @Test func articleShowsEveryLayerOfTheExample() throws {
        let blocks = try Self.articleBlocks()
        for (name, value) in try Self.layers() {
            let shown = try #require(blocks[name], "the article has no block <!-- example:\(name) -->")
            #expect(shown == value, "layer \(name) differs from the article")
        }
    }

    @Test func exampleTokenVerifies() throws {
        let token = try #require(try Self.layers().last?.value)
        let trust = try KeyStore(directory: Paths.testKeys).trustList()
        let now = Timestamp.parse("2026-06-01T00:00:00Z")!
        #expect(Verifier(trustStore: trust, clock: FixedClock(now)).verify(token).outcome == .valid)
    }

    /// Prints the layers in the article's layout; run with ELICENCE_PRINT_EXAMPLE=1 after a format change.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["ELICENCE_PRINT_EXAMPLE"] == "1"))
    func printLayers() throws {
        for (name, value) in try Self.layers() {
            var lines: [String] = []
            var rest = Substring(value)
            let width = name == "token" || name == "identifier" ? Int.max : 64
            while !rest.isEmpty {
                lines.append(String(rest.prefix(width)))
                rest = rest.dropFirst(width)
            }
            print("<!-- example:\(name) -->\n```\n\(lines.joined(separator: "\n"))\n```\n")
        }
    }
}

/// The worked example of the DocC article "Signed trust lists", rebuilt from its stated inputs with
/// the committed test keys (Ed25519 signatures are deterministic).
struct WorkedTrustListTests {
    static let article = Paths.repositoryRoot + "/Sources/LicenceCore/LicenceCore.docc/SignedTrustLists.md"

    static func layers() throws -> [(name: String, value: String)] {
        let pem = try FileIO.read(Paths.testKeys + "/private/bcaca28b1d2d3661.key.pem", limit: 4096)
        let anchor = try PrivateKey(pem: pem, passphrase: nil)
        let document = try KeyStore(directory: Paths.testKeys).loadDocument()
        let status = try #require(document.keys.first { $0.kid == "a7803fb1b9c065b6" })
        let issuedAt = try #require(Timestamp.parse("2026-12-01T00:00:00+08:00"))
        let list = SignedTrustList(
            authorityCode: try HolderCode.completing("11350000MB0001234", kind: .creditCode).value, authorityName: "福建省大数据管理局", issuedAt: issuedAt, expires: issuedAt + 7 * 86_400,
            sequence: 4,
            keys: [SignedTrustList.Key(kid: try #require(Hex.decode(status.kid)), algorithm: .es256, role: .status, issuer: status.issuer,
                                       spki: try #require(PEM.decode(status.publicKey, label: "PUBLIC KEY")),
                                       notBefore: try #require(Timestamp.parse(status.notBefore)),
                                       notAfter: try #require(Timestamp.parse(status.notAfter)), state: .active)],
            statusBase: "https://elicence.example/v1/status-lists/")
        let bytes = try list.signed(with: anchor.signer)
        let sign1 = try COSESign1(decoding: bytes)
        return [("protected", Hex.encode(sign1.protectedBytes)), ("payload", Hex.encode(sign1.payload)),
                ("signature", Hex.encode(sign1.signature)), ("cose", Hex.encode(bytes))]
    }

    @Test func articleShowsEveryPartOfTheExample() throws {
        let blocks = try WorkedExampleTests.articleBlocks(Self.article, marker: "<!-- trust-example:")
        for (name, value) in try Self.layers() {
            guard let shown = blocks[name] else {
                Issue.record("the article has no block <!-- trust-example:\(name) -->; it is:\n\(value)")
                continue
            }
            #expect(shown == value, "part \(name) differs from the article:\n\(value)")
        }
    }

    @Test func exampleVerifiesWithItsAnchor() throws {
        let block = try #require(try WorkedExampleTests.articleBlocks(Self.article, marker: "<!-- trust-example:")["cose"])
        let cose = try #require(Hex.decode(block))
        let pem = try FileIO.read(Paths.testKeys + "/private/bcaca28b1d2d3661.key.pem", limit: 4096)
        let anchor = try PrivateKey(pem: pem, passphrase: nil)
        let list = try SignedTrustList.verify(cose, anchors: [(anchor.kid, try PublicKeys.verifier(spki: anchor.publicKeyDER))],
                                              now: try #require(Timestamp.parse("2026-12-02T00:00:00+08:00")))
        #expect(list.sequence == 4 && list.keys.first?.role == .status)
    }
}
