/// A CBOR data item (RFC 8949).
///
/// Maps keep their entries in the order they were decoded or built; ``CBOREncoder`` writes them in
/// the deterministic order of RFC 8949 §4.2.1 (bytewise order of the encoded keys) whatever order
/// they are given in. Bignums, dates and other tagged items stay as ``tagged(_:_:)``.
public enum CBOR: Sendable, Hashable {
    case unsigned(UInt64)
    /// A negative integer with the value `-1 - n`.
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([CBOR])
    case map([Entry])
    indirect case tagged(UInt64, CBOR)
    case bool(Bool)
    case null
    case undefined
    /// A simple value other than false, true, null and undefined.
    case simple(UInt8)
    case float(Double)

    /// One key–value pair of a map.
    public struct Entry: Sendable, Hashable {
        public var key: CBOR
        public var value: CBOR
        public init(_ key: CBOR, _ value: CBOR) {
            self.key = key
            self.value = value
        }
    }

    /// An integer item for any `Int64` value.
    public static func int(_ value: Int64) -> CBOR {
        value >= 0 ? .unsigned(UInt64(value)) : .negative(UInt64(-1 - value))
    }

    /// The value as a signed integer, when it is an integer that fits.
    public var int64: Int64? {
        switch self {
        case .unsigned(let n): return n <= UInt64(Int64.max) ? Int64(n) : nil
        case .negative(let n): return n <= UInt64(Int64.max) ? -1 - Int64(n) : nil
        default: return nil
        }
    }

    public var uint64: UInt64? {
        if case .unsigned(let n) = self { return n }
        return nil
    }

    public var textValue: String? {
        if case .text(let s) = self { return s }
        return nil
    }

    public var bytesValue: [UInt8]? {
        if case .bytes(let b) = self { return b }
        return nil
    }

    public var mapEntries: [Entry]? {
        if case .map(let entries) = self { return entries }
        return nil
    }

    public var arrayValue: [CBOR]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The value stored under `key` when this is a map.
    public subscript(key: CBOR) -> CBOR? {
        guard case .map(let entries) = self else { return nil }
        for entry in entries where CBOR.sameKey(entry.key, key) { return entry.value }
        return nil
    }

    /// Equality with a quick answer for the integer and text keys that maps almost always have;
    /// the derived `==` copies both payloads first.
    @inline(__always)
    static func sameKey(_ a: CBOR, _ b: CBOR) -> Bool {
        switch (a, b) {
        case (.unsigned(let x), .unsigned(let y)), (.negative(let x), .negative(let y)): return x == y
        case (.text(let x), .text(let y)): return x == y
        case (.unsigned, _), (.negative, _), (.text, _): return false
        default: return a == b
        }
    }

    /// The deterministic encoding of this item.
    public func encoded() -> [UInt8] {
        var encoder = CBOREncoder()
        encoder.encode(self)
        return encoder.bytes
    }
}

// Written out rather than synthesized so that equality is reflexive, as Hashable requires: every NaN
// is the same data item (the encoder writes each as f9 7e00), so a map cannot hold two NaN keys.
extension CBOR {
    public static func == (lhs: CBOR, rhs: CBOR) -> Bool {
        switch (lhs, rhs) {
        case (.unsigned(let a), .unsigned(let b)), (.negative(let a), .negative(let b)): return a == b
        case (.bytes(let a), .bytes(let b)): return a == b
        case (.text(let a), .text(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.map(let a), .map(let b)): return a == b
        case (.tagged(let t, let a), .tagged(let u, let b)): return t == u && a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.null, .null), (.undefined, .undefined): return true
        case (.simple(let a), .simple(let b)): return a == b
        case (.float(let a), .float(let b)): return a == b || (a.isNaN && b.isNaN)
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .unsigned(let n): hasher.combine(0 as UInt8); hasher.combine(n)
        case .negative(let n): hasher.combine(1 as UInt8); hasher.combine(n)
        case .bytes(let b): hasher.combine(2 as UInt8); hasher.combine(b)
        case .text(let s): hasher.combine(3 as UInt8); hasher.combine(s)
        case .array(let items): hasher.combine(4 as UInt8); hasher.combine(items)
        case .map(let entries): hasher.combine(5 as UInt8); hasher.combine(entries)
        case .tagged(let tag, let item): hasher.combine(6 as UInt8); hasher.combine(tag); hasher.combine(item)
        case .bool(let b): hasher.combine(7 as UInt8); hasher.combine(b)
        case .null: hasher.combine(8 as UInt8)
        case .undefined: hasher.combine(9 as UInt8)
        case .simple(let v): hasher.combine(10 as UInt8); hasher.combine(v)
        case .float(let d): hasher.combine(11 as UInt8); hasher.combine(d.isNaN ? .nan : d)
        }
    }
}

