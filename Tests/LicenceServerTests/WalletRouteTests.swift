import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LicenceCore
import LicenceCrypto
import LicenceStore
import TestSupport
import Testing
@testable import LicenceServer

/// A holder enrolled through the API: the device and its holder code.
struct Enrolled {
    let device: TestDevice
    let holderCode: String
}

extension RouteFixture {
    /// Makes an enrolment code for `holderCode`, as `elicence holders invite` does.
    func invite(_ holderCode: String, expiresIn: Int64 = 86_400) async throws -> String {
        let code = InviteCode.generate()
        let now = SystemClock().now
        try await registry.addInvite(HolderInvite(codeHash: InviteCode.hash(normalized: InviteCode.normalize(code)!),
                                                  holderCode: holderCode, createdAt: now - 10, expiresAt: now + expiresIn))
        return code
    }

    /// A citizen's licence whose number is the citizen's ID number (as a driving licence's often is).
    func drivingLicenceNumberedByID() async throws -> StoredLicence {
        let today = CalendarDate(chinaDayOf: SystemClock().now)
        let licence = Licence(typeCode: Self.drivingType, typeName: "机动车驾驶证", number: Self.citizen.value,
                              holder: Holder(name: "林小明", code: Self.citizen), issuer: Self.issuer,
                              validFrom: today.adding(days: -1), validUntil: today.adding(years: 6), fields: ["准驾车型": "C1"])
        let outcome = try await registry.issue([IssueRequest(licence: licence)], signer: issuerSigner,
                                               publicURL: "http://127.0.0.1:8080", actor: "test", now: SystemClock().now)
        guard case .issued(let stored) = outcome[0] else { throw RegistryError(.invalid, "not issued: \(outcome[0])") }
        return stored
    }
}

extension TestClientProtocol {
    /// A wallet request signed by `device`.
    func wallet(_ method: HTTPRequest.Method, _ path: String, _ device: TestDevice, json: Any? = nil) async throws -> Answer {
        try await send(method, path, json: json, headers: [HTTPField.Name("DPoP")!: device.dpop(method.rawValue, "http://localhost\(path)")])
    }

    func enrol(_ device: TestDevice, code: String) async throws -> Answer {
        try await wallet(.post, "/v1/wallet/enrol", device, json: ["code": code, "label": "test phone"])
    }

    func verify(_ token: String, headers: HTTPFields = [:]) async throws -> [String: Any] {
        let answer = try await send(.post, "/v1/verify", json: ["token": token], headers: headers)
        #expect(answer.status == .ok, "\(answer.text)")
        return answer.json
    }
}

