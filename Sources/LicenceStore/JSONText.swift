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

    /// A licence's extension fields, read on every registry read: an object of strings without
    /// escapes (as `object` writes them, unless a value has a quote, a backslash or a control
    /// character) is read directly; anything else goes to Foundation's decoder.
    static func fields(_ text: String) throws -> [String: String] {
        if let fields = plainObject(text) { return fields }
        return try decode([String: String].self, text)
    }

    /// `{"name":"value",...}` with blanks between tokens and no backslash anywhere, or nil.
    static func plainObject(_ text: String) -> [String: String]? {
        var text = text
        return text.withUTF8 { utf8 -> [String: String]? in
            var index = 0
            func skipBlanks() {
                while index < utf8.count, [0x20, 0x09, 0x0a, 0x0d].contains(utf8[index]) { index += 1 }
            }
            func expect(_ byte: UInt8) -> Bool {
                skipBlanks()
                guard index < utf8.count, utf8[index] == byte else { return false }
                index += 1
                return true
            }
            func string() -> String? {
                guard expect(UInt8(ascii: "\"")) else { return nil }
                let start = index
                while index < utf8.count {
                    let byte = utf8[index]
                    if byte == UInt8(ascii: "\"") {
                        index += 1
                        return String(decoding: UnsafeBufferPointer(rebasing: utf8[start..<index - 1]), as: UTF8.self)
                    }
                    guard byte >= 0x20, byte != UInt8(ascii: "\\") else { return nil }
                    index += 1
                }
                return nil
            }
            guard expect(UInt8(ascii: "{")) else { return nil }
            var fields: [String: String] = [:]
            if expect(UInt8(ascii: "}")) {
                skipBlanks()
                return index == utf8.count ? fields : nil
            }
            while true {
                guard let name = string(), expect(UInt8(ascii: ":")), let value = string(),
                      fields.updateValue(value, forKey: name) == nil else { return nil }
                if expect(UInt8(ascii: ",")) { continue }
                guard expect(UInt8(ascii: "}")) else { return nil }
                skipBlanks()
                return index == utf8.count ? fields : nil
            }
        }
    }
}