extension CBOR: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral
{
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(arrayLiteral elements: CBOR...) { self = .array(elements) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
}

// MARK: - Encoding

extension CBOR {
    /// Appends the shortest head for `major` and `argument`.
    static func appendHead(major: UInt8, argument value: UInt64, to bytes: inout [UInt8]) {
        let m = major << 5
        func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
        }
        switch value {
        case 0..<24:
            bytes.append(m | UInt8(value))
        case 24...0xff:
            bytes.append(m | 24)
            bytes.append(UInt8(value))
        case 0x100...0xffff:
            bytes.append(m | 25)
            appendBigEndian(UInt16(value))
        case 0x1_0000...0xffff_ffff:
            bytes.append(m | 26)
            appendBigEndian(UInt32(value))
        default:
            bytes.append(m | 27)
            appendBigEndian(value)
        }
    }
}

/// Writes CBOR in the deterministic encoding of RFC 8949 §4.2.1: shortest heads, definite lengths,
/// map keys in bytewise order of their encodings, and floats in the shortest form that keeps their
/// value (NaN as `f9 7e00`).
public struct CBOREncoder: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func encode(_ item: CBOR) {
        switch item {
        case .unsigned(let n): writeHead(0, n)
        case .negative(let n): writeHead(1, n)
        case .bytes(let b):
            writeHead(2, UInt64(b.count))
            bytes.append(contentsOf: b)
        case .text(let s):
            writeHead(3, UInt64(s.utf8.count))
            bytes.append(contentsOf: s.utf8)
        case .array(let items):
            writeHead(4, UInt64(items.count))
            for element in items { encode(element) }
        case .map(let entries):
            writeHead(5, UInt64(entries.count))
            // Keys in the order of their encodings (RFC 8949 §4.2.1), encoded once into one buffer.
            var keys = CBOREncoder()
            var order: [(key: Range<Int>, entry: Int)] = []
            order.reserveCapacity(entries.count)
            for (index, entry) in entries.enumerated() {
                let start = keys.bytes.count
                keys.encode(entry.key)
                order.append((start..<keys.bytes.count, index))
            }
            let keyBytes = keys.bytes
            order.sort { keyBytes[$0.key].lexicographicallyPrecedes(keyBytes[$1.key]) }
            for (key, index) in order {
                bytes.append(contentsOf: keyBytes[key])
                encode(entries[index].value)
            }
        case .tagged(let tag, let inner):
            writeHead(6, tag)
            encode(inner)
        case .bool(let b): bytes.append(b ? 0xf5 : 0xf4)
        case .null: bytes.append(0xf6)
        case .undefined: bytes.append(0xf7)
        case .simple(let v):
            if v < 24 {
                bytes.append(0xe0 | v)
            } else {
                bytes.append(0xf8)
                bytes.append(v)
            }
        case .float(let d): writeFloat(d)
        }
    }

    private mutating func writeHead(_ major: UInt8, _ value: UInt64) {
        CBOR.appendHead(major: major, argument: value, to: &bytes)
    }

    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func writeFloat(_ d: Double) {
        if d.isNaN {
            bytes.append(contentsOf: [0xf9, 0x7e, 0x00])
            return
        }
        let f = Float(d)
        if Double(f) == d {
            if let half = HalfFloat.bits(exactly: f) {
                bytes.append(0xf9)
                appendBigEndian(half)
            } else {
                bytes.append(0xfa)
                appendBigEndian(f.bitPattern)
            }
        } else {
            bytes.append(0xfb)
            appendBigEndian(d.bitPattern)
        }
    }
}