/// The holder's side: enrolment, the DPoP-signed wallet API, presentation codes, and service
/// windows signed in as their agency.
struct WalletRouteTests {
    @Test func enrolmentCodesWorkOnceAndSayWhyNot() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application().test(.router) { client in
            let code = try await fixture.invite(RouteFixture.citizen.value)
            let phone = TestDevice()
            // Typed forgivingly: lower case, blanks, O for 0 and I/L for 1 all read as the code.
            let typed = code.lowercased().replacingOccurrences(of: "-", with: " ")
            let enrolled = try await client.enrol(phone, code: typed)
            #expect(enrolled.status == .ok, "\(enrolled.text)")
            #expect(enrolled.json["device"] as? String == phone.id)
            #expect(enrolled.json["holderCode"] as? String == "350121********1232" || (enrolled.json["holderCode"] as? String)?.contains("********") == true)

            func refused(_ answer: Answer, _ status: HTTPResponse.Status, _ type: String) {
                #expect(answer.status == status, "\(answer.text)")
                #expect(answer.problemType == "urn:elicence:problem:\(type)", "\(answer.text)")
                let message = answer.json["message"] as? [String: String]
                #expect(message?["zh"]?.isEmpty == false && message?["en"]?.isEmpty == false)
            }
            refused(try await client.enrol(TestDevice(), code: code), .conflict, "enrolment-code-used")
            refused(try await client.enrol(TestDevice(), code: InviteCode.generate()), .notFound, "enrolment-code-unknown")
            refused(try await client.enrol(TestDevice(), code: "12345"), .badRequest, "enrolment-code-mistyped")
            let expired = try await fixture.invite(RouteFixture.citizen.value, expiresIn: -1)
            refused(try await client.enrol(TestDevice(), code: expired), .gone, "enrolment-code-expired")
            // Nothing changed: only the first device is the holder's.
            #expect(try await fixture.registry.devices(holderCode: RouteFixture.citizen.value).map(\.id) == [phone.id])
        }
    }

    @Test func wrongCodesAreRateLimitedPerAddress() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application().test(.router) { client in
            // Ten wrong codes a minute: the bucket starts full and refills one code every six seconds,
            // so a busy machine may be allowed one more for every six seconds the attempts took.
            let started = ContinuousClock.now
            var statuses: [HTTPResponse.Status] = []
            var limited: Answer?
            for _ in 0..<20 where limited == nil {
                let answer = try await client.enrol(TestDevice(), code: InviteCode.generate())
                statuses.append(answer.status)
                if answer.status == .tooManyRequests { limited = answer }
            }
            let refilled = Int(((ContinuousClock.now - started) / .seconds(6)).rounded(.up))
            let wrong = statuses.filter { $0 == .notFound }.count
            #expect(statuses.prefix(10).allSatisfy { $0 == .notFound }, "\(statuses)")
            #expect(wrong <= 10 + refilled, "\(statuses) in \(ContinuousClock.now - started)")
            #expect(limited?.problemType == "urn:elicence:problem:rate-limited")
            #expect(Int(limited?.headers[.retryAfter] ?? "") ?? 0 >= 1)
        }
    }

    @Test func everyWalletCallCarriesAFreshProofOfAnEnrolledDevice() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application().test(.router) { client in
            let phone = TestDevice()
            #expect(try await client.enrol(phone, code: try await fixture.invite(RouteFixture.citizen.value)).status == .ok)
            #expect(try await client.wallet(.get, "/v1/wallet/licences", phone).status == .ok)

            let dpop = HTTPField.Name("DPoP")!
            func refused(_ proof: String?, _ type: String, path: String = "/v1/wallet/licences") async throws {
                let answer = try await client.send(.get, path, headers: proof.map { [dpop: $0] } ?? [:])
                #expect(answer.status == .unauthorized, "\(type): \(answer.text)")
                #expect(answer.problemType == "urn:elicence:problem:\(type)", "\(answer.text)")
                #expect(answer.headers[.wwwAuthenticate]?.hasPrefix("DPoP") == true)
            }
            let url = "http://localhost/v1/wallet/licences"
            let now = Int64(Date().timeIntervalSince1970)
            try await refused(nil, "missing-dpop")
            try await refused(phone.dpop("POST", url), "invalid-dpop")
            try await refused(phone.dpop("GET", "http://localhost/v1/wallet/usage"), "invalid-dpop")
            try await refused(phone.dpop("GET", url, iat: now - 120), "invalid-dpop")
            try await refused(phone.dpop("GET", url, iat: now + 120), "invalid-dpop")
            try await refused(phone.dpop("GET", url, header: ["alg": "none"]), "invalid-dpop")
            try await refused(phone.dpop("GET", url, header: ["typ": "JWT"]), "invalid-dpop")
            var tampered = phone.dpop("GET", url)
            tampered.removeLast(2)
            tampered += tampered.hasSuffix("AA") ? "BB" : "AA"
            try await refused(tampered, "invalid-dpop")
            try await refused("not.a.jwt", "invalid-dpop")
            // The same proof twice: the second is a replay.
            let once = phone.dpop("GET", url)
            #expect(try await client.send(.get, "/v1/wallet/licences", headers: [dpop: once]).status == .ok)
            try await refused(once, "invalid-dpop")
            // A key never enrolled, and a device removed.
            try await refused(TestDevice().dpop("GET", url), "unknown-device")
            #expect(try await client.wallet(.delete, "/v1/wallet/device", phone).status == .ok)
            try await refused(phone.dpop("GET", url), "unknown-device")
        }
    }

    @Test func aDeviceSeesOnlyItsHoldersLicencesAndRecords() async throws {
        let fixture = try await RouteFixture()
        let numbered = try await fixture.drivingLicenceNumberedByID()
        try await fixture.application().test(.router) { client in
            let citizen = TestDevice(), company = TestDevice()
            #expect(try await client.enrol(citizen, code: try await fixture.invite(RouteFixture.citizen.value)).status == .ok)
            #expect(try await client.enrol(company, code: try await fixture.invite(RouteFixture.businessHolder)).status == .ok)

            let citizens = try await client.wallet(.get, "/v1/wallet/licences", citizen)
            let citizenItems = try #require(citizens.json["items"] as? [[String: Any]])
            #expect(Set(citizenItems.compactMap { $0["id"] as? String }) == [fixture.driving.id.description, numbered.id.description])
            // The ID number is masked wherever the licence repeats it, also in the holder's own list.
            #expect(!citizens.text.contains(RouteFixture.citizen.value), "\(citizens.text)")
            let numberedItem = try #require(citizenItems.first { $0["id"] as? String == numbered.id.description })
            #expect(numberedItem["number"] as? String == RouteFixture.citizen.disclosedForm)
            #expect((numberedItem["qr"] as? String)?.hasPrefix("<svg") == true || (numberedItem["qr"] as? String)?.contains("<svg") == true)
            #expect(numberedItem["disclosable"] as? [String] == ["准驾车型"])

            let companys = try #require(try await client.wallet(.get, "/v1/wallet/licences", company).json["items"] as? [[String: Any]])
            #expect(Set(companys.compactMap { $0["id"] as? String })
                    == Set([fixture.business, fixture.revoked, fixture.suspended, fixture.food].map(\.id.description)))

            // The citizen's presentation shows up in the citizen's records, never in the company's.
            let shown = try await client.verify(try citizen.present(numbered.id.description))
            #expect(shown["outcome"] as? String == "valid", "\(shown)")
            var records: [[String: Any]] = []
            for _ in 0..<100 where records.isEmpty {
                records = try #require(try await client.wallet(.get, "/v1/wallet/usage", citizen).json["items"] as? [[String: Any]])
                if records.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(records.first?["action"] as? String == "present" && records.first?["licence"] as? String == numbered.id.description)
            #expect(records.first?["outcome"] as? String == "valid")
            let companyRecords = try #require(try await client.wallet(.get, "/v1/wallet/usage", company).json["items"] as? [[String: Any]])
            #expect(companyRecords.allSatisfy { $0["licence"] as? String != numbered.id.description })
            // A device of one holder cannot present another's licence.
            #expect(try await client.verify(try company.present(numbered.id.description))["outcome"] as? String == "unknown_device")
        }
    }

    @Test func presentationCodesAreCheckedInOrder() async throws {
        let fixture = try await RouteFixture()
        let numbered = try await fixture.drivingLicenceNumberedByID()
        try await fixture.application().test(.router) { client in
            let phone = TestDevice()
            #expect(try await client.enrol(phone, code: try await fixture.invite(RouteFixture.citizen.value)).status == .ok)
            let id = numbered.id.description

            let code = try phone.present(id)
            #expect(code.count <= PresentationCode.maxLength, "\(code.count) characters")
            let valid = try await client.verify(code)
            #expect(valid["valid"] as? Bool == true && valid["outcome"] as? String == "valid", "\(valid)")
            let presentation = try #require(valid["presentation"] as? [String: Any])
            #expect(presentation["device"] as? String == phone.id)
            #expect(presentation["disclosed"] as? [String] == ["准驾车型"])
            let licence = try #require(valid["licence"] as? [String: Any])
            #expect(licence["number"] as? String == RouteFixture.citizen.disclosedForm)
            #expect(!"\(valid)".contains(RouteFixture.citizen.value))

            #expect(try await client.verify(code)["outcome"] as? String == "presentation_replayed")
            let now = Int64(Date().timeIntervalSince1970)
            #expect(try await client.verify(try phone.present(id, iat: now - 200, lifetime: 90))["outcome"] as? String == "presentation_expired")
            #expect(try await client.verify(try phone.present(id, iat: now + 120))["outcome"] as? String == "presentation_expired")
            // The holder disclosed nothing: validity only.
            let nothing = try await client.verify(try phone.present(id, disclosed: []))
            #expect(nothing["valid"] as? Bool == true && ((nothing["licence"] as? [String: Any])?["fields"] as? [String: String] ?? [:]).isEmpty)
            #expect((nothing["presentation"] as? [String: Any])?["disclosed"] as? [String] == [])
            // A code of a licence no one issued, and garbage after the prefix.
            #expect(try await client.verify(try phone.present("NOT-A-LICENCE"))["outcome"] as? String == "unknown_licence")
            let garbled = try await client.verify("EL1P:" + String(try phone.present(id).dropFirst(5).prefix(40)))
            #expect(garbled["outcome"] as? String == "malformed" && garbled["layer"] != nil)

            // Revoked licence: the status and since when.
            _ = try await fixture.registry.changeStatus(id: numbered.id, to: .revoked, reason: "注销", actor: "t", now: SystemClock().now)
            let revoked = try await client.verify(try phone.present(id))
            #expect(revoked["outcome"] as? String == "revoked" && revoked["statusSince"] is String, "\(revoked)")
            // A device removed by the agency.
            _ = try await fixture.registry.revokeDevice(id: phone.id, now: SystemClock().now)
            #expect(try await client.verify(try phone.present(fixture.driving.id.description))["outcome"] as? String == "unknown_device")
        }
    }

    @Test func aSignedInWindowIsItsAgency() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application({ $0.anonymousVerificationsPerMinute = 2 }).test(.router) { client in
            let secret = "elw_" + WindowSessions.random(24)
            _ = try await fixture.registry.addWindowCredential(agencyCode: RouteFixture.agencyCode, label: "窗口 3",
                                                               hash: WindowSessions.hash(secret), now: SystemClock().now)
            let wrong = try await client.send(.post, "/v1/window/session", json: ["credential": "elw_nothing"])
            #expect(wrong.status == .unauthorized && wrong.problemType == "urn:elicence:problem:invalid-window-credential")

            let signIn = try await client.send(.post, "/v1/window/session", json: ["credential": " \(secret) "])
            #expect(signIn.status == .ok, "\(signIn.text)")
            let cookie = try #require(signIn.headers[.setCookie])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.hasPrefix("elicence_window="))
            let csrf = try #require(signIn.json["csrfToken"] as? String)
            let session: HTTPFields = [.cookie: String(cookie.prefix { $0 != ";" })]
            let current = try await client.send(.get, "/v1/window/session", headers: session).json
            #expect(current["agency"] as? String == RouteFixture.agencyCode && current["signedIn"] as? Bool == true)

            // Ten scans: none limited as anonymous; each is a use by the window's agency.
            var withCSRF = session
            withCSRF[WindowSessions.csrfHeader] = csrf
            for _ in 0..<10 {
                #expect(try await client.verify(fixture.business.token, headers: withCSRF)["valid"] as? Bool == true)
            }
            // A state-changing request of the session without its CSRF token is refused.
            let forged = try await client.send(.post, "/v1/verify", json: ["token": fixture.business.token], headers: session)
            #expect(forged.status == .forbidden && forged.problemType == "urn:elicence:problem:csrf")
            var recorded: [UsageRecord] = []
            for _ in 0..<100 where recorded.count < 10 {
                recorded = try await fixture.registry.usage(licenceID: fixture.business.id.description, agencyCode: RouteFixture.agencyCode, limit: 100)
                if recorded.count < 10 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(recorded.count == 10)

            // Signed out: anonymous again, and limited as such.
            #expect(try await client.send(.delete, "/v1/window/session", headers: withCSRF).status == .ok)
            #expect(try await client.send(.get, "/v1/window/session", headers: session).json["signedIn"] as? Bool == false)
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<3 { statuses.append(try await client.send(.post, "/v1/verify", json: ["token": fixture.business.token], headers: session).status) }
            #expect(statuses == [.ok, .ok, .tooManyRequests])
        }
    }

    @Test func pagesSendSecurityHeadersAndEveryGetAnswersHead() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application().test(.router) { client in
            for path in ["/", "/wallet"] {
                let page = try await client.send(.get, path)
                #expect(page.status == .ok)
                let policy = try #require(page.headers[.contentSecurityPolicy])
                #expect(!policy.contains("unsafe-inline") && policy.contains("frame-ancestors 'none'") && policy.contains("script-src 'self'"))
                #expect(page.headers[.xContentTypeOptions] == "nosniff")
                #expect(page.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
                // No inline script or style for the policy to refuse.
                #expect(!page.text.contains("<script>") && !page.text.contains("<style") && !page.text.contains(" style=")
                        && !page.text.contains(" onclick="), "\(path) has inline code")
            }
            for route in RouteTable.api.routes where route.method == .get && !route.path.contains("{") {
                let get = try await client.send(.get, route.path, headers: fixture.agency)
                let head = try await client.send(.head, route.path, headers: fixture.agency)
                #expect(head.status == get.status, "HEAD \(route.path)")
                #expect(head.response.body.readableBytes == 0)
                #expect(head.headers[.contentType] == get.headers[.contentType])
                if ["/healthz", "/openapi.json", "/v1/trust-list"].contains(route.path) {  // the same body every time
                    #expect(head.headers[.contentLength] == String(get.response.body.readableBytes), "HEAD \(route.path)")
                }
            }
        }
    }

    @Test func trustAndStatusListsAnswerNotModified() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application().test(.router) { client in
            for path in ["/v1/trust-list", "/v1/status-lists/0", "/wallet.js"] {
                let first = try await client.send(.get, path)
                #expect(first.status == .ok, "\(path): \(first.text)")
                let tag = try #require(first.headers[.eTag])
                let again = try await client.send(.get, path, headers: [.ifNoneMatch: tag])
                #expect(again.status == .notModified && again.response.body.readableBytes == 0, "\(path)")
                #expect(try await client.send(.get, path, headers: [.ifNoneMatch: "\"other\""]).status == .ok)
            }
            // A change of status is a new list, and a new tag.
            let before = try #require(try await client.send(.get, "/v1/status-lists/0").headers[.eTag])
            _ = try await fixture.registry.changeStatus(id: fixture.business.id, to: .suspended, reason: "x", actor: "t", now: SystemClock().now)
            try await Task.sleep(for: .seconds(PublicController.statusListReuse + 1))
            let after = try await client.send(.get, "/v1/status-lists/0", headers: [.ifNoneMatch: before])
            #expect(after.status == .ok && after.headers[.eTag] != before)
        }
    }
}
