import Testing
@testable import LicenceCore

/// RFC 8949 Appendix A: every example decodes to the value shown there, and the ones already in
/// deterministic form encode back to the same bytes.
struct CBORAppendixATests {
    struct Vector: CustomTestStringConvertible, Sendable {
        var hex: String
        var value: CBOR
        /// The encoding is the deterministic one (so re-encoding reproduces it).
        var roundTrip: Bool = true
        var testDescription: String { hex }
    }

    static let bigIntBytes: [UInt8] = [0x01, 0, 0, 0, 0, 0, 0, 0, 0]

    static let vectors: [Vector] = [
        .init(hex: "00", value: 0), .init(hex: "01", value: 1), .init(hex: "0a", value: 10), .init(hex: "17", value: 23),
        .init(hex: "1818", value: 24), .init(hex: "1819", value: 25), .init(hex: "1864", value: 100),
        .init(hex: "1903e8", value: 1000), .init(hex: "1a000f4240", value: 1_000_000),
        .init(hex: "1b000000e8d4a51000", value: 1_000_000_000_000),
        .init(hex: "1bffffffffffffffff", value: .unsigned(18_446_744_073_709_551_615)),
        .init(hex: "c249010000000000000000", value: .tagged(2, .bytes(bigIntBytes))),
        .init(hex: "3bffffffffffffffff", value: .negative(18_446_744_073_709_551_615)),
        .init(hex: "c349010000000000000000", value: .tagged(3, .bytes(bigIntBytes))),
        .init(hex: "20", value: -1), .init(hex: "29", value: -10), .init(hex: "3863", value: -100),
        .init(hex: "3903e7", value: -1000),
        .init(hex: "f90000", value: .float(0.0)), .init(hex: "f98000", value: .float(-0.0)),
        .init(hex: "f93c00", value: .float(1.0)), .init(hex: "fb3ff199999999999a", value: .float(1.1)),
        .init(hex: "f93e00", value: .float(1.5)), .init(hex: "f97bff", value: .float(65504.0)),
        .init(hex: "fa47c35000", value: .float(100000.0)),
        .init(hex: "fa7f7fffff", value: .float(3.4028234663852886e+38)),
        .init(hex: "fb7e37e43c8800759c", value: .float(1.0e+300)),
        .init(hex: "f90001", value: .float(5.960464477539063e-8)),
        .init(hex: "f90400", value: .float(0.00006103515625)),
        .init(hex: "f9c400", value: .float(-4.0)), .init(hex: "fbc010666666666666", value: .float(-4.1)),
        .init(hex: "f97c00", value: .float(.infinity)), .init(hex: "f9fc00", value: .float(-.infinity)),
        .init(hex: "fa7f800000", value: .float(.infinity), roundTrip: false),
        .init(hex: "faff800000", value: .float(-.infinity), roundTrip: false),
        .init(hex: "fb7ff0000000000000", value: .float(.infinity), roundTrip: false),
        .init(hex: "fbfff0000000000000", value: .float(-.infinity), roundTrip: false),
        .init(hex: "f4", value: false), .init(hex: "f5", value: true), .init(hex: "f6", value: nil),
        .init(hex: "f7", value: .undefined), .init(hex: "f0", value: .simple(16)), .init(hex: "f8ff", value: .simple(255)),
        .init(hex: "c074323031332d30332d32315432303a30343a30305a", value: .tagged(0, "2013-03-21T20:04:00Z")),
        .init(hex: "c11a514b67b0", value: .tagged(1, 1_363_896_240)),
        .init(hex: "c1fb41d452d9ec200000", value: .tagged(1, .float(1_363_896_240.5))),
        .init(hex: "d74401020304", value: .tagged(23, .bytes([1, 2, 3, 4]))),
        .init(hex: "d818456449455446", value: .tagged(24, .bytes([0x64, 0x49, 0x45, 0x54, 0x46]))),
        .init(hex: "d82076687474703a2f2f7777772e6578616d706c652e636f6d", value: .tagged(32, "http://www.example.com")),
        .init(hex: "40", value: .bytes([])), .init(hex: "4401020304", value: .bytes([1, 2, 3, 4])),
        .init(hex: "60", value: ""), .init(hex: "6161", value: "a"), .init(hex: "6449455446", value: "IETF"),
        .init(hex: "62225c", value: "\"\\"), .init(hex: "62c3bc", value: "\u{00fc}"),
        .init(hex: "63e6b0b4", value: "\u{6c34}"), .init(hex: "64f0908591", value: "\u{10151}"),
        .init(hex: "80", value: []), .init(hex: "83010203", value: [1, 2, 3]),
        .init(hex: "8301820203820405", value: [1, [2, 3], [4, 5]]),
        .init(hex: "98190102030405060708090a0b0c0d0e0f101112131415161718181819", value: .array((1...25).map { .int($0) })),
        .init(hex: "a0", value: .map([])),
        .init(hex: "a201020304", value: .map([.init(1, 2), .init(3, 4)])),
        .init(hex: "a26161016162820203", value: .map([.init("a", 1), .init("b", [2, 3])])),
        .init(hex: "826161a161626163", value: ["a", .map([.init("b", "c")])]),
        .init(hex: "a56161614161626142616361436164614461656145",
              value: .map([.init("a", "A"), .init("b", "B"), .init("c", "C"), .init("d", "D"), .init("e", "E")])),
        .init(hex: "5f42010243030405ff", value: .bytes([1, 2, 3, 4, 5]), roundTrip: false),
        .init(hex: "7f657374726561646d696e67ff", value: "streaming", roundTrip: false),
        .init(hex: "9fff", value: [], roundTrip: false),
        .init(hex: "9f018202039f0405ffff", value: [1, [2, 3], [4, 5]], roundTrip: false),
        .init(hex: "9f01820203820405ff", value: [1, [2, 3], [4, 5]], roundTrip: false),
        .init(hex: "83018202039f0405ff", value: [1, [2, 3], [4, 5]], roundTrip: false),
        .init(hex: "83019f0203ff820405", value: [1, [2, 3], [4, 5]], roundTrip: false),
        .init(hex: "9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff", value: .array((1...25).map { .int($0) }),
              roundTrip: false),
        .init(hex: "bf61610161629f0203ffff", value: .map([.init("a", 1), .init("b", [2, 3])]), roundTrip: false),
        .init(hex: "826161bf61626163ff", value: ["a", .map([.init("b", "c")])], roundTrip: false),
        .init(hex: "bf6346756ef563416d7421ff", value: .map([.init("Fun", true), .init("Amt", -2)]), roundTrip: false),
    ]