/// IEEE 754 binary16 conversions (RFC 8949 Appendix D), written out so they work on every platform.
enum HalfFloat {
    /// The binary16 bits of `f` when `f` converts to binary16 without loss; nil otherwise.
    static func bits(exactly f: Float) -> UInt16? {
        let raw = f.bitPattern
        let sign = UInt16((raw >> 16) & 0x8000)
        if f.isInfinite { return sign | 0x7c00 }
        if f.isNaN { return nil }
        if f == 0 { return sign }
        let biased = Int((raw >> 23) & 0xff)
        if biased == 0 { return nil }  // a binary32 subnormal is far below binary16's range
        let exponent = biased - 127
        let mantissa = raw & 0x7f_ffff
        if exponent >= -14 && exponent <= 15 {
            guard mantissa & 0x1fff == 0 else { return nil }
            return sign | UInt16(exponent + 15) << 10 | UInt16(mantissa >> 13)
        }
        if exponent >= -24 && exponent < -14 {
            let full = mantissa | 0x80_0000
            let shift = UInt32(-exponent - 1)
            guard full & ((1 << shift) - 1) == 0 else { return nil }
            return sign | UInt16(full >> shift)
        }
        return nil
    }

    static func value(_ bits: UInt16) -> Double {
        let exponent = Int((bits >> 10) & 0x1f)
        let mantissa = Double(bits & 0x3ff)
        let magnitude: Double
        switch exponent {
        case 0: magnitude = mantissa * 0x1p-24
        case 31: magnitude = mantissa == 0 ? .infinity : .nan
        default: magnitude = (mantissa + 1024) * Double(sign: .plus, exponent: exponent - 25, significand: 1)
        }
        return bits & 0x8000 != 0 ? -magnitude : magnitude
    }
}

// MARK: - Decoding

/// Why a byte string is not acceptable CBOR. Each case carries the offset where decoding stopped.
public enum CBORDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated(offset: Int)
    case reservedAdditionalInformation(offset: Int)
    case unexpectedBreak(offset: Int)
    case badIndefiniteChunk(offset: Int)
    case invalidUTF8(offset: Int)
    case invalidSimpleValue(offset: Int)
    case duplicateMapKey(offset: Int)
    case tooDeep(limit: Int)
    case tooLarge(offset: Int, limit: Int)
    case tooManyItems(limit: Int)
    case trailingBytes(offset: Int)
    case notDeterministic(offset: Int, reason: String)

    public var description: String {
        switch self {
        case .truncated(let o): return "CBOR truncated at byte \(o)"
        case .reservedAdditionalInformation(let o): return "CBOR uses reserved additional information at byte \(o)"
        case .unexpectedBreak(let o): return "CBOR has a break code outside an indefinite-length item at byte \(o)"
        case .badIndefiniteChunk(let o): return "CBOR indefinite-length string has a bad chunk at byte \(o)"
        case .invalidUTF8(let o): return "CBOR text string is not valid UTF-8 at byte \(o)"
        case .invalidSimpleValue(let o): return "CBOR simple value encoded in two bytes below 32 at byte \(o)"
        case .duplicateMapKey(let o): return "CBOR map repeats a key at byte \(o)"
        case .tooDeep(let limit): return "CBOR nests deeper than \(limit) levels"
        case .tooLarge(let o, let limit): return "CBOR item at byte \(o) declares more than \(limit) elements or bytes"
        case .tooManyItems(let limit): return "CBOR holds more than \(limit) data items"
        case .trailingBytes(let o): return "CBOR has bytes after the item, from byte \(o)"
        case .notDeterministic(let o, let reason): return "CBOR is not deterministically encoded at byte \(o): \(reason)"
        }
    }
}

/// Decodes one CBOR item from a byte buffer held in memory.
///
/// Safe on hostile input: every declared length is checked against the bytes that remain before
/// anything is allocated, nesting and item counts are bounded, and every failure is a
/// ``CBORDecodingError`` naming the offset.
public struct CBORDecoder {
    public struct Limits: Sendable {
        public var maxDepth: Int
        public var maxItems: Int
        public var maxLength: Int
        /// Also reject encodings that are well-formed but not deterministic (RFC 8949 §4.2.1).
        public var requireDeterministic: Bool

        public init(maxDepth: Int = 16, maxItems: Int = 65_536, maxLength: Int = 1 << 20,
                    requireDeterministic: Bool = false) {
            self.maxDepth = maxDepth
            self.maxItems = maxItems
            self.maxLength = maxLength
            self.requireDeterministic = requireDeterministic
        }

        public static let `default` = Limits()
    }

    private let input: [UInt8]
    private var offset = 0
    private var items = 0
    private let limits: Limits

    /// Decodes exactly one item that fills `bytes`.
    public static func decode(_ bytes: [UInt8], limits: Limits = .default) throws(CBORDecodingError) -> CBOR {
        var decoder = CBORDecoder(input: bytes, limits: limits)
        let item = try decoder.decodeItem(depth: 0)
        guard decoder.offset == bytes.count else { throw .trailingBytes(offset: decoder.offset) }
        return item
    }

