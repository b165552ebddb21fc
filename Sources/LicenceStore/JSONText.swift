import Foundation

/// JSON columns (a type's fields, a licence's extension fields, an agency's grants).
enum JSONText {
    /// One encoder reused for many rows.
    struct Encoder {
        private let encoder: JSONEncoder = {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return encoder
        }()

        func encode<T: Encodable>(_ value: T) throws -> String {
            String(decoding: try encoder.encode(value), as: UTF8.self)
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        try Encoder().encode(value)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
