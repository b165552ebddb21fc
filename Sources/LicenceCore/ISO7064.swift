/// ISO/IEC 7064 check characters.
enum ISO7064 {
    static let alphanumeric = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    /// The MOD 37,36 (hybrid) check character over digits and upper-case letters, or nil when
    /// `text` holds another character.
    static func mod37_36(_ text: some StringProtocol) -> Character? {
        let m = 36
        var p = m
        for character in text {
            guard let value = alphanumeric.firstIndex(of: character) else { return nil }
            p = (p + value) % m
            if p == 0 { p = m }
            p = (p * 2) % (m + 1)
        }
        return alphanumeric[(m + 1 - p) % m]
    }
}
