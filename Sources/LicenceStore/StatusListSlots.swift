import Foundation
import Crypto

/// Where status lists are served: `<public URL>/v1/status-lists/<n>`. Tokens carry this URI, the
/// registry stores it, and the server's route table takes its route from here, so the three agree.
public enum StatusListURI {
    /// The HTTP route, in OpenAPI form.
    public static let route = "/v1/status-lists/{n}"
    static let prefix = "/v1/status-lists/"

    /// The URI of list `number` under a normalised public URL (see ``base(publicURL:)``).
    static func make(base: String, number: Int64) -> String {
        base + prefix + String(number)
    }

    /// The public URL a status-list URI was made under, or nil when `uri` is not one.
    public static func publicURL(of uri: String) -> String? {
        guard let range = uri.range(of: prefix, options: .backwards), range.lowerBound > uri.startIndex,
              !uri[range.upperBound...].isEmpty, uri[range.upperBound...].allSatisfy(\.isNumber) else { return nil }
        return String(uri[..<range.lowerBound])
    }

    /// `--public-url` as the base of status-list URIs: an http(s) URL without trailing slashes.
    public static func base(publicURL: String) throws(RegistryError) -> String {
        var url = publicURL
        while url.hasSuffix("/") { url.removeLast() }
        guard url.hasPrefix("https://") || url.hasPrefix("http://"), url.count > 8, !url.contains(" ") else {
            throw RegistryError(.invalid, "--public-url \"\(publicURL)\" must be an http:// or https:// URL")
        }
        return url
    }
}

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
        permute(value) { round, right in Self.roundValue(HMAC<SHA256>(key: key), round: round, right: right) }
    }

    /// The slots of the positions in `range`. Beyond a few, the round function is tabulated first:
    /// it takes only 4 × 2^9 inputs, so a batch of thousands costs 2,048 HMACs instead of four a slot.
    func permute(_ range: Range<Int>) -> [Int] {
        let keyed = HMAC<SHA256>(key: key)
        guard range.count > 512 else { return range.map { permute($0) { Self.roundValue(keyed, round: $0, right: $1) } } }
        var table = [Int](repeating: 0, count: 4 << Self.halfBits)
        for round in 0..<4 {
            for right in 0...Self.halfMask { table[round << Self.halfBits | right] = Self.roundValue(keyed, round: round, right: right) }
        }
        return range.map { permute($0) { round, right in table[round << Self.halfBits | right] } }
    }

    private func permute(_ value: Int, roundFunction: (Int, Int) -> Int) -> Int {
        precondition((0..<Self.size).contains(value), "slot number out of range")
        var left = value >> Self.halfBits
        var right = value & Self.halfMask
        for round in 0..<4 {
            (left, right) = (right, left ^ roundFunction(round, right))
        }
        return left << Self.halfBits | right
    }

    /// HMAC-SHA256 of (round, right half), its first 9 bits: `keyed` is the HMAC already keyed with
    /// the list's seed, copied for each message.
    private static func roundValue(_ keyed: HMAC<SHA256>, round: Int, right: Int) -> Int {
        var mac = keyed
        mac.update(data: [UInt8(round), UInt8(right >> 8), UInt8(right & 0xff)])
        return mac.finalize().withUnsafeBytes { Int($0[0]) << 8 | Int($0[1]) } & halfMask
    }
}

/// One licence's place in a status list.
struct Slot: Sendable, Hashable {
    var list: Int64
    var index: Int64
    var uri: String
}

/// A status list as the registry stores it.
struct StatusListRow: Sendable {
    var number: Int64
    var uri: String
    var base: String
    var size: Int64
    /// Slots handed out so far (a reservation whose batch failed leaves its slots unused).
    var used: Int64
    var seed: [UInt8]
}

/// Slots for `count` new licences: the next free positions of the open list for a public URL, then
/// of new lists as each fills. The same for every engine; an engine reads the open list and the
/// next list number, and writes back what this says, in one transaction that no other reservation
/// for the same lists can interleave with.
struct SlotReservation: Sendable {
    var slots: [Slot] = []
    /// Lists to create (their `used` already counts the slots taken here).
    var created: [StatusListRow] = []
    /// The new `used` of the open list, when slots were taken from it.
    var openListUsed: (number: Int64, used: Int64)?

    init(count: Int, open: StatusListRow?, nextNumber: Int64, base: String) {
        slots.reserveCapacity(count)
        var list = open
        var next = nextNumber
        var generator = SystemRandomNumberGenerator()
        while slots.count < count {
            if list == nil || list!.used >= list!.size {
                let seed = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
                list = StatusListRow(number: next, uri: StatusListURI.make(base: base, number: next), base: base,
                                     size: Int64(SlotPermutation.size), used: 0, seed: seed)
                next += 1
            }
            var current = list!
            let take = min(Int64(count - slots.count), current.size - current.used)
            for index in SlotPermutation(seed: current.seed).permute(Int(current.used)..<Int(current.used + take)) {
                slots.append(Slot(list: current.number, index: Int64(index), uri: current.uri))
            }
            current.used += take
            if current.number == open?.number {
                openListUsed = (current.number, current.used)
            } else if let existing = created.firstIndex(where: { $0.number == current.number }) {
                created[existing] = current
            } else {
                created.append(current)
            }
            list = current
        }
    }
}
