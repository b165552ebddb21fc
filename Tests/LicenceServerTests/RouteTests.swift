import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LicenceCore
import LicenceCrypto
import LicenceLog
import LicenceStore
import Logging
import NIOCore
import Prometheus
import TestSupport
import Testing
@testable import LicenceServer

/// The application `elicence serve` runs, built in process on a registry and key directory of its
/// own: three licence types (one of each sharing level), licences in every status, two agencies.
final class RouteFixture: Sendable {
    let directory = TemporaryDirectory("elicence-routes")
    let registry: any Registry
    let keys: KeyStore
    let issuerSigner: any Signer
    let statusSigner: any Signer
    let logKey: LogSigningKey
    let anchor: (entry: TrustListDocument.Entry, signer: any Signer)
    /// A key with a grant of the conditional type, and one with no grants.
    let agencyKey: String
    let otherAgencyKey: String
    let business: StoredLicence, revoked: StoredLicence, suspended: StoredLicence, food: StoredLicence, driving: StoredLicence

    static let issuer = Issuer(code: "11350000003591037R", name: "福州市市场监督管理局")
    static let authority = Issuer(code: try! HolderCode.completing("11350000MB0001234", kind: .creditCode).value, name: "福建省大数据管理局")
    static let businessType = "11100000000013338W011"
    static let foodType = "11100000000013338W021"
    static let drivingType = "11100000000013338W022"
    static let businessHolder = "91350100MA2Y01111F"
    static let citizen = try! HolderCode.completing("35012119920101123", kind: .citizenID)
    static let agencyCode = try! HolderCode.completing("11350100MB0000456", kind: .creditCode).value

    init() async throws {
        keys = KeyStore(directory: directory.file("keys"))
        let now = SystemClock().now
        let issuerKey = try keys.generate(algorithm: .es256, role: .issuer, issuer: Self.issuer, validYears: 5, passphrase: nil, now: now)
        let statusKey = try keys.generate(algorithm: .edDSA, role: .status, issuer: Self.issuer, validYears: 5, passphrase: nil, now: now)
        issuerSigner = try keys.privateKey(for: issuerKey, passphrase: nil).signer
        statusSigner = try keys.privateKey(for: statusKey, passphrase: nil).signer
        let logEntry = try keys.generate(algorithm: .edDSA, role: .log, issuer: Self.issuer, validYears: 5, passphrase: nil, now: now)
        logKey = LogSigningKey(signer: try keys.privateKey(for: logEntry, passphrase: nil).signer,
                               publicKey: try PublicKeys.ed25519Raw(pem: logEntry.publicKey))
        let anchorKey = try keys.generate(algorithm: .sm2, role: .anchor, issuer: Self.authority, validYears: 10, passphrase: nil, now: now)
        anchor = (anchorKey, try keys.privateKey(for: anchorKey, passphrase: nil).signer)
        registry = try await SQLiteRegistry.open(path: directory.file("registry.sqlite"))
        for type in [
            LicenceType(code: Self.businessType, name: "营业执照", holderKind: .enterprise, sharing: .unconditional,
                        fields: [.init(name: "法定代表人")], disclosed: ["法定代表人"], validityYears: 20),
            LicenceType(code: Self.foodType, name: "食品经营许可证", holderKind: .enterprise, sharing: .conditional,
                        fields: [.init(name: "主体业态")], disclosed: ["主体业态"], validityYears: 5),
            LicenceType(code: Self.drivingType, name: "机动车驾驶证", holderKind: .citizen, sharing: .none,
                        fields: [.init(name: "准驾车型")], disclosed: ["准驾车型"], validityYears: 6),
        ] {
            try await registry.addType(type, now: now)
        }
        let today = CalendarDate(chinaDayOf: now)
        func licence(_ type: String, _ name: String, _ number: String, holder: HolderCode, fields: [String: String]) -> Licence {
            Licence(typeCode: type, typeName: name, number: number, holder: Holder(name: "福州某某科技有限公司", code: holder),
                    issuer: Self.issuer, validFrom: today.adding(days: -10), validUntil: today.adding(years: 1), fields: fields)
        }
        let company = try HolderCode(Self.businessHolder, kind: .creditCode)
        let requests = [
            licence(Self.businessType, "营业执照", "B1", holder: company, fields: ["法定代表人": "张三"]),
            licence(Self.businessType, "营业执照", "B2", holder: company, fields: ["法定代表人": "张三"]),
            licence(Self.businessType, "营业执照", "B3", holder: company, fields: ["法定代表人": "张三"]),
            licence(Self.foodType, "食品经营许可证", "F1", holder: company, fields: ["主体业态": "餐饮服务经营者"]),
            licence(Self.drivingType, "机动车驾驶证", "D1", holder: Self.citizen, fields: ["准驾车型": "C1"]),
        ].map { IssueRequest(licence: $0) }
        let issued = try await registry.issue(requests, signer: issuerSigner, publicURL: "http://127.0.0.1:8080", actor: "test", now: now)
            .map { outcome -> StoredLicence in
                guard case .issued(let stored) = outcome else { throw RegistryError(.invalid, "not issued: \(outcome)") }
                return stored
            }
        (business, food, driving) = (issued[0], issued[3], issued[4])
        revoked = try await registry.changeStatus(id: issued[1].id, to: .revoked, reason: "吊销", actor: "test", now: now)
        suspended = try await registry.changeStatus(id: issued[2].id, to: .suspended, reason: "中止", actor: "test", now: now)
        agencyKey = AgencyKey.generate()
        otherAgencyKey = AgencyKey.generate()
        try await registry.addAgency(Agency(code: Self.agencyCode, name: "福州市行政服务中心", grants: [Self.foodType], createdAt: now),
                                     keyHash: AgencyKey.hash(agencyKey))
        try await registry.addAgency(Agency(code: Self.issuer.code, name: "福州市市场监督管理局", grants: [], createdAt: now),
                                     keyHash: AgencyKey.hash(otherAgencyKey))
    }

