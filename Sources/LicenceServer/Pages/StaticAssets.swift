import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The pages' files: made once at start, served with a strong `ETag` and `Cache-Control: no-cache`,
/// so that a browser asks each time and is answered 304 while nothing changed.
struct StaticAssets: Sendable {
    struct Asset: Sendable {
        var type: String
        var bytes: [UInt8]
        var tag: String
    }

    /// Path, media type, contents.
    static let files: [(path: String, type: String, text: String)] = [
        ("/", "text/html; charset=utf-8", ServiceWindowPage.html),
        ("/window.js", "text/javascript; charset=utf-8", ServiceWindowPage.javascript),
        ("/window.css", "text/css; charset=utf-8", ServiceWindowPage.css),
        ("/wallet", "text/html; charset=utf-8", WalletPage.html),
        ("/wallet.js", "text/javascript; charset=utf-8", WalletScript.javascript),
        ("/wallet.css", "text/css; charset=utf-8", WalletPage.css),
        ("/qr.js", "text/javascript; charset=utf-8", QRScript.javascript),
        ("/sw.js", "text/javascript; charset=utf-8", WalletPage.serviceWorker),
        ("/manifest.webmanifest", "application/manifest+json", WalletPage.manifest),
        ("/wallet-icon.svg", "image/svg+xml", WalletPage.icon),
    ]

    /// The files' routes, for the route table (the pages `/` and `/wallet` are listed there).
    static let routes: [Route] = files.filter { $0.path != "/wallet" && $0.path != "/" }.map { file in
        Route(method: .get, path: file.path, summary: "A file of the service-window or wallet page", access: .anyone,
              responseSchema: file.type, responseType: file.type)
    }

    let assets: [String: Asset]

    init() {
        assets = Dictionary(uniqueKeysWithValues: Self.files.map { file in
            let bytes = Array(file.text.utf8)
            return (file.path, Asset(type: file.type, bytes: bytes, tag: EntityTag.of(bytes)))
        })
    }

    func handler(_ path: String) -> @Sendable (Request, ServerContext) async throws -> Response {
        guard let asset = assets[path] else { preconditionFailure("no asset at \(path)") }
        var headers: HTTPFields = [.cacheControl: "no-cache"]
        // The service worker may control every page of the origin, so that the wallet works offline.
        if path == "/sw.js" { headers[HTTPField.Name("Service-Worker-Allowed")!] = "/" }
        let fixed = headers
        return { request, _ in EntityTag.response(request, bytes: asset.bytes, type: asset.type, tag: asset.tag, headers: fixed) }
    }
}

/// Strong entity tags (RFC 9110 §8.8.3) over a response's bytes, and the 304 of a request whose
/// `If-None-Match` names the current one: a verifier polling the trust list or a status list pays
/// nothing while nothing changed.
enum EntityTag {
    static func of(_ bytes: [UInt8]) -> String {
        "\"" + Data(SHA256.hash(data: bytes).prefix(16)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "") + "\""
    }

    /// Whether `If-None-Match` matches `tag` (weak comparison, as RFC 9110 §13.1.2 asks for GET and HEAD).
    static func matches(_ request: Request, tag: String) -> Bool {
        let opaque = tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag
        for header in request.headers[values: .ifNoneMatch] {
            for candidate in header.split(separator: ",") {
                let trimmed = candidate.trimmingCharacters(in: .whitespaces)
                if trimmed == "*" || trimmed == opaque || trimmed == "W/" + opaque { return true }
            }
        }
        return false
    }

    static func response(_ request: Request, bytes: [UInt8], type: String, tag: String? = nil, headers: HTTPFields = [:]) -> Response {
        let tag = tag ?? of(bytes)
        var headers = headers
        headers[.eTag] = tag
        // A 304 updates the headers a cache keeps, so it names the type too (and so gets the same policy).
        headers[.contentType] = type
        if matches(request, tag: tag) { return Response(status: .notModified, headers: headers) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
