/// ISO/IEC 7064 check characters.
enum ISO7064 {
    static let alphanumeric = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    /// The value of an ASCII digit or upper-case letter (0–35), nil for anything else.
    @inline(__always)
    static func value(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return Int(byte - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }

    /// The MOD 37,36 (hybrid) check character over digits and upper-case letters, or nil when
    /// `text` holds another character.
    static func mod37_36(_ text: some StringProtocol) -> Character? {
        let m = 36
        var p = m
        for byte in text.utf8 {
            guard let value = value(byte) else { return nil }
            p = (p + value) % m
            if p == 0 { p = m }
            p = (p * 2) % (m + 1)
        }
        return alphanumeric[(m + 1 - p) % m]
    }
}