    func application(signsCheckpoints: Bool = true, _ adjust: (inout ServerSettings) -> Void = { _ in }) async throws -> some ApplicationProtocol {
        var settings = ServerSettings()
        adjust(&settings)
        return try await buildApplication(ServerDependencies(
            settings: settings, registry: registry, keys: keys, statusSigner: statusSigner, logKey: signsCheckpoints ? logKey : nil,
            anchor: anchor,
            metrics: PrometheusCollectorRegistry(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })))
    }

    var agency: HTTPFields { [.authorization: "Bearer \(agencyKey)"] }
    var otherAgency: HTTPFields { [.authorization: "Bearer \(otherAgencyKey)"] }
}

/// A request's JSON answer.
struct Answer {
    let response: TestResponse

    var status: HTTPResponse.Status { response.status }
    var headers: HTTPFields { response.headers }
    var text: String { String(buffer: response.body) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any] ?? [:] }
    var problemType: String? { json["type"] as? String }
}

extension TestClientProtocol {
    func send(_ method: HTTPRequest.Method, _ uri: String, json: Any? = nil, body: String? = nil,
              headers: HTTPFields = [:]) async throws -> Answer {
        var fields = headers
        var buffer: ByteBuffer?
        if let json {
            buffer = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            fields[.contentType] = "application/json"
        } else if let body {
            buffer = ByteBuffer(string: body)
        }
        return Answer(response: try await execute(uri: uri, method: method, headers: fields, body: buffer))
    }
}

