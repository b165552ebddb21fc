/// Base45 (RFC 9285): two bytes become three characters of the QR alphanumeric alphabet.
public enum Base45 {
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".utf8)

    /// The value of each ASCII character in the alphabet, or 0xff.
    static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
        return table
    }()

    public enum DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        case invalidCharacter(offset: Int)
        case invalidLength(Int)
        case valueOutOfRange(offset: Int)

        public var description: String {
            switch self {
            case .invalidCharacter(let o): return "base45 has a character outside its alphabet at position \(o)"
            case .invalidLength(let n): return "base45 length \(n) leaves a single dangling character"
            case .valueOutOfRange(let o): return "base45 group at position \(o) encodes a value too large for its bytes"
            }
        }
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 1) / 2 * 3)
        var index = 0
        while index + 1 < bytes.count {
            var n = Int(bytes[index]) << 8 | Int(bytes[index + 1])
            for _ in 0..<3 {
                out.append(alphabet[n % 45])
                n /= 45
            }
            index += 2
        }
        if index < bytes.count {
            let n = Int(bytes[index])
            out.append(alphabet[n % 45])
            out.append(alphabet[n / 45])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: some StringProtocol) throws(DecodingError) -> [UInt8] {
        try decode(utf8: Array(text.utf8))
    }

    public static func decode(utf8 input: [UInt8]) throws(DecodingError) -> [UInt8] {
        try input.withUnsafeBufferPointer { buffer throws(DecodingError) in try decode(utf8: buffer) }
    }

    public static func decode(utf8 input: UnsafeBufferPointer<UInt8>) throws(DecodingError) -> [UInt8] {
        guard input.count % 3 != 1 else { throw .invalidLength(input.count) }
        let outputCount = input.count / 3 * 2 + (input.count % 3 == 2 ? 1 : 0)
        var failure: DecodingError? = nil
        let output = [UInt8](unsafeUninitializedCapacity: outputCount) { out, initialised in
            values.withUnsafeBufferPointer { values in
                var index = 0
                var written = 0
                // Whole groups first: every value is below 45, so a character outside the alphabet
                // (0xff) shows in the high bit of the three values or-ed together.
                while index + 3 <= input.count {
                    let a = values[Int(input[index])], b = values[Int(input[index + 1])], c = values[Int(input[index + 2])]
                    guard (a | b | c) & 0x80 == 0 else { break }
                    let n = Int(a) + Int(b) * 45 + Int(c) * 2025
                    guard n <= 0xffff else { break }
                    out[written] = UInt8(truncatingIfNeeded: n >> 8)
                    out[written + 1] = UInt8(truncatingIfNeeded: n)
                    written += 2
                    index += 3
                }
                // The short last group, or the group that failed, with its error.
                while index < input.count {
                    let groupSize = min(3, input.count - index)
                    var n = 0
                    var factor = 1
                    for k in 0..<groupSize {
                        let v = values[Int(input[index + k])]
                        guard v != 0xff else { failure = .invalidCharacter(offset: index + k); return }
                        n += Int(v) * factor
                        factor *= 45
                    }
                    if groupSize == 3 {
                        guard n <= 0xffff else { failure = .valueOutOfRange(offset: index); return }
                        out[written] = UInt8(n >> 8)
                        out[written + 1] = UInt8(n & 0xff)
                        written += 2
                    } else {
                        guard n <= 0xff else { failure = .valueOutOfRange(offset: index); return }
                        out[written] = UInt8(n)
                        written += 1
                    }
                    index += groupSize
                }
                initialised = written
            }
        }
        if let failure { throw failure }
        return output
    }
}
