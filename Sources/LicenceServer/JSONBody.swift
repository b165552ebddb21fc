import Foundation
import HTTPTypes
import Hummingbird
import LicenceCore
import LicenceCrypto
import NIOCore

/// JSON in and out.
enum JSONBody {
    /// Bytes already in JSON.
    static func response(bytes: [UInt8]) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The body, read up to `limit` bytes.
    static func body(of request: Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw Problem.bodyTooLarge(limit)
        }
    }

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try encoded(value))))
    }

    /// `value` as the service writes JSON: keys sorted, slashes as they are.
    static func encoded<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    /// Reads the body (up to `limit` bytes) as `T`: a syntax error is 400, a wrong shape 422, both
    /// naming the problem.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        try decode(type, from: try await body(of: request, limit: limit))
    }

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                throw Problem.invalidJSON(JSONErrors.describe(error))
            }
            throw Problem.invalidRequest(zh: JSONErrors.describeInChinese(error), en: JSONErrors.describe(error))
        }
    }
}

struct VerifyRequest: Decodable { var token: String }
struct BatchRequest: Decodable { var tokens: [String] }
struct HolderLookupRequest: Decodable {
    var holderCode: String
    /// Accept a credit code whose only fault is its check character (early pilot codes).
    var allowBadChecksum: Bool?
}