    @Test(arguments: vectors)
    func decodesToTheValueShown(_ vector: Vector) throws {
        let bytes = try #require(Hex.decode(vector.hex))
        #expect(try CBORDecoder.decode(bytes) == vector.value)
    }

    @Test(arguments: vectors.filter(\.roundTrip))
    func encodesDeterministically(_ vector: Vector) throws {
        #expect(Hex.encode(vector.value.encoded()) == vector.hex)
        // Deterministic input also passes the strict decoder.
        let bytes = try #require(Hex.decode(vector.hex))
        #expect(throws: Never.self) { try CBORDecoder.decode(bytes, limits: .init(requireDeterministic: true)) }
    }

    @Test(arguments: ["f97e00", "fa7fc00000", "fb7ff8000000000000"])
    func nanDecodesAndEncodesAsHalfPrecision(_ hex: String) throws {
        let value = try CBORDecoder.decode(Hex.decode(hex)!)
        guard case .float(let d) = value else {
            Issue.record("not a float")
            return
        }
        #expect(d.isNaN)
        #expect(Hex.encode(value.encoded()) == "f97e00")
    }
}

struct CBORDeterminismTests {
    @Test func mapKeysAreSortedByTheirEncodedBytes() {
        // RFC 8949 §4.2.1: 10, 100, -1, "z", "aa", [100], [-1], false.
        let map = CBOR.map([.init(false, 0), .init([-1], 0), .init([100], 0), .init("aa", 0), .init("z", 0),
                            .init(-1, 0), .init(100, 0), .init(10, 0)])
        #expect(Hex.encode(map.encoded()) == "a80a001864002000617a006261610081186400812000f400")
    }

