/// An optional JSON value that is written as `null` when absent, where synthesized `Codable` would
/// leave the key out (`"validUntil": null` means open-ended, so it must be written).
@propertyWrapper
public struct EncodedAsNull<Value: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// A missing key reads as nil, like an ordinary optional.
    public func decode<Value>(_ type: EncodedAsNull<Value>.Type, forKey key: Key) throws -> EncodedAsNull<Value> {
        try decodeIfPresent(type, forKey: key) ?? EncodedAsNull(wrappedValue: nil)
    }
}

/// A value written in JSON as its text form (`2026-01-15`, `1.2.156.3005.2....`) and read back by
/// parsing, so that a bad value is a decoding error that names its place.
public protocol TextCodable: Codable, CustomStringConvertible {
    init(parsing text: String) throws(LicenceCoreError)
}

extension TextCodable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
