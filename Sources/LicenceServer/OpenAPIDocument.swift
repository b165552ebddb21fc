import Hummingbird
import Foundation
import LicenceStore

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
                // A JSON-based media type (a web app manifest) is an object; the others are text or bytes.
                let schema = route.responseType.hasSuffix("+json") ? "object" : "string"
                responses["200"] = ["description": "OK", "content": [route.responseType: ["schema": ["type": schema]]]]
            }
            var errors = route.errors
            if [.agency, .device, .window].contains(route.access) && !errors.contains(401) { errors.append(401) }
            // A route that reads X-Use-Cause refuses an overlong one.
            let readsCause = route.access == .agency || route.access == .anyoneRateLimited
            if readsCause && !errors.contains(400) { errors.append(400) }
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
            if readsCause {
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
            case .device:
                operation["security"] = [["dpop": [String]()]]
                operation["description"] = "The DPoP header carries a proof (RFC 9449, ES256, typ dpop+jwt, the device's public key as jwk) "
                    + "naming this method and URL, with a fresh jti and an iat within 60 s."
            case .window:
                operation["security"] = [["windowSession": [String]()]]
                if route.method != .get {
                    operation["description"] = "A signed-in window's state-changing requests carry its CSRF token in X-CSRF-Token."
                }
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
            "components": ["schemas": schemas, "securitySchemes": [
                "agencyKey": ["type": "http", "scheme": "bearer"],
                "dpop": ["type": "apiKey", "in": "header", "name": "DPoP",
                         "description": "A DPoP proof (RFC 9449) signed by an enrolled device's P-256 key"],
                "windowSession": ["type": "apiKey", "in": "cookie", "name": WindowSessions.cookie,
                                  "description": "A service window's session, from POST /v1/window/session"],
            ]],
        ]
    }

    static func operationID(_ route: Route) -> String {
        let words = route.path.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map { $0.prefix(1).uppercased() + $0.dropFirst() }
        return route.method.rawValue.lowercased() + (words.isEmpty ? "Root" : words.joined())
    }

    static func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }

    static func statusDescription(_ status: Int) -> String {
        [400: "The body is not valid JSON", 401: "No agency key, or a key that is not valid",
         403: "Not shared with this agency", 404: "Not found", 409: "Already used", 410: "Expired", 413: "Body or batch too large",
         422: "The JSON does not have the expected shape", 429: "Too many anonymous requests",
         503: "Unavailable"][status] ?? "Error"
    }

    static var bilingual: [String: Any] { [
        "type": "object", "required": ["zh", "en"],
        "properties": ["zh": ["type": "string"], "en": ["type": "string"]],
    ] }

    static var text: [String: Any] { ["type": "string"] }

    static var schemas: [String: Any] { [
        "VerifyRequest": ["type": "object", "required": ["token"], "properties": [
            "token": ["type": "string", "example": "EL1:...", "description": "a licence token (EL1:) or a holder's presentation code (EL1P:)"]]],
        "EnrolRequest": ["type": "object", "required": ["code"], "properties": [
            "code": ["type": "string", "description": "the one-time enrolment code (20 characters, groups of four)", "example": "K7Q2-M9XD-4HBT-R2WN-6FJC"],
            "label": ["type": ["string", "null"], "maxLength": 80, "description": "what the device is, for the holder's list"]]],
        "EnrolAnswer": ["type": "object", "required": ["device", "holderCode"], "properties": ["device": text, "holderCode": text]],
        "WalletLicences": ["type": "object", "required": ["holderCode", "device", "items"], "properties": [
            "holderCode": text, "device": text, "items": ["type": "array", "items": [
                "type": "object",
                "required": ["id", "type", "typeName", "number", "holderName", "issuerName", "validFrom", "status", "valid", "fields",
                             "disclosable", "token", "qr", "presentationID"],
                "properties": ["id": text, "type": text, "typeName": text, "number": text, "holderName": text, "issuerName": text,
                               "validFrom": ["type": "string", "format": "date"], "validUntil": ["type": ["string", "null"], "format": "date"],
                               "relatedMatter": ["type": ["string", "null"]],
                               "status": ["type": "string", "enum": ["valid", "suspended", "revoked", "superseded"]], "valid": ["type": "boolean"],
                               "fields": ["type": "object", "additionalProperties": text], "disclosable": ["type": "array", "items": text],
                               "token": text, "qr": ["type": "string", "description": "the token's QR code, SVG"],
                               "presentationID": ["type": "string", "contentEncoding": "base64",
                                                  "description": "the first 8 bytes of SHA-256 of the identifier"]],
            ]]]],
        "WalletUsage": ["type": "object", "required": ["holderCode", "device", "items"], "properties": [
            "holderCode": text, "device": text, "items": ["type": "array", "items": [
                "type": "object", "required": ["licence", "typeName", "action", "outcome", "at"],
                "properties": ["licence": text, "typeName": text, "agency": ["type": ["string", "null"]],
                               "action": ["type": "string", "enum": UsageRecord.Action.allCases.map(\.rawValue)],
                               "cause": ["type": ["string", "null"]], "outcome": text, "at": ["type": "string", "format": "date-time"]],
            ]]]],
        "DeviceRemoved": ["type": "object", "required": ["device", "status"], "properties": ["device": text, "status": text]],
        "WindowSignIn": ["type": "object", "required": ["credential"], "properties": [
            "credential": ["type": "string", "description": "a window credential from elicence windows add"]]],
        "WindowSession": ["type": "object", "required": ["signedIn"], "properties": [
            "signedIn": ["type": "boolean", "description": "false: this window is not signed in, and nothing else is said"],
            "agency": text, "agencyName": text, "csrfToken": text, "expiresAt": ["type": "string", "format": "date-time"]]],
        "SignedOut": ["type": "object", "required": ["status"], "properties": ["status": text]],
        "BatchRequest": ["type": "object", "required": ["tokens"], "properties": ["tokens": ["type": "array", "items": text]]],
        "HolderLookupRequest": ["type": "object", "required": ["holderCode"], "properties": [
            "holderCode": ["type": "string", "pattern": "^[ \\t]*[0-9A-Za-z]{18}[ \\t]*$",
                           "description": "统一社会信用代码 or 公民身份号码; letters in either case, blanks around ignored; a wrong check character is refused (400)"],
            "allowBadChecksum": ["type": ["boolean", "null"], "description": "accept a credit code whose only fault is its check character (early pilot codes)"],
        ]],
        "VerificationAnswer": [
            "type": "object", "required": ["valid", "outcome", "message", "statusChecked"],
            "properties": [
                "valid": ["type": "boolean"],
                "outcome": ["type": "string", "enum": ["valid", "malformed", "unknown_key", "bad_signature", "issuer_mismatch",
                                                       "key_compromised", "key_not_valid", "expired", "not_yet_valid", "revoked", "suspended",
                                                       "superseded", "unknown_licence", "status_unavailable", "unknown_device",
                                                       "presentation_expired", "presentation_replayed"]],
                "layer": ["type": "string", "enum": ["prefix", "base45", "zlib", "cbor", "cose", "claims"]],
                "detail": text, "message": bilingual, "statusChecked": ["type": "boolean"], "kid": text, "alg": text,
                "licence": ref("Licence"),
                "statusSince": ["type": "string", "format": "date-time", "description": "when a revoked or suspended licence became so"],
                "presentation": ["type": "object", "required": ["device", "presentedAt", "disclosed"],
                                 "description": "for a presentation code: the device that showed it, when, and the fields the holder disclosed",
                                 "properties": ["device": text, "presentedAt": ["type": "string", "format": "date-time"],
                                                "disclosed": ["type": "array", "items": text]]],
                "log": ["type": "object", "required": ["index", "treeSize"],
                        "description": "the licence's issuance leaf in the transparency log, and the newest checkpoint's tree size",
                        "properties": ["index": ["type": "integer"], "treeSize": ["type": "integer"]]],
                "authority": ["type": "object", "required": ["name", "code", "displayName"],
                              "description": "the imported authority (another province) whose trust list vouches for the key and whose status list answered",
                              "properties": ["name": text, "code": text, "displayName": text]],
            ],
        ],
        "LogProof": [
            "type": "object", "required": ["licence", "index", "treeSize", "rootHash", "leaf", "inclusionProof", "checkpoint"],
            "properties": ["licence": text, "index": ["type": "integer"], "treeSize": ["type": "integer"],
                           "rootHash": ["type": "string", "contentEncoding": "base64"],
                           "leaf": ["type": "string", "contentEncoding": "base64", "description": "the logged CBOR leaf"],
                           "inclusionProof": ["type": "array", "items": ["type": "string", "contentEncoding": "base64"]],
                           "checkpoint": ["type": "string", "description": "C2SP tlog-checkpoint signed note"]],
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
                "properties": ["agency": text, "licence": text, "action": text, "cause": text, "outcome": text,
                               "at": ["type": "string", "format": "date-time", "example": "2026-11-29T08:29:52Z"],
                               "authority": text, "authorityName": text],
            ]]],
        ],
        "TrustList": [
            "type": "object", "required": ["version", "keys"],
            "properties": ["version": ["type": "integer"], "sequence": ["type": "integer"], "keys": ["type": "array", "items": [
                "type": "object",
                "properties": ["kid": text, "alg": ["type": "string", "enum": ["SM2", "ES256", "EdDSA"]],
                               "role": ["type": "string", "enum": ["issuer", "status", "anchor", "log"]],
                               "issuer": ["type": "object", "properties": ["code": text, "name": text]], "publicKey": text,
                               "notBefore": text, "notAfter": text,
                               "state": ["type": "string", "enum": ["active", "retired", "compromised"]],
                               "compromisedAt": text],
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
