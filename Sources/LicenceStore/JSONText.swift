import Foundation
import LicenceCore

/// JSON columns (a type's fields, a licence's extension fields, an agency's grants).
enum JSONText {
    /// A licence's extension fields as a JSON object, keys sorted, written without Foundation's
    /// encoder (it is on the path of every licence issued).
    static func object(_ fields: [String: String]) -> String {
        var writer = JSONWriter(capacity: 64 + fields.count * 48)
        writer.beginObject()
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            writer.key(key)
            writer.string(value)
        }
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    /// A licence's extension fields, read on every registry read: an object of strings is read by
    /// the scanner; anything it does not take (a `\u` escape, a repeated name, whatever is
    /// malformed) goes to Foundation's decoder, which reads it or names the problem.
    static func fields(_ text: String) throws -> [String: String] {
        if let fields = stringObject(text) { return fields }
        return try decode([String: String].self, text)
    }

    /// `{"name": "value", ...}` as `JSONScanner` reads it, or nil.
    static func stringObject(_ text: String) -> [String: String]? {
        var scanner = JSONScanner(bytes: Array(text.utf8))
        var fields: [String: String] = [:]
        guard scanner.object({ name, scanner in
            guard let value = scanner.string() else { return false }
            return fields.updateValue(value, forKey: name) == nil
        }), scanner.atEnd else { return nil }
        return fields
    }
}
