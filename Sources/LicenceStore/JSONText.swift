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
}
