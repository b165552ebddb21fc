import LicenceCore
/// Reads the two request bodies of the verification routes, `{"token": "…"}` and
/// `{"tokens": ["…", …]}`, straight from the bytes, without Foundation. Anything it does not
/// recognise returns nil, and the caller falls back to the full decoder for a precise error.
enum RequestJSON {
    static func token(_ bytes: some Collection<UInt8>) -> String? {
        var scanner = Scanner(bytes: Array(bytes))
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
        var scanner = Scanner(bytes: Array(bytes))
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

    struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool {
            mutating get {
                skipSpace()
                return index == bytes.count
            }
        }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[index]) { index += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// An object; `member` reads each value after its key and says whether it could.
        mutating func object(_ member: (String, inout Scanner) -> Bool) -> Bool {
            guard take(UInt8(ascii: "{")) else { return false }
            if take(UInt8(ascii: "}")) { return true }
            repeat {
                guard let key = string(), take(UInt8(ascii: ":")), member(key, &self) else { return false }
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "}"))
        }

        mutating func stringArray() -> [String]? {
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
        mutating func string() -> String? {
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
        mutating func skipValue(depth: Int) -> Bool {
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
}
