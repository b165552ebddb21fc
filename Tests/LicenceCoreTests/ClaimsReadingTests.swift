import TestSupport
import Testing
@testable import LicenceCore

/// The one-pass claims reader must agree with the general CBOR decoder: on every payload it
/// accepts, the claims are the same, and it accepts nothing the general decoder refuses.
struct ClaimsReadingTests {
    static func general(_ payload: [UInt8]) -> LicenceClaims? {
        guard let cbor = try? CBORDecoder.decode(payload) else { return nil }
        return try? LicenceClaims(cbor: cbor)
    }

    static func onePass(_ payload: [UInt8]) -> LicenceClaims? {
        payload.withUnsafeBufferPointer { LicenceClaims.readWellFormed($0, limits: .default) }
    }

    static let payloads: [[UInt8]] = {
        let licence = try! Fixtures.licence()
        let plain = try! Fixtures.claims(licence)
        let withStatus = try! Fixtures.claims(licence, status: StatusReference(index: 4711, uri: "https://licence.example.gov.cn/s/3"))
        var openEnded = plain
        openEnded.validUntil = nil
        openEnded.expires = nil
        var noFields = plain
        noFields.fields = [:]
        return [plain.encoded, withStatus.encoded, openEnded.encoded, noFields.encoded]
    }()

    @Test func readsWhatItWrites() throws {
        for payload in Self.payloads {
            let claims = try #require(Self.onePass(payload))
            #expect(claims == Self.general(payload))
        }
    }

    @Test func agreesWithTheGeneralDecoderOnMutations() {
        var generator = SplitMix64(seed: 11)
        var accepted = 0
        for round in 0..<20_000 {
            var payload = Self.payloads[round % Self.payloads.count]
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let index = Int.random(in: 0..<payload.count, using: &generator)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: payload[index] = UInt8.random(in: 0...255, using: &generator)
                case 1: payload[index] ^= 1 << UInt8.random(in: 0...7, using: &generator)
                case 2: payload.remove(at: index)
                default: payload.insert(UInt8.random(in: 0...255, using: &generator), at: index)
                }
            }
            let fast = Self.onePass(payload)
            if let fast {
                accepted += 1
                #expect(fast == Self.general(payload), "payload \(payload)")
            }
        }
        // Mutations inside texts keep most payloads readable, so the comparison is not vacuous.
        #expect(accepted > 1000)
    }

    @Test func leavesUnusualEncodingsToTheGeneralDecoder() throws {
        let payload = try Fixtures.claims(Fixtures.licence()).encoded
        // The same map with an indefinite length: valid CBOR, read by the general decoder only.
        var indefinite = payload
        indefinite[0] = 0xbf
        indefinite.append(0xff)
        #expect(Self.onePass(indefinite) == nil)
        #expect(Self.general(indefinite) != nil)
        #expect(try LicenceClaims(payload: indefinite, limits: .default) == Self.general(payload))
        // A repeated key (a second iss) is refused by both.
        var repeated = payload
        #expect((0xa1...0xb7).contains(repeated[0]))
        repeated[0] += 1
        repeated += [0x01, 0x61, 0x41]
        #expect(Self.onePass(repeated) == nil)
        #expect(throws: TokenError.self) { try LicenceClaims(payload: repeated, limits: .default) }
    }
}

/// The strict UTF-8 check agrees with the standard library's on every kind of sequence.
struct UTF8TextTests {
    @Test func agreesWithTheStandardLibrary() {
        var generator = SplitMix64(seed: 3)
        let interesting: [UInt8] = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xa0, 0x9f, 0xed, 0xef,
                                    0xf0, 0x90, 0x8f, 0xf4, 0xf5, 0xff, 0xe4, 0xb8, 0xad]
        for _ in 0..<50_000 {
            let bytes = (0..<Int.random(in: 0...6, using: &generator)).map { _ in interesting.randomElement(using: &generator)! }
            #expect(UTF8Text.string(bytes) == String(validating: bytes, as: UTF8.self), "bytes \(bytes)")
        }
        #expect(UTF8Text.string(Array("福州市 ok 🙂".utf8)) == "福州市 ok 🙂")
        #expect(UTF8Text.string([0xed, 0xa0, 0x80]) == nil)  // a surrogate
        #expect(UTF8Text.string([0xc0, 0xaf]) == nil)  // overlong
    }
}