    @Test func integerHeadsUseTheShortestForm() {
        #expect(CBOR.int(23).encoded() == [0x17])
        #expect(CBOR.int(-24).encoded() == [0x37])
        #expect(CBOR.int(-25).encoded() == [0x38, 0x18])
        #expect(CBOR.int(65536).encoded() == [0x1a, 0, 1, 0, 0])
        #expect(CBOR.int(Int64.min).encoded() == [0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    }

    @Test(arguments: [
        ("1817", "head not in shortest form"), ("5f4101ff", "indefinite length"), ("a2616201616101", "map keys out of order"),
        ("fa3f800000", "float not in shortest form"),
    ])
    func strictModeRejectsNonDeterministicEncodings(_ hex: String, _ reason: String) {
        #expect(throws: CBORDecodingError.self) { try CBORDecoder.decode(Hex.decode(hex)!, limits: .init(requireDeterministic: true)) }
        // The same bytes are well-formed, so the lenient decoder accepts them.
        #expect(throws: Never.self) { try CBORDecoder.decode(Hex.decode(hex)!) }
    }
}

/// Hostile input: every malformed item is a precise error, never a crash or a large allocation.
struct CBORMalformedTests {
    @Test(arguments: [
        ("18", CBORDecodingError.truncated(offset: 1)),
        ("1a0000", .truncated(offset: 3)),
        ("62c3", .truncated(offset: 2)),
        ("83010203ff", .trailingBytes(offset: 4)),
        ("1c", .reservedAdditionalInformation(offset: 0)),
        ("ff", .unexpectedBreak(offset: 0)),
        ("f800", .invalidSimpleValue(offset: 0)),
        ("62c328", .invalidUTF8(offset: 1)),
        ("a201020103", .duplicateMapKey(offset: 3)),
        ("5f6161ff", .badIndefiniteChunk(offset: 1)),
        ("9f01", .truncated(offset: 2)),
        ("1f", .reservedAdditionalInformation(offset: 0)),
    ])
    func malformedInputIsAPreciseError(_ hex: String, _ expected: CBORDecodingError) {
        #expect(throws: expected) { try CBORDecoder.decode(Hex.decode(hex)!) }
    }

    @Test func hugeDeclaredLengthsFailBeforeAllocating() {
        // A byte string and an array that claim 2^64−1 elements, and one within the limit that the input cannot hold.
        #expect(throws: CBORDecodingError.tooLarge(offset: 0, limit: 1 << 20)) {
            try CBORDecoder.decode([0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        }
        #expect(throws: CBORDecodingError.tooLarge(offset: 0, limit: 1 << 20)) {
            try CBORDecoder.decode([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        }
        #expect(throws: CBORDecodingError.truncated(offset: 5)) { try CBORDecoder.decode([0x9a, 0x00, 0x0f, 0x00, 0x00]) }
        #expect(throws: CBORDecodingError.truncated(offset: 5)) { try CBORDecoder.decode([0xba, 0x00, 0x00, 0x10, 0x00]) }
    }

    @Test func deepNestingIsRefused() {
        let deep = [UInt8](repeating: 0x81, count: 100_000) + [0x00]
        #expect(throws: CBORDecodingError.tooDeep(limit: 16)) { try CBORDecoder.decode(deep) }
        let deepTags = [UInt8](repeating: 0xc1, count: 100_000) + [0x00]
        #expect(throws: CBORDecodingError.tooDeep(limit: 16)) { try CBORDecoder.decode(deepTags) }
        let indefinite = [UInt8](repeating: 0x9f, count: 100_000)
        #expect(throws: CBORDecodingError.tooDeep(limit: 16)) { try CBORDecoder.decode(indefinite) }
    }

    @Test func itemCountIsBounded() {
        let many: [UInt8] = [0x9f] + [UInt8](repeating: 0x00, count: 70_000) + [0xff]
        #expect(throws: CBORDecodingError.tooManyItems(limit: 65_536)) { try CBORDecoder.decode(many) }
    }

    @Test func everyTruncationOfAValidItemIsAnError() throws {
        let item = CBOR.map([.init(1, "福州"), .init(-65537, .map([.init(11, .map([.init("注册资本", "100万元")]))])),
                             .init(7, .bytes([1, 2, 3])), .init(4, .float(1.5))])
        let bytes = item.encoded()
        #expect(try CBORDecoder.decode(bytes).encoded() == bytes)
        for length in 0..<bytes.count {
            #expect(throws: CBORDecodingError.self) { try CBORDecoder.decode(Array(bytes.prefix(length))) }
        }
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...64, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? CBORDecoder.decode(bytes)
        }
    }
}
