import Crypto

/// A keyed permutation of the 2^18 slots of a status list (a 4-round Feistel network over two
/// 9-bit halves, with HMAC-SHA256 as round function). The n-th licence placed in a list takes slot
/// `permute(n)`: every slot is used once, and without the list's secret seed the order reveals
/// nothing about when, or how many, licences were issued.
struct SlotPermutation: Sendable {
    static let bits = 18
    static let size = 1 << bits
    private static let halfBits = bits / 2
    private static let halfMask = (1 << halfBits) - 1

    private let key: SymmetricKey

    init(seed: [UInt8]) {
        key = SymmetricKey(data: seed)
    }

    func permute(_ value: Int) -> Int {
        precondition((0..<Self.size).contains(value), "slot number out of range")
        var left = value >> Self.halfBits
        var right = value & Self.halfMask
        for round in 0..<4 {
            let mac = HMAC<SHA256>.authenticationCode(for: [UInt8(round), UInt8(right >> 8), UInt8(right & 0xff)], using: key)
            let f = mac.withUnsafeBytes { Int($0[0]) << 8 | Int($0[1]) } & Self.halfMask
            (left, right) = (right, left ^ f)
        }
        return left << Self.halfBits | right
    }
}