/// The one-pass COSE reading agrees with the general one in the same way: same message and
/// headers on everything it reads, nothing read that the general reading refuses.
struct COSEReadingTests {
    static let messages: [[UInt8]] = {
        let claims = try! Fixtures.claims(Fixtures.licence())
        let token = try! LicenceToken.sign(claims, with: Fixtures.key)
        let tagged = try! LicenceToken.decode(token).coseBytes
        #expect(tagged.first == 0xd2)
        return [tagged, Array(tagged.dropFirst())]
    }()

    typealias Reading = (message: COSESign1, algorithm: SignatureAlgorithm, kid: [UInt8])

    static func general(_ bytes: [UInt8]) -> Reading? {
        guard let message = try? COSESign1(generalDecoding: bytes, limits: .default),
              let (algorithm, kid) = try? message.generalHeaders(limits: .default) else { return nil }
        return (message, algorithm, kid)
    }

    static func onePass(_ bytes: [UInt8]) -> Reading? {
        guard let message = bytes.withUnsafeBufferPointer({ COSESign1.readWellFormed($0, limits: .default) }),
              let (algorithm, kid) = message.protectedBytes.withUnsafeBufferPointer({
                  COSESign1.readHeaders($0, limits: .default)
              }) else { return nil }
        return (message, algorithm, kid)
    }

    @Test func readsWhatItWrites() throws {
        for bytes in Self.messages {
            let fast = try #require(Self.onePass(bytes))
            let general = try #require(Self.general(bytes))
            #expect(fast.message == general.message && fast.algorithm == general.algorithm && fast.kid == general.kid)
            #expect(fast.message.toBeSigned == CBOR.array([.text("Signature1"), .bytes(fast.message.protectedBytes), .bytes([]),
                                                          .bytes(fast.message.payload)]).encoded())
        }
    }

    @Test func agreesWithTheGeneralReadingOnMutations() {
        var generator = SplitMix64(seed: 17)
        var accepted = 0
        for round in 0..<20_000 {
            var bytes = Self.messages[round % Self.messages.count]
            // Mutations near the front, where the structure is, as often as anywhere else.
            let region = Int.random(in: 0...1, using: &generator) == 0 ? 24 : bytes.count
            for _ in 0..<Int.random(in: 1...2, using: &generator) {
                let index = Int.random(in: 0..<min(region, bytes.count), using: &generator)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &generator)
                case 1: bytes[index] ^= 1 << UInt8.random(in: 0...7, using: &generator)
                case 2: bytes.remove(at: index)
                default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: index)
                }
            }
            if let fast = Self.onePass(bytes) {
                accepted += 1
                let general = Self.general(bytes)
                #expect(general != nil, "bytes \(bytes)")
                if let general {
                    #expect(fast.message == general.message && fast.algorithm == general.algorithm && fast.kid == general.kid)
                }
            }
        }
        #expect(accepted > 1000)
    }

    @Test func leavesOtherShapesToTheGeneralReading() throws {
        let bytes = Self.messages[0]
        // An unprotected header with an entry: valid COSE, read by the general reading only.
        var withHeader = bytes
        let mapAt = try #require(withHeader.firstIndex(of: 0xa0))
        withHeader.replaceSubrange(mapAt...mapAt, with: [0xa1, 0x20, 0x00])
        #expect(Self.onePass(withHeader) == nil)
        #expect(Self.general(withHeader) != nil)
        #expect(try COSESign1(decoding: withHeader).unprotected.count == 1)
        // Limits too strict to be sure of leave the reading to the general decoder, which applies them.
        #expect(bytes.withUnsafeBufferPointer { COSESign1.readWellFormed($0, limits: .init(maxDepth: 1)) } == nil)
        #expect(throws: TokenError.self) { try COSESign1(decoding: bytes, limits: .init(maxDepth: 1)) }
        #expect(throws: TokenError.self) { try COSESign1(decoding: bytes, limits: .init(maxLength: 16)) }
    }
}
