import Hummingbird
import Foundation

/// The OpenAPI 3.1 description of the service, generated from the route table.
enum OpenAPIDocument {
    static func json(_ table: RouteTable, settings: ServerSettings) -> [UInt8] {
        let data = try? JSONSerialization.data(withJSONObject: document(table, settings: settings),
                                               options: [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted])
        return Array(data ?? Data())
    }

    static func document(_ table: RouteTable, settings: ServerSettings) -> [String: Any] {
        var paths: [String: [String: Any]] = [:]
        for route in table.routes {
            var operation: [String: Any] = ["summary": route.summary, "operationId": operationID(route)]
            var responses: [String: Any] = [:]
            if route.responseType == "application/json" {
                responses["200"] = ["description": "OK", "content": ["application/json": ["schema": ref(route.responseSchema)]]]
            } else {
                responses["200"] = ["description": "OK", "content": [route.responseType: ["schema": ["type": "string"]]]]
            }
            var errors = route.errors
            if route.access == .agency && !errors.contains(401) { errors.append(401) }
            // A route that reads X-Use-Cause refuses an overlong one.
            if route.access != .anyone && !errors.contains(400) { errors.append(400) }
            for status in errors.sorted() {
                responses[String(status)] = ["description": statusDescription(status),
                                             "content": ["application/problem+json": ["schema": ref("Problem")]]]
            }
            operation["responses"] = responses
            if let schema = route.requestSchema {
                operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": ref(schema)]]]
            }
            var parameters: [[String: Any]] = []
            for name in route.path.split(separator: "/").filter({ $0.hasPrefix("{") }) {
                parameters.append(["name": String(name.dropFirst().dropLast()), "in": "path", "required": true,
                                   "schema": ["type": "string"]])
            }
            if route.access != .anyone {
                parameters.append(["name": "X-Use-Cause", "in": "header", "required": false,
                                   "description": "办事事由, the purpose of the use; UTF-8, percent-encoded",
                                   "schema": ["type": "string", "maxLength": Request.maxUseCauseLength]])
            }
            if !parameters.isEmpty { operation["parameters"] = parameters }
            switch route.access {
            case .agency: operation["security"] = [["agencyKey": [String]()]]
            case .anyoneRateLimited:
                operation["security"] = [[String: [String]](), ["agencyKey": [String]()]]
                operation["description"] = "Anonymous callers are limited to \(settings.anonymousVerificationsPerMinute) verifications a minute per address; agencies are not limited."
            case .anyone: break
            }
            if route.path == "/v1/verify/batch" {
                operation["description"] = "At most \(settings.maxBatch) tokens and \(settings.maxBodyBytes) bytes per request."
            }
            paths[route.path, default: [:]][route.method.rawValue.lowercased()] = operation
        }
        return [
            "openapi": "3.1.0",
            "info": ["title": "ELicence", "version": "1",
                     "description": "Verification and registry API for electronic licences (电子证照)."],
            "paths": paths,
            "components": ["schemas": schemas, "securitySchemes": ["agencyKey": ["type": "http", "scheme": "bearer"]]],
        ]
    }

    static func operationID(_ route: Route) -> String {
        let words = route.path.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map { $0.prefix(1).uppercased() + $0.dropFirst() }
        return route.method.rawValue.lowercased() + (words.isEmpty ? "Root" : words.joined())
    }

