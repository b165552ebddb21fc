/// Reads JSON straight from its bytes, without Foundation, for the hot paths (verification request
/// bodies, a licence's extension fields): objects, arrays of strings, strings with the common
/// escapes, and any value skipped. Whatever it does not recognise reads as nil or false, and the
/// caller falls back to Foundation's decoder for the value or a precise error.
public struct JSONScanner {
    public let bytes: [UInt8]
    public private(set) var index = 0

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public var atEnd: Bool {
        mutating get {
            skipSpace()
            return index == bytes.count
        }
    }

    public mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[index]) { index += 1 }
    }

    public mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// An object; `member` reads each value after its key and says whether it could.
    public mutating func object(_ member: (String, inout JSONScanner) -> Bool) -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        if take(UInt8(ascii: "}")) { return true }
        repeat {
            guard let key = string(), take(UInt8(ascii: ":")), member(key, &self) else { return false }
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}"))
    }

    public mutating func stringArray() -> [String]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var values: [String] = []
        if take(UInt8(ascii: "]")) { return values }
        repeat {
            guard let value = string() else { return nil }
            values.append(value)
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? values : nil
    }

    /// A string; escapes other than the common ones send the request to the full decoder.
    public mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        var plain = true
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                defer { index += 1 }
                if plain { return UTF8Text.string(bytes[start..<index]) }
                return unescape(bytes[start..<index])
            case UInt8(ascii: "\\"):
                plain = false
                index += 2
            case 0..<0x20:
                return nil
            default:
                index += 1
            }
        }
        return nil
    }

    private func unescape(_ raw: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        var i = raw.startIndex
        while i < raw.endIndex {
            guard raw[i] == UInt8(ascii: "\\") else {
                out.append(raw[i])
                i += 1
                continue
            }
            guard i + 1 < raw.endIndex else { return nil }
            switch raw[i + 1] {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            default: return nil  // \u, \b, \f: the full decoder handles them
            }
            i += 2
        }
        return UTF8Text.string(out)
    }

    /// Skips any JSON value, nesting bounded.
    public mutating func skipValue(depth: Int) -> Bool {
        guard depth < 16 else { return false }
        skipSpace()
        guard index < bytes.count else { return false }
        switch bytes[index] {
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "{"): return object { _, scanner in scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            index += 1
            if take(UInt8(ascii: "]")) { return true }
            repeat {
                guard skipValue(depth: depth + 1) else { return false }
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "]"))
        default:
            let start = index
            while index < bytes.count, !(bytes[index] == UInt8(ascii: ",") || bytes[index] == UInt8(ascii: "}")
                                          || bytes[index] == UInt8(ascii: "]") || [0x20, 0x09, 0x0a, 0x0d].contains(bytes[index])) {
                index += 1
            }
            return index > start
        }
    }
}
