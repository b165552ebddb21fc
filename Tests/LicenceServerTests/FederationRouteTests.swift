import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LicenceCore
import LicenceCrypto
import LicenceStore
import Logging
import NIOCore
import Prometheus
import TestSupport
import Testing
@testable import LicenceServer

/// The signed trust list route, and licences of an imported authority verified in process. The
/// end-to-end tests of two real servers are in ELicenceTests.
struct FederationRouteTests {
    @Test func theSignedTrustListVerifiesWithTheAnchor() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application().test(.router) { client in
            let answer = try await client.send(.get, "/v1/trust-list.cose")
            #expect(answer.status == .ok)
            #expect(answer.headers[.contentType] == #"application/cose; cose-type="cose-sign1""#)
            let bytes = Array(answer.response.body.readableBytesView)
            let anchor = try PublicKeys.verifier(pem: fixture.anchor.entry.publicKey)
            let list = try SignedTrustList.verify(bytes, anchors: [(fixture.anchor.signer.kid, anchor)], now: SystemClock().now)
            #expect(list.authorityCode == RouteFixture.authority.code)
            #expect(try list.sequence == fixture.keys.loadDocument().sequence)
            #expect(list.keys.count == 4)  // issuer, status, log and anchor
            #expect(list.statusBase == "http://127.0.0.1:8080/v1/status-lists/")
            #expect(list.expires - list.issuedAt == 7 * 86_400)
            // Reused until a key changes; a change is served at once with a higher sequence.
            #expect(Array(try await client.send(.get, "/v1/trust-list.cose").response.body.readableBytesView) == bytes)
            try fixture.keys.setState(kid: try fixture.keys.activeKey(role: .issuer).kid, to: .retired)
            let changed = try SignedTrustList.verify(Array(try await client.send(.get, "/v1/trust-list.cose").response.body.readableBytesView),
                                                     anchors: [(fixture.anchor.signer.kid, anchor)], now: SystemClock().now)
            #expect(changed.sequence == list.sequence + 1)
            // The JSON list carries the same sequence.
            #expect(try await client.send(.get, "/v1/trust-list").json["sequence"] as? Int == Int(changed.sequence))
        }
    }

    @Test func withoutAnAnchorKeyTheRouteSaysSo() async throws {
        let fixture = try await RouteFixture()
        let app = try await buildApplication(ServerDependencies(
            settings: ServerSettings(), registry: fixture.registry, keys: fixture.keys, statusSigner: fixture.statusSigner,
            metrics: PrometheusCollectorRegistry(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })))
        try await app.test(.router) { client in
            let answer = try await client.send(.get, "/v1/trust-list.cose")
            #expect(answer.status == .serviceUnavailable)
            #expect(answer.problemType == "urn:elicence:problem:no-anchor-key")
        }
    }

    /// Another authority (浙江) whose list names a status base on a port where nothing listens.
    struct Foreign {
        let keys: KeyStore
        let signer: any Signer
        let statusBase: String
        static let authority = Issuer(code: try! HolderCode.completing("11330000MB0005678", kind: .creditCode).value, name: "浙江省大数据发展管理局")
        static let agency = Issuer(code: try! HolderCode.completing("11330100MB0000789", kind: .creditCode).value, name: "杭州市市场监督管理局")

        init(_ dir: TemporaryDirectory, importInto importer: KeyStore) throws {
            keys = KeyStore(directory: dir.file("zhejiang-keys"))
            let now = SystemClock().now
            let issuer = try keys.generate(algorithm: .es256, role: .issuer, issuer: Self.agency, validYears: 5, passphrase: nil, now: now - 60)
            _ = try keys.generate(algorithm: .edDSA, role: .status, issuer: Self.agency, validYears: 5, passphrase: nil, now: now - 60)
            let anchor = try keys.generate(algorithm: .es256, role: .anchor, issuer: Self.authority, validYears: 10, passphrase: nil, now: now - 60)
            signer = try keys.privateKey(for: issuer, passphrase: nil).signer
            statusBase = "http://127.0.0.1:\(freePort())/v1/status-lists/"
            let export = TrustListExport(keys: keys)
            let bytes = try export.signed(anchor: try export.anchor(passphrase: nil), now: now, validity: 86_400, statusBase: statusBase).bytes
            try AuthorityDirectory(keys: importer).importAuthority(name: "zhejiang", anchorPEM: anchor.publicKey, url: nil,
                                                                  file: dir.file("none.cose"), bytes: bytes, now: now)
        }

        func token(uri: String) throws -> String {
            let today = CalendarDate(chinaDayOf: SystemClock().now)
            let licence = Licence(typeCode: "11100000000013338W011", typeName: "营业执照", number: "浙市监2026第000001号",
                                  holder: Holder(name: "杭州某某科技有限公司", code: try HolderCode("91350100MA2Y01111F", kind: .creditCode)),
                                  issuer: Self.agency, validFrom: today.adding(days: -1), validUntil: today.adding(years: 1), fields: [:])
            var random = SystemRandomNumberGenerator()
            let id = try LicenceIdentifier.generate(typeCode: licence.typeCode, issuerCode: Self.agency.code, at: SystemClock().now, using: &random)
            return try LicenceToken.sign(LicenceClaims(licence: licence, identifier: id, issuedAt: SystemClock().now,
                                                       status: StatusReference(index: 5, uri: uri)), with: signer)
        }
    }

    @Test func foreignLicencesNeverPassWithoutTheirStatusList() async throws {
        let fixture = try await RouteFixture()
        let foreign = try Foreign(fixture.directory, importInto: fixture.keys)
        try await fixture.application { $0.foreignStatusTimeout = .seconds(2) }.test(.router) { client in
            // The status server does not answer: not valid, and the answer names the authority.
            let unreachable = try await client.send(.post, "/v1/verify", json: ["token": foreign.token(uri: foreign.statusBase + "0")],
                                                    headers: fixture.agency)
            #expect(unreachable.json["valid"] as? Bool == false)
            #expect(unreachable.json["outcome"] as? String == "status_unavailable")
            #expect(unreachable.json["statusChecked"] as? Bool == false)
            #expect((unreachable.json["authority"] as? [String: Any])?["name"] as? String == "zhejiang")
            #expect((unreachable.json["authority"] as? [String: Any])?["displayName"] as? String == Foreign.authority.name)
            // A uri outside the authority's status base is not fetched at all.
            let stray = try await client.send(.post, "/v1/verify", json: ["token": foreign.token(uri: "http://127.0.0.1:9/v1/status-lists/0")])
            #expect(stray.json["outcome"] as? String == "status_unavailable")
            #expect((stray.json["message"] as? [String: Any])?["en"].map { "\($0)" }?.contains("not under the status base") == true)
            // A batch answers the same, in order, beside an own licence.
            let batch = try await client.send(.post, "/v1/verify/batch",
                                              json: ["tokens": [fixture.business.token, foreign.token(uri: foreign.statusBase + "1")]],
                                              headers: fixture.agency)
            let results = try #require(batch.json["results"] as? [[String: Any]])
            #expect(results.map { $0["outcome"] as? String } == ["valid", "status_unavailable"])
            #expect(results[0]["authority"] == nil)
        }
    }

    @Test func usageRecordsCountForeignLicencesByAuthority() async throws {
        let fixture = try await RouteFixture()
        let now = SystemClock().now
        try await fixture.registry.recordUsage([
            UsageRecord(agency: RouteFixture.agencyCode, licence: "x", action: .verify, cause: nil, outcome: "valid", at: now,
                        authority: Foreign.authority.code, authorityName: Foreign.authority.name),
            UsageRecord(agency: RouteFixture.agencyCode, licence: "y", action: .verify, cause: nil, outcome: "revoked", at: now,
                        authority: Foreign.authority.code, authorityName: Foreign.authority.name),
            UsageRecord(agency: RouteFixture.agencyCode, licence: fixture.business.id.description, action: .verify, cause: nil,
                        outcome: "valid", at: now),
        ])
        let statistics = try await fixture.registry.usageStatistics(since: now - 60)
        #expect(statistics.perAuthority == [UsageStatistics.Count(code: Foreign.authority.code, name: Foreign.authority.name, count: 2)])
        let records = try await fixture.registry.usage(licenceID: "x", agencyCode: nil, limit: 10)
        #expect(records.first?.authority == Foreign.authority.code)
        #expect(records.first?.authorityName == Foreign.authority.name)
    }
}

struct SignedTrustListPublisherTests {
    /// The served list is signed again once half its validity has passed, so it never lapses.
    @Test func signedAgainBeforeItLapses() async throws {
        let fixture = try await RouteFixture()
        let publisher = SignedTrustListPublisher(anchor: .init(entry: fixture.anchor.entry, signer: fixture.anchor.signer), validity: 120,
                                                 statusBase: "https://fj.example.gov.cn/v1/status-lists/")
        let document = try fixture.keys.loadDocument()
        let now = SystemClock().now
        let anchors: [(kid: [UInt8], verifier: any SignatureVerifier)] = [(fixture.anchor.signer.kid, try PublicKeys.verifier(pem: fixture.anchor.entry.publicKey))]
        let first = try #require(try await publisher.current(document, now: now))
        #expect(try await publisher.current(document, now: now + 59) == first)
        let second = try #require(try await publisher.current(document, now: now + 60))
        #expect(second != first)
        let list = try SignedTrustList.verify(second, anchors: anchors, now: now + 119)
        #expect(list.issuedAt == now + 60 && list.expires == now + 180)
    }
}