    private init(input: [UInt8], limits: Limits) {
        self.input = input
        self.limits = limits
    }

    private enum Head {
        case value(major: UInt8, argument: UInt64, minor: UInt8)
        case indefinite(major: UInt8)
        case breakCode
    }

    private mutating func readByte() throws(CBORDecodingError) -> UInt8 {
        guard offset < input.count else { throw .truncated(offset: offset) }
        defer { offset += 1 }
        return input[offset]
    }

    private mutating func readUInt(_ width: Int) throws(CBORDecodingError) -> UInt64 {
        guard input.count - offset >= width else { throw .truncated(offset: input.count) }
        var value: UInt64 = 0
        for i in 0..<width { value = value << 8 | UInt64(input[offset + i]) }
        offset += width
        return value
    }

    private mutating func readHead() throws(CBORDecodingError) -> Head {
        let start = offset
        let initial = try readByte()
        let major = initial >> 5
        let minor = initial & 0x1f
        let argument: UInt64
        switch minor {
        case 0..<24: argument = UInt64(minor)
        case 24: argument = try readUInt(1)
        case 25: argument = try readUInt(2)
        case 26: argument = try readUInt(4)
        case 27: argument = try readUInt(8)
        case 31:
            switch major {
            case 2, 3, 4, 5:
                if limits.requireDeterministic {
                    throw .notDeterministic(offset: start, reason: "indefinite length")
                }
                return .indefinite(major: major)
            case 7: return .breakCode
            default: throw .reservedAdditionalInformation(offset: start)
            }
        default: throw .reservedAdditionalInformation(offset: start)
        }
        if limits.requireDeterministic && major != 7 && minor >= 24 {
            let shortest: UInt8 = argument < 24 ? 0 : argument <= 0xff ? 24 : argument <= 0xffff ? 25
                : argument <= 0xffff_ffff ? 26 : 27
            if shortest != minor { throw .notDeterministic(offset: start, reason: "head not in shortest form") }
        }
        return .value(major: major, argument: argument, minor: minor)
    }

    private mutating func countItem() throws(CBORDecodingError) {
        items += 1
        if items > limits.maxItems { throw .tooManyItems(limit: limits.maxItems) }
    }

    /// A declared length, checked against the limit and against what the input can still hold
    /// (`minimumSize` bytes per element).
    private func checkedLength(_ argument: UInt64, at start: Int, minimumSize: Int) throws(CBORDecodingError) -> Int {
        guard argument <= UInt64(limits.maxLength) else { throw .tooLarge(offset: start, limit: limits.maxLength) }
        let length = Int(argument)
        guard length <= (input.count - offset) / minimumSize else { throw .truncated(offset: input.count) }
        return length
    }

    private mutating func decodeItem(depth: Int) throws(CBORDecodingError) -> CBOR {
        guard depth <= limits.maxDepth else { throw .tooDeep(limit: limits.maxDepth) }
        try countItem()
        let start = offset
        switch try readHead() {
        case .breakCode:
            throw .unexpectedBreak(offset: start)
        case .indefinite(let major):
            return try decodeIndefinite(major: major, depth: depth, start: start)
        case .value(let major, let argument, let minor):
            switch major {
            case 0: return .unsigned(argument)
            case 1: return .negative(argument)
            case 2:
                let n = try checkedLength(argument, at: start, minimumSize: 1)
                defer { offset += n }
                return .bytes(Array(input[offset..<offset + n]))
            case 3:
                let n = try checkedLength(argument, at: start, minimumSize: 1)
                return .text(try readText(count: n))
            case 4:
                let n = try checkedLength(argument, at: start, minimumSize: 1)
                var elements: [CBOR] = []
                elements.reserveCapacity(n)
                for _ in 0..<n { elements.append(try decodeItem(depth: depth + 1)) }
                return .array(elements)
            case 5:
                let n = try checkedLength(argument, at: start, minimumSize: 2)
                return .map(try decodeMapEntries(count: n, depth: depth))
            case 6:
                return .tagged(argument, try decodeItem(depth: depth + 1))
            default:
                return try decodeSimple(minor: minor, argument: argument, start: start)
            }
        }
    }

    private mutating func readText(count n: Int) throws(CBORDecodingError) -> String {
        let start = offset
        let slice = input[offset..<offset + n]
        offset += n
        guard let text = UTF8Text.string(slice) else { throw .invalidUTF8(offset: start) }
        return text
    }

