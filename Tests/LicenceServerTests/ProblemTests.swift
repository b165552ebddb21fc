import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LicenceCore
import NIOCore
import TestSupport
import Testing
@testable import LicenceServer

/// The Chinese message of every problem is Chinese throughout: only the names the API itself uses
/// (fields such as `token` and `holderCode`, headers, methods, JSON) stay as they are.
struct ProblemMessageTests {
    static func decodingProblem<T: Decodable>(_ type: T.Type, _ body: String) -> Problem? {
        do {
            _ = try JSONBody.decode(type, from: ByteBuffer(string: body))
            return nil
        } catch {
            return error as? Problem
        }
    }

    static var everyProblem: [Problem] {
        var problems: [Problem] = [
            .bodyTooLarge(65536), .batchTooLarge(1001, 1000), .unauthenticated, .invalidKey, .rateLimited(retryAfter: 12),
            .notFound("/v1/nothing"), .licenceNotFound(RegistryAbsent.identifier), .notFound(zh: "没有第 9 号状态列表。", "status list 9"),
            .methodNotAllowed([.get, .post]), .unavailable, .internalError,
            .invalidHeader("X-Use-Cause", zh: "长 600 字节，上限为 512 字节", en: "has 600 bytes; at most 512 are accepted"),
        ]
        problems += [400, 401, 403, 408, 411, 414, 415, 431, 500, 502, 418].map {
            Problem.http(HTTPResponse.Status(code: $0), "Some English detail from the HTTP library")
        }
        // Bodies that are not JSON, or not of the route's shape.
        for (type, body) in [(VerifyRequest.self as any Decodable.Type, "{\"token\": "), (VerifyRequest.self, "{\"tokens\": []}"),
                             (VerifyRequest.self, "{\"token\": null}"), (VerifyRequest.self, "{\"token\": 7}"),
                             (BatchRequest.self, "{\"tokens\": \"EL1:x\"}"), (BatchRequest.self, "{\"tokens\": [1]}"),
                             (HolderLookupRequest.self, "{\"holderCode\": \"x\", \"allowBadChecksum\": \"yes\"}"),
                             (HolderLookupRequest.self, "[]")] {
            if let problem = decodingProblem(of: type, body) { problems.append(problem) }
        }
        // Identifiers and holder codes as a person mistypes them.
        for text in ["1.2.156.3005.2.x", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.V", "abc"] {
            do { _ = try LicenceIdentifier(parsing: text) } catch { problems.append(.invalidParameter("id", error)) }
        }
        for code in ["91350100MA2Y01111G", "35012119920101123X", "123", "91AB0100MA2Y01111F"] {
            do { _ = try HolderCode.lookup(code) } catch { problems.append(.invalidField("holderCode", error)) }
        }
        return problems
    }

    private static func decodingProblem(of type: any Decodable.Type, _ body: String) -> Problem? {
        func open<T: Decodable>(_ type: T.Type) -> Problem? { decodingProblem(type, body) }
        return open(type)
    }

    @Test func everyProblemSpeaksChineseInChinese() {
        let problems = Self.everyProblem
        #expect(problems.count >= 35)
        for problem in problems {
            #expect(ChineseText.englishWords(in: problem.zh).isEmpty, "\(problem.code): \(problem.zh)")
            #expect(!problem.en.isEmpty)
        }
        // The English keeps the details, and the Chinese names the field as the API spells it.
        let missing = Self.decodingProblem(VerifyRequest.self, "{\"tokens\": []}")
        #expect(missing?.zh == "请求内容不符合要求：缺少字段 token。" && missing?.en == "The request is not acceptable: token: is missing")
        let mistyped = Self.decodingProblem(BatchRequest.self, "{\"tokens\": [1]}")
        #expect(mistyped?.zh == "请求内容不符合要求：tokens[0]：应为字符串。", "\(mistyped?.zh ?? "")")
    }

    /// What the service answers, as a client sees it.
    @Test func answeredProblemsSpeakChineseInChinese() async throws {
        let fixture = try await RouteFixture()
        try await fixture.application({ $0.maxBatch = 2 }).test(.router) { client in
            let id = fixture.business.id.description
            let requests: [(HTTPRequest.Method, String, String?, HTTPFields)] = [
                (.post, "/v1/verify", "{\"token\": ", fixture.agency),
                (.post, "/v1/verify", "{\"tokens\": []}", fixture.agency),
                (.post, "/v1/verify/batch", "{\"tokens\": [\"a\", \"b\", \"c\"]}", fixture.agency),
                (.post, "/v1/verify/batch", "{\"tokens\": []}", [:]),
                (.post, "/v1/verify", "{\"token\": \"x\"}", [.authorization: "Bearer elk_0"]),
                (.get, "/v1/licences/\(String(id.dropLast()) + (id.last == "A" ? "B" : "A"))", nil, fixture.agency),
                (.get, "/v1/licences/\(RegistryAbsent.identifier)", nil, fixture.agency),
                (.get, "/v1/licences/\(fixture.food.id)/usage", nil, fixture.otherAgency),
                (.post, "/v1/holders/licences", "{\"holderCode\": \"91350100MA2Y01111G\"}", fixture.agency),
                (.get, "/v1/status-lists/99", nil, [:]),
                (.get, "/v1/status-lists/x", nil, [:]),
                (.get, "/v1/nothing", nil, [:]),
                (.delete, "/v1/trust-list", nil, [:]),
                (.get, "/healthz", nil, [HTTPField.Name("X-Use-Cause")!: String(repeating: "%E4%BC%81", count: 200)]),
            ]
            for (method, path, body, headers) in requests {
                let answer = try await client.send(method, path, body: body, headers: headers)
                let message = answer.json["message"] as? [String: String]
                #expect(answer.headers[.contentType] == "application/problem+json", "\(path): \(answer.text)")
                let zh = try #require(message?["zh"], "\(path): \(answer.text)")
                #expect(ChineseText.englishWords(in: zh).isEmpty, "\(method) \(path): \(zh)")
            }
        }
    }

    @Test func aServiceWindowLinkCarriesTheTokenPercentEncoded() {
        let token = "EL1:NCF OX%N+A/B:C$D*E-F.G"
        let link = ServiceWindowLink.make(publicURL: "https://licences.example.gov.cn/", token: token)
        #expect(link == "https://licences.example.gov.cn/#token=EL1%3ANCF%20OX%25N%2BA%2FB%3AC%24D%2AE-F.G")
        let fragment = String(link.split(separator: "#", maxSplits: 1)[1].dropFirst("token=".count))
        #expect(fragment.removingPercentEncoding == token)
        #expect(!fragment.contains(" ") && !fragment.contains("+") && !fragment.contains(":"))
    }
}