/// Every route of the table, in process: answers, problems and access rules.
struct RouteTests {
    @Test func everyRouteIsServedAndDocumented() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application().test(.router) { client in
            let spec = try await client.send(.get, "/openapi.json")
            #expect(spec.json["openapi"] as? String == "3.1.0")
            let paths = try #require(spec.json["paths"] as? [String: [String: Any]])
            for route in RouteTable.api.routes {
                #expect(paths[route.path]?[route.method.rawValue.lowercased()] != nil, "\(route.method) \(route.path) is undocumented")
                // Devices and windows have credentials of their own (WalletRouteTests); without them, 401.
                if route.access == .device || route.access == .window || route.path == "/v1/window/session" {
                    if route.access == .device && route.method == .get {
                        #expect(try await client.send(route.method, route.path, headers: fixture.agency).status == .unauthorized)
                    }
                    continue
                }
                let uri = route.path.replacingOccurrences(of: "{id}", with: fixture.business.id.description)
                    .replacingOccurrences(of: "{n}", with: "0").replacingOccurrences(of: "{tile}", with: "0/000.p/1")
                let body: Any? = route.method == .post
                    ? ["token": fixture.business.token, "tokens": [fixture.business.token], "holderCode": RouteFixture.businessHolder] : nil
                let answer = try await client.send(route.method, uri, json: body, headers: fixture.agency)
                #expect(answer.status == .ok, "\(route.method) \(uri): \(answer.text)")
                // Who may call it: an agency route refuses anonymous callers.
                if route.access == .agency {
                    let anonymous = try await client.send(route.method, uri, json: body)
                    #expect(anonymous.status == .unauthorized && anonymous.problemType == "urn:elicence:problem:unauthenticated")
                    #expect(anonymous.headers[.wwwAuthenticate] == "Bearer")
                }
            }
            #expect(paths.count == Set(RouteTable.api.routes.map(\.path)).count)
        }
    }

    @Test func verificationAnswersEveryOutcome() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application().test(.router) { client in
            func verify(_ token: String) async throws -> [String: Any] {
                let answer = try await client.send(.post, "/v1/verify", json: ["token": token], headers: fixture.agency)
                #expect(answer.status == .ok && answer.headers[.contentType] == "application/json; charset=utf-8")
                return answer.json
            }
            let valid = try await verify(fixture.business.token)
            #expect(valid["valid"] as? Bool == true && valid["statusChecked"] as? Bool == true)
            #expect((valid["licence"] as? [String: Any])?["typeName"] as? String == "营业执照")
            #expect(try await verify(fixture.revoked.token)["outcome"] as? String == "revoked")
            #expect(try await verify(fixture.suspended.token)["outcome"] as? String == "suspended")
            let garbage = try await verify("not a licence")
            #expect(garbage["outcome"] as? String == "malformed" && garbage["layer"] as? String == "prefix" && garbage["licence"] == nil)
            // Signed by a trusted key, never issued into the registry.
            let claims = LicenceClaims(licence: fixture.business.licence, identifier: RegistryAbsent.identifier,
                                       issuedAt: SystemClock().now, status: nil, disclosedFields: [])
            let unissued = LicenceToken.encode(sign1: try LicenceToken.sign1(claims, with: fixture.issuerSigner))
            #expect(try await verify(unissued)["outcome"] as? String == "unknown_licence")

            // A change committed to the registry is reported by the very next verification.
            _ = try await fixture.registry.changeStatus(id: fixture.business.id, to: .suspended, reason: "x", actor: "t", now: 1)
            #expect(try await verify(fixture.business.token)["outcome"] as? String == "suspended")
        }
    }

    @Test func unreadableRequestsAreProblems() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application({ $0.maxBatch = 3 }).test(.router) { client in
            func problem(_ answer: Answer, _ status: HTTPResponse.Status, _ type: String, _ words: String? = nil) {
                #expect(answer.status == status, "\(answer.text)")
                #expect(answer.headers[.contentType] == "application/problem+json")
                #expect(answer.problemType == "urn:elicence:problem:\(type)", "\(answer.text)")
                #expect((answer.json["message"] as? [String: String])?["zh"]?.isEmpty == false)
                if let words { #expect(answer.text.contains(words), "\(answer.text)") }
            }
            problem(try await client.send(.post, "/v1/verify", body: "{\"token\": ", headers: fixture.agency), .badRequest, "invalid-json")
            problem(try await client.send(.post, "/v1/verify", json: ["tokens": []], headers: fixture.agency),
                    .unprocessableContent, "invalid-request")
            problem(try await client.send(.post, "/v1/verify", body: String(repeating: " ", count: 2 << 20), headers: fixture.agency),
                    .contentTooLarge, "body-too-large")
            problem(try await client.send(.post, "/v1/verify/batch", json: ["tokens": ["a", "b", "c", "d"]], headers: fixture.agency),
                    .contentTooLarge, "batch-too-large")
            problem(try await client.send(.post, "/v1/verify", json: ["token": "x"], headers: [.authorization: "Bearer elk_0"]),
                    .unauthorized, "invalid-key")
            problem(try await client.send(.get, "/v1/nothing"), .notFound, "not-found")
            let wrongMethod = try await client.send(.delete, "/v1/trust-list")
            problem(wrongMethod, .methodNotAllowed, "method-not-allowed")
            #expect(wrongMethod.headers[.allow] == "GET, HEAD")
            let long = String(repeating: "%E4%BC%81", count: 200)
            problem(try await client.send(.get, "/healthz", headers: [HTTPField.Name("X-Use-Cause")!: long]), .badRequest, "invalid-header")
        }
    }

    @Test func identifiersAndHolderCodesAreCheckedWhereTheyEnter() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application().test(.router) { client in
            let id = fixture.business.id.description
            let wrongCheck = String(id.dropLast()) + (id.last == "A" ? "B" : "A")
            for path in ["/v1/licences/\(wrongCheck)", "/v1/licences/\(wrongCheck)/usage"] {
                let answer = try await client.send(.get, path, headers: fixture.agency)
                #expect(answer.status == .badRequest && answer.problemType == "urn:elicence:problem:invalid-parameter", "\(answer.text)")
                #expect(answer.text.contains("expected \(id.last!)"), "\(answer.text)")
            }
            let malformed = try await client.send(.get, "/v1/licences/1.2.156.3005.2.x", headers: fixture.agency)
            #expect(malformed.status == .badRequest)
            let absent = try await client.send(.get, "/v1/licences/\(RegistryAbsent.identifier)", headers: fixture.agency)
            #expect(absent.status == .notFound && absent.problemType == "urn:elicence:problem:not-found")

            let lookup = try await client.send(.post, "/v1/holders/licences", json: ["holderCode": "91350100MA2Y01111G"], headers: fixture.agency)
            #expect(lookup.status == .badRequest && lookup.problemType == "urn:elicence:problem:invalid-field", "\(lookup.text)")
            #expect(lookup.text.contains("holderCode") && lookup.text.contains("expected F"), "\(lookup.text)")
            let pilot = try await client.send(.post, "/v1/holders/licences", json: ["holderCode": "91350100MA2Y01111G", "allowBadChecksum": true],
                                              headers: fixture.agency)
            #expect(pilot.status == .ok && pilot.json["withheld"] as? Int == 0)
            let citizen = String(RouteFixture.citizen.value.dropLast()) + (RouteFixture.citizen.value.last == "1" ? "2" : "1")
            let wrongID = try await client.send(.post, "/v1/holders/licences", json: ["holderCode": citizen], headers: fixture.agency)
            #expect(wrongID.status == .badRequest && wrongID.text.contains("公民身份号码"), "\(wrongID.text)")
        }
    }

    @Test func sharingLevelsDecideWhatAnAgencyReads() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application().test(.router) { client in
            func read(_ stored: StoredLicence, _ headers: HTTPFields) async throws -> [String: Any] {
                try await client.send(.get, "/v1/licences/\(stored.id)", headers: headers).json
            }
            let business = try await read(fixture.business, fixture.otherAgency)
            #expect(business["detailsShared"] as? Bool == true && business["licence"] != nil && business["valid"] as? Bool == true)
            #expect(try await read(fixture.food, fixture.agency)["detailsShared"] as? Bool == true)  // granted
            let food = try await read(fixture.food, fixture.otherAgency)
            #expect(food["detailsShared"] as? Bool == false && food["licence"] == nil)
            let driving = try await read(fixture.driving, fixture.agency)
            #expect(driving["detailsShared"] as? Bool == false && driving["valid"] as? Bool == true && driving["sharing"] as? String == "none")
            #expect(try await read(fixture.revoked, fixture.agency)["valid"] as? Bool == false)

            // One holder number (一号): shared licences listed, the others only counted.
            let holder = try await client.send(.post, "/v1/holders/licences", json: ["holderCode": RouteFixture.businessHolder],
                                               headers: fixture.otherAgency).json
            #expect((holder["licences"] as? [Any])?.count == 3 && holder["withheld"] as? Int == 1, "\(holder)")
            let citizen = try await client.send(.post, "/v1/holders/licences", json: ["holderCode": RouteFixture.citizen.value],
                                                headers: fixture.agency).json
            #expect((citizen["licences"] as? [Any])?.isEmpty == true && citizen["withheld"] as? Int == 1)

            // Usage records: only for licences whose details the agency may read; pending ones included.
            let forbidden = try await client.send(.get, "/v1/licences/\(fixture.food.id)/usage", headers: fixture.otherAgency)
            #expect(forbidden.status == .forbidden && forbidden.problemType == "urn:elicence:problem:not-shared")
            let usage = try await client.send(.get, "/v1/licences/\(fixture.business.id)/usage", headers: fixture.agency).json
            let records = try #require(usage["records"] as? [[String: Any]])
            #expect(records.contains { $0["action"] as? String == "read" && $0["agency"] as? String == RouteFixture.issuer.code })
            // Times in ISO 8601, like every other time of the API.
            #expect(records.allSatisfy { ($0["at"] as? String).flatMap(Timestamp.parse) != nil }, "\(records)")

            // An agency revoked in the registry is refused by the very next request.
            _ = try await fixture.registry.revokeAgency(code: RouteFixture.issuer.code, now: 1)
            let refused = try await client.send(.get, "/v1/licences/\(fixture.business.id)", headers: fixture.otherAgency)
            #expect(refused.status == .unauthorized && refused.problemType == "urn:elicence:problem:invalid-key")
        }
    }

    @Test func batchesAnswerInOrder() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application().test(.router) { client in
            let tokens = [fixture.business.token, "junk", fixture.revoked.token, fixture.suspended.token, fixture.business.token]
            let batch = try await client.send(.post, "/v1/verify/batch", json: ["tokens": tokens], headers: fixture.agency).json
            let outcomes = (batch["results"] as? [[String: Any]])?.map { $0["outcome"] as? String }
            #expect(outcomes == ["valid", "malformed", "revoked", "suspended", "valid"])
        }
    }

    @Test func anonymousCallersAreLimitedAgenciesAreNot() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application({ $0.anonymousVerificationsPerMinute = 3 }).test(.router) { client in
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<4 { statuses.append(try await client.send(.post, "/v1/verify", json: ["token": "x"]).status) }
            #expect(statuses == [.ok, .ok, .ok, .tooManyRequests])
            let limited = try await client.send(.post, "/v1/verify", json: ["token": "x"])
            #expect(limited.problemType == "urn:elicence:problem:rate-limited" && Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(try await client.send(.post, "/v1/verify", json: ["token": "x"], headers: fixture.agency).status == .ok)
        }
    }

    @Test func statusListsTrustListAndOperations() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application().test(.router) { client in
            let list = try await client.send(.get, "/v1/status-lists/0")
            #expect(list.status == .ok && list.headers[.contentType] == "application/statuslist+cwt")
            let token = try StatusListToken.verify(Array(list.response.body.readableBytesView), trustStore: try fixture.keys.trustList())
            let source = StatusListSource([token])
            for (stored, expected) in [(fixture.business, LicenceStatusAnswer.valid), (fixture.revoked, .revoked), (fixture.suspended, .suspended)] {
                #expect(source.status(of: try LicenceToken.decode(stored.token).claims, now: SystemClock().now) == expected)
            }
            #expect(try await client.send(.get, "/v1/status-lists/99").status == .notFound)
            #expect(try await client.send(.get, "/v1/status-lists/x").status == .notFound)

            let trust = try await client.send(.get, "/v1/trust-list").json
            #expect((trust["keys"] as? [Any])?.count == 4)  // issuer, status, log and anchor
            #expect(try await client.send(.get, "/healthz").json["status"] as? String == "ok")
            #expect(try await client.send(.get, "/readyz").json["status"] as? String == "ready")
            #expect(try await client.send(.get, "/metrics").headers[.contentType]?.hasPrefix("text/plain") == true)
            let page = try await client.send(.get, "/")
            #expect(page.status == .ok && page.text.contains("电子证照核验"))
            #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
        }
    }
}

