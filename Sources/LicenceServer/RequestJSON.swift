import LicenceCore
/// Reads the two request bodies of the verification routes, `{"token": "…"}` and
/// `{"tokens": ["…", …]}`, straight from the bytes, without Foundation. Anything it does not
/// recognise returns nil, and the caller falls back to the full decoder for a precise error.
enum RequestJSON {
    static func token(_ bytes: some Collection<UInt8>) -> String? {
        var scanner = JSONScanner(bytes: Array(bytes))
        var found: String?
        guard scanner.object({ key, scanner in
            if key == "token" {
                guard let value = scanner.string() else { return false }
                found = value
                return true
            }
            return scanner.skipValue(depth: 0)
        }), scanner.atEnd else { return nil }
        return found
    }

    static func tokens(_ bytes: some Collection<UInt8>) -> [String]? {
        var scanner = JSONScanner(bytes: Array(bytes))
        var found: [String]?
        guard scanner.object({ key, scanner in
            if key == "tokens" {
                guard let values = scanner.stringArray() else { return false }
                found = values
                return true
            }
            return scanner.skipValue(depth: 0)
        }), scanner.atEnd else { return nil }
        return found
    }
}