    static func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }

    static func statusDescription(_ status: Int) -> String {
        [400: "The body is not valid JSON", 401: "No agency key, or a key that is not valid",
         403: "Not shared with this agency", 404: "Not found", 413: "Body or batch too large",
         422: "The JSON does not have the expected shape", 429: "Too many anonymous requests",
         503: "Unavailable"][status] ?? "Error"
    }

    static var bilingual: [String: Any] { [
        "type": "object", "required": ["zh", "en"],
        "properties": ["zh": ["type": "string"], "en": ["type": "string"]],
    ] }

    static var text: [String: Any] { ["type": "string"] }

    static var schemas: [String: Any] { [
        "VerifyRequest": ["type": "object", "required": ["token"], "properties": ["token": ["type": "string", "example": "EL1:..."]]],
        "BatchRequest": ["type": "object", "required": ["tokens"], "properties": ["tokens": ["type": "array", "items": text]]],
        "HolderLookupRequest": ["type": "object", "required": ["holderCode"], "properties": [
            "holderCode": ["type": "string", "pattern": "^[ \\t]*[0-9A-Za-z]{8,32}[ \\t]*$",
                           "description": "统一社会信用代码 or 公民身份号码; letters in either case, blanks around ignored"],
        ]],
        "VerificationAnswer": [
            "type": "object", "required": ["valid", "outcome", "message", "statusChecked"],
            "properties": [
                "valid": ["type": "boolean"],
                "outcome": ["type": "string", "enum": ["valid", "malformed", "unknown_key", "bad_signature", "issuer_mismatch",
                                                       "key_compromised", "expired", "not_yet_valid", "revoked", "suspended",
                                                       "superseded", "unknown_licence", "status_unavailable"]],
                "layer": ["type": "string", "enum": ["prefix", "base45", "zlib", "cbor", "cose", "claims"]],
                "detail": text, "message": bilingual, "statusChecked": ["type": "boolean"], "kid": text, "alg": text,
                "licence": ref("Licence"),
            ],
        ],
        "BatchAnswer": ["type": "object", "required": ["results"],
                        "properties": ["results": ["type": "array", "items": ref("VerificationAnswer")]]],
        "Licence": [
            "type": "object", "required": ["id", "type", "typeName", "number", "holder", "issuer", "validFrom", "version"],
            "properties": [
                "id": text, "type": text, "typeName": text, "number": text,
                "holder": ["type": "object", "properties": ["name": text, "code": text, "codeType": ["type": "string", "enum": ["001", "111"]]]],
                "issuer": ["type": "object", "properties": ["name": text, "code": text]],
                "validFrom": ["type": "string", "format": "date"], "validUntil": ["type": ["string", "null"], "format": "date"],
                "relatedMatter": text, "fields": ["type": "object", "additionalProperties": text], "version": ["type": "integer"],
                "status": ["type": "string", "enum": ["valid", "suspended", "revoked", "superseded"]],
                "issuedAt": ["type": "string", "format": "date-time"], "supersededBy": text, "token": text,
                "statusList": ["type": "object", "properties": ["index": ["type": "integer"], "uri": text]],
            ],
        ],
        "LicenceRead": [
            "type": "object", "required": ["id", "type", "typeName", "status", "valid", "sharing", "detailsShared"],
            "properties": [
                "id": text, "type": text, "typeName": text,
                "status": ["type": "string", "enum": ["valid", "suspended", "revoked", "superseded"]],
                "valid": ["type": "boolean"], "sharing": ["type": "string", "enum": ["unconditional", "conditional", "none"]],
                "detailsShared": ["type": "boolean"], "licence": ref("Licence"),
            ],
        ],
        "HolderLookupAnswer": [
            "type": "object", "required": ["holderCode", "licences", "withheld", "truncated"],
            "properties": ["holderCode": text, "licences": ["type": "array", "items": ref("LicenceRead")],
                           "withheld": ["type": "integer", "description": "licences of the holder not shared with this agency"],
                           "truncated": ["type": "boolean"]],
        ],
        "UsageAnswer": [
            "type": "object", "required": ["licence", "records"],
            "properties": ["licence": text, "records": ["type": "array", "items": [
                "type": "object",
                "properties": ["agency": text, "licence": text, "action": text, "cause": text, "outcome": text, "at": ["type": "integer"]],
            ]]],
        ],
        "TrustList": [
            "type": "object", "required": ["version", "keys"],
            "properties": ["version": ["type": "integer"], "keys": ["type": "array", "items": [
                "type": "object",
                "properties": ["kid": text, "alg": ["type": "string", "enum": ["SM2", "ES256", "EdDSA"]],
                               "role": ["type": "string", "enum": ["issuer", "status"]],
                               "issuer": ["type": "object", "properties": ["code": text, "name": text]], "publicKey": text,
                               "notBefore": text, "notAfter": text,
                               "state": ["type": "string", "enum": ["active", "retired", "compromised"]]],
            ]]],
        ],
        "Health": ["type": "object", "properties": ["status": text]],
        "OpenAPI": ["type": "object"],
        "Problem": [
            "type": "object", "required": ["type", "title", "status"],
            "properties": ["type": text, "title": text, "status": ["type": "integer"], "detail": text, "instance": text,
                           "message": bilingual],
        ],
    ] }
}