/// The transparency log over HTTP, in process.
struct LogRouteTests {
    @Test func checkpointsTilesAndProofs() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application().test(.router) { client in
            // 5 issuances and 2 status changes: 7 leaves, signed into a checkpoint named after the public URL.
            let note = try await client.send(.get, "/v1/log/checkpoint")
            #expect(note.status == .ok && note.headers[.contentType] == "text/plain; charset=utf-8" && note.headers[.cacheControl] == "no-cache")
            let key = SignedNote.Key(name: "127.0.0.1:8080/v1/log", publicKey: fixture.logKey.publicKey)
            let logVerifier = try PublicKeys.verifier(pem: try fixture.keys.activeKey(role: .log).publicKey)
            let checkpoint = try #require(Checkpoint(text: try SignedNote.open(note.text, key: key, verifier: logVerifier)))
            #expect(checkpoint.size == 7 && checkpoint.origin == "127.0.0.1:8080/v1/log")

            // Tiles: the partial level-0 tile of 7 hashes and the entry bundle, which hash alike; the
            // root from them is the checkpoint's.
            let tile = try await client.send(.get, "/v1/log/tile/0/000.p/7")
            #expect(tile.status == .ok && tile.response.body.readableBytes == 7 * 32 && tile.headers[.cacheControl] == "public, max-age=10")
            let bundle = try await client.send(.get, "/v1/log/tile/entries/000.p/7")
            var bytes = Array(bundle.response.body.readableBytesView)
            var compact = CompactRange()
            var entries: [[UInt8]] = []
            while bytes.count >= 2 {
                let length = Int(bytes[0]) << 8 | Int(bytes[1])
                entries.append(Array(bytes[2..<(2 + length)]))
                bytes.removeFirst(2 + length)
            }
            let hashes = Array(tile.response.body.readableBytesView)
            for (index, entry) in entries.enumerated() {
                #expect(Array(hashes[(index * 32)..<(index * 32 + 32)]) == Merkle.leafHash(entry))
                compact.append(leafHash: Merkle.leafHash(entry))
            }
            #expect(entries.count == 7 && compact.root == checkpoint.root)
            #expect(LogLeaf(decoding: entries[0]).map { if case .issuance = $0 { return true } else { return false } } == true)
            for missing in ["/v1/log/tile/0/000", "/v1/log/tile/0/000.p/8", "/v1/log/tile/1/000.p/1", "/v1/log/tile/0/001",
                            "/v1/log/tile/0/0", "/v1/log/tile/x", "/v1/log/tile/entries/000.p/08"] {
                let answer = try await client.send(.get, missing)
                #expect(answer.status == .notFound && answer.problemType == "urn:elicence:problem:not-found", "\(missing)")
            }
            #expect(try await client.send(.post, "/v1/log/tile/0/000.p/7").status == .methodNotAllowed)

            // A licence's proof verifies against the checkpoint, and a verification says where it stands.
            let proof = try await client.send(.get, "/v1/licences/\(fixture.revoked.id)/log-proof").json
            let index = try #require(proof["index"] as? Int64)
            let path = try #require(proof["inclusionProof"] as? [String]).map { [UInt8](Data(base64Encoded: $0)!) }
            let leaf = [UInt8](Data(base64Encoded: try #require(proof["leaf"] as? String))!)
            #expect(Merkle.verifyInclusion(leafHash: Merkle.leafHash(leaf), index: index, size: 7, proof: path, root: checkpoint.root))
            #expect(proof["checkpoint"] as? String == note.text && index == 1)
            let verified = try await client.send(.post, "/v1/verify", json: ["token": fixture.revoked.token]).json
            #expect((verified["log"] as? [String: Int])?["index"] == 1 && (verified["log"] as? [String: Int])?["treeSize"] == 7,
                    "\(verified)")
            #expect(try await client.send(.post, "/v1/verify", json: ["token": "x"]).json["log"] == nil)

            // A licence issued now is proved against a checkpoint signed for it.
            var licence = fixture.business.licence
            licence.number = "B9"
            guard case .issued(let fresh) = try await fixture.registry.issue([IssueRequest(licence: licence)], signer: fixture.issuerSigner,
                                                                            publicURL: "http://127.0.0.1:8080", actor: "t",
                                                                            now: SystemClock().now)[0] else {
                Issue.record("not issued")
                return
            }
            let freshProof = try await client.send(.get, "/v1/licences/\(fresh.id)/log-proof").json
            #expect(freshProof["index"] as? Int64 == 7 && freshProof["treeSize"] as? Int64 == 8, "\(freshProof)")
            #expect(try await client.send(.get, "/v1/licences/\(RegistryAbsent.identifier)/log-proof").status == .notFound)
        }
    }

    @Test func aServerWithoutTheLogKeyServesWhatOthersSigned() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application(signsCheckpoints: false).test(.router) { client in
            let answer = try await client.send(.get, "/v1/log/checkpoint")
            #expect(answer.status == .serviceUnavailable && answer.problemType == "urn:elicence:problem:no-checkpoint")
        }
        try await fixture.application().test(.router) { client in
            let answer = try await client.send(.get, "/v1/log/checkpoint")
            #expect(answer.status == .ok)
        }
        try await fixture.application(signsCheckpoints: false).test(.router) { client in
            let answer = try await client.send(.get, "/v1/log/checkpoint")
            #expect(answer.text.hasPrefix("127.0.0.1:8080/v1/log\n7\n"))
        }
    }
}

/// A well-formed identifier no registry here holds.
enum RegistryAbsent {
    static let identifier = try! LicenceIdentifier(typeCode: "11100000000013338W011", issuerCode: "11350000003591037R",
                                                   serial: "20269999999999999999", version: 1)
}
