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
        var p = 36
        for byte in text.utf8 {
            guard let value = value(byte) else { return nil }
            p = mod37_36Step(p, value)
        }
        return mod37_36Check(p)
    }

    /// One step of MOD 37,36 from `p` (1–36, starting at 36) with a value 0–35:
    /// p ← ((p + value) mod 36, with 0 read as 36) × 2 mod 37, by subtraction rather than division.
    @inline(__always)
    static func mod37_36Step(_ p: Int, _ value: Int) -> Int {
        var p = p + value
        if p > 36 { p -= 36 }
        p *= 2
        if p >= 37 { p -= 37 }
        return p
    }

    /// The check character after the last step.
    @inline(__always)
    static func mod37_36Check(_ p: Int) -> Character { alphanumeric[(37 - p) % 36] }
}