    private mutating func decodeMapEntries(count: Int?, depth: Int) throws(CBORDecodingError) -> [CBOR.Entry] {
        var entries: [CBOR.Entry] = []
        var seen = Set<CBOR>()  // used only for large maps; small ones are compared directly
        var previousKeyBytes: ArraySlice<UInt8>? = nil
        if let count { entries.reserveCapacity(count) }
        while count.map({ entries.count < $0 }) ?? true {
            if count == nil, offset < input.count, input[offset] == 0xff {
                offset += 1
                break
            }
            let keyStart = offset
            let key = try decodeItem(depth: depth + 1)
            if limits.requireDeterministic {
                let keyBytes = input[keyStart..<offset]
                if let previous = previousKeyBytes, !previous.lexicographicallyPrecedes(keyBytes) {
                    throw .notDeterministic(offset: keyStart, reason: "map keys out of order")
                }
                previousKeyBytes = keyBytes
            }
            if entries.count < 16 {
                guard !entries.contains(where: { CBOR.sameKey($0.key, key) }) else { throw .duplicateMapKey(offset: keyStart) }
            } else {
                if seen.isEmpty { seen = Set(entries.map(\.key)) }
                guard seen.insert(key).inserted else { throw .duplicateMapKey(offset: keyStart) }
            }
            let value = try decodeItem(depth: depth + 1)
            entries.append(CBOR.Entry(key, value))
        }
        return entries
    }

    private mutating func decodeIndefinite(major: UInt8, depth: Int, start: Int) throws(CBORDecodingError) -> CBOR {
        switch major {
        case 2, 3:
            var collected: [UInt8] = []
            while true {
                let chunkStart = offset
                if try peekBreak() { break }
                guard case .value(let chunkMajor, let argument, _) = try readHead(), chunkMajor == major else {
                    throw .badIndefiniteChunk(offset: chunkStart)
                }
                try countItem()
                let n = try checkedLength(argument, at: chunkStart, minimumSize: 1)
                guard collected.count + n <= limits.maxLength else { throw .tooLarge(offset: start, limit: limits.maxLength) }
                if major == 3, UTF8Text.string(input[offset..<offset + n]) == nil {
                    throw .invalidUTF8(offset: offset)
                }
                collected.append(contentsOf: input[offset..<offset + n])
                offset += n
            }
            if major == 2 { return .bytes(collected) }
            guard let text = UTF8Text.string(collected) else { throw .invalidUTF8(offset: start) }
            return .text(text)
        case 4:
            var elements: [CBOR] = []
            while try !peekBreak() {
                guard elements.count < limits.maxLength else { throw .tooLarge(offset: start, limit: limits.maxLength) }
                elements.append(try decodeItem(depth: depth + 1))
            }
            return .array(elements)
        default:
            return .map(try decodeMapEntries(count: nil, depth: depth))
        }
    }

    /// Consumes a break code if one is next.
    private mutating func peekBreak() throws(CBORDecodingError) -> Bool {
        guard offset < input.count else { throw .truncated(offset: offset) }
        if input[offset] == 0xff {
            offset += 1
            return true
        }
        return false
    }

    private func decodeSimple(minor: UInt8, argument: UInt64, start: Int) throws(CBORDecodingError) -> CBOR {
        switch minor {
        case 20: return .bool(false)
        case 21: return .bool(true)
        case 22: return .null
        case 23: return .undefined
        case 0..<20: return .simple(minor)
        case 24:
            guard argument >= 32 else { throw .invalidSimpleValue(offset: start) }
            return .simple(UInt8(argument))
        case 25:
            let value = HalfFloat.value(UInt16(argument))
            // The one deterministic NaN is f9 7e00, the form the encoder writes.
            if limits.requireDeterministic, value.isNaN, argument != 0x7e00 {
                throw .notDeterministic(offset: start, reason: "NaN not in the form f97e00")
            }
            return .float(value)
        case 26:
            let value = Double(Float(bitPattern: UInt32(argument)))
            if limits.requireDeterministic, value.isNaN || HalfFloat.bits(exactly: Float(value)) != nil {
                throw .notDeterministic(offset: start, reason: "float not in shortest form")
            }
            return .float(value)
        default:
            let value = Double(bitPattern: argument)
            if limits.requireDeterministic, value.isNaN || Double(Float(value)) == value {
                throw .notDeterministic(offset: start, reason: "float not in shortest form")
            }
            return .float(value)
        }
    }
}
