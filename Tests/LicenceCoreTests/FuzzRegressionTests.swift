import Testing
@testable import LicenceCore

/// Inputs that once crashed a decoder or broke one of its properties under the fuzz targets of
/// Tools/fuzz. The same bytes are in Tools/fuzz/regressions/<target>/, which every fuzz run replays.
struct FuzzRegressionTests {
    /// Accepts every signature: what these inputs break lies behind the signature check.
    struct AnySignature: SignatureVerifier {
        var algorithm: SignatureAlgorithm
        func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool { true }
    }

    static let issuer = Issuer(code: "11350000003591037R", name: "福州市市场监督管理局")

    /// A trust list in which `kid` is a key of `role` for `issuer`.
    static func trust(_ kid: [UInt8], _ algorithm: SignatureAlgorithm, role: KeyRole) -> TrustList {
        TrustList([TrustedKey(kid: kid, role: role, issuer: issuer, notBefore: .min, notAfter: .max, state: .active,
                              verifier: AnySignature(algorithm: algorithm))])
    }

    /// 2027-06-01T00:00+08:00, inside the validity of the licences below.
    static let now: Int64 = 1_811_779_200

    /// The verification report of the token around `cose`, signed by a trusted key.
    static func report(cose hex: [String]) throws -> String {
        let decoded = try LicenceToken.decode(LicenceToken.encode(coseBytes: #require(Hex.decode(hex.joined()))))
        let verifier = Verifier(trustStore: trust(decoded.kid, decoded.algorithm, role: .issuer), clock: FixedClock(now))
        let result = verifier.verify(decoded)
        #expect(result.outcome == .valid)
        return String(decoding: VerificationReport(result).json, as: UTF8.self)
    }

    // MARK: - cbor

    /// Deterministic mode took a half-precision NaN with a payload or sign (found: f9 ffff), which
    /// re-encodes as f9 7e00: such input passed as deterministic yet was not the deterministic form.
    @Test(arguments: [[0xf9, 0xff, 0xff], [0xf9, 0x7e, 0x01], [0xf9, 0xfe, 0x00], [0xf9, 0x7c, 0x01]] as [[UInt8]])
    func deterministicCBORTakesOnlyTheOneNaN(_ input: [UInt8]) throws {
        #expect(throws: CBORDecodingError.notDeterministic(offset: 0, reason: "NaN not in the form f97e00")) {
            try CBORDecoder.decode(input, limits: .init(requireDeterministic: true))
        }
        // Well-formed all the same: the lenient decoder reads a NaN.
        #expect(try CBORDecoder.decode(input).encoded() == [0xf9, 0x7e, 0x00])
        #expect(throws: Never.self) { try CBORDecoder.decode([0xf9, 0x7e, 0x00], limits: .init(requireDeterministic: true)) }
    }

    /// A map with two NaN keys (here both f9 fcf9) passed the duplicate-key check, because NaN was
    /// not equal to itself; its encoding then held the same key twice.
    @Test func twoNaNKeysAreADuplicateKey() {
        let input: [UInt8] = [
            0x9f, 0x01, 0x82, 0x02, 0xef, 0xf9, 0xf9, 0x9f, 0x00, 0x00, 0x0f, 0xa2, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9,
            0xf9, 0xf1, 0xf9, 0x2c, 0xef, 0xf9, 0xf9, 0x0f, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xa2, 0xf9, 0xf9, 0x00,
            0x0f, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xa2, 0xf9, 0xf9, 0xf1, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9,
            0xf9, 0xf9, 0xe8, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xa2, 0xf9, 0xfc, 0xf9, 0xf1, 0xf9, 0xfc, 0xf9, 0xf9,
            0xf9, 0x00, 0x00, 0xff,
        ]
        #expect(throws: CBORDecodingError.duplicateMapKey(offset: 68)) { try CBORDecoder.decode(input) }
        // NaNs of any payload, also inside a key, and in maps large enough to be checked through a set.
        #expect(throws: CBORDecodingError.duplicateMapKey(offset: 5)) {
            try CBORDecoder.decode(Hex.decode("a2f97e0001fa7fc0000102")!)
        }
        #expect(throws: CBORDecodingError.duplicateMapKey(offset: 6)) {
            try CBORDecoder.decode(Hex.decode("a281f97e000181fb7ff800000000000002")!)
        }
        let large: [UInt8] = [0xb8, 18] + (0..<16).flatMap { [UInt8($0), 0] as [UInt8] } + [0xf9, 0x7e, 0x00, 0, 0xf9, 0xfe, 0x00, 0]
        #expect(throws: CBORDecodingError.duplicateMapKey(offset: 38)) { try CBORDecoder.decode(large) }
        #expect(CBOR.float(.nan) == CBOR.float(-.nan))
        #expect(Set<CBOR>([.float(.nan), .float(.signalingNaN), .array([.float(.nan)]), .array([.float(.nan)])]).count == 2)
    }

    // MARK: - token

    /// A trusted token whose `iat` is Int64.min trapped when its issue time was written
    /// (`Timestamp.format` subtracted 86,399 before dividing).
    @Test func issueTimeAtInt64MinIsWritten() throws {
        let json = try Self.report(cose: [
            "d2844da201270448bcaca28b1d2d3661a0590175a60172313133353030303030303335393130333752041a8f065b00051a6967bd80063b7f",
            "ffffffffffffff075852312e322e3135362e333030352e322e3131313030303030303030303133333338573031312e313133353030303030",
            "3033353931303337522e32303236303530373734383432393237333733342e3030312e573a00010000ab0175313131303030303030303030",
            "313333333857303131026ce890a5e4b89ae689a7e785a7037819e997bde5b882e79b9132303236e7acac303030313233e58fb704781ee7a6",
            "8fe5b79ee69f90e69f90e7a791e68a80e69c89e99990e585ace58fb8057239313335303130304d413259303131313146066330303107781e",
            "e7a68fe5b79ee5b882e5b882e59cbae79b91e79da3e7aea1e79086e5b180086a323032362d30312d3135096a323034362d30312d31340a01",
            "0ba26ce6b3a8e5868ce8b584e69cac72313030e4b887e58583e4babae6b091e5b8816fe6b395e5ae9ae4bba3e8a1a8e4baba66e5bca0e4b8",
            "89584057a2ce5e959bf7cc95db10cd718a3472bd81ab6017f8c25bf06d391499ba8defc9e13f4f7d00f976d44f81fbf2998d2e0bbe4e55c4",
            "a40b0b930c4bae1d46800d",
        ])
        #expect(json.contains(#""issuedAt":"-292277022657-01-27T08:29:52Z""#))
    }

    /// A trusted token whose status-list index is above Int64.max trapped when the index was
    /// written to JSON (`Int64(index)`).
    @Test func statusIndexAboveInt64MaxIsWritten() throws {
        let json = try Self.report(cose: [
            "d2844da2012604484e4bbc7bce94e7daa059019ca70172313133353030303030303335393130333752041a8f065b00051a6967bd80061a6b",
            "0b9048075852312e322e3135362e333030352e322e3131313030303030303030303133333338573031312e31313335303030303030333539",
            "31303337522e32303236353631313434383936333536373035312e3030312e5619ffffa16b7374617475735f6c697374a2636964781bffff",
            "ffffffffffff637572697827687474703a2f2f3132372e302e302e313a383038302f76312f7374617475732d6c697374732f303a00010000",
            "ab0175313131303030303030303030313333333857303131026ce890a5e4b89ae689a7e785a7037819e997bde5b882e79b9132303236e7ac",
            "ac303030353031e58fb704781ee7a68fe5b79ee69f90e69f90e7a791e68a80e69c89e99990e585ace58fb8057239313335303130304d4132",
            "59303131313146066330303107781ee7a68fe5b79ee5b882e5b882e59cbae79b91e79da3e7aea1e79086e5b180086a323032362d30312d31",
            "35096a323034362d30312d31340a010ba16fe6b395e5ae9ae4bba3e8a1a8e4baba66e5bca0e4b88958405287e006bc40bbe8478f0f600f8d",
            "52ebb75d2fdd477ef73a53d86ff0821586bc43f674eaa97aa9c8e040e75f23cbe99cdfe35fff28c2af31a92c32d3c92f2425",
        ])
        #expect(json.contains(#""statusList":{"index":18446744073709551615,"uri":"http://127.0.0.1:8080/v1/status-lists/0"}"#))
    }

    // MARK: - statuslist

    /// A trusted status list whose `exp` is Int64.min trapped when a verifier said when it expired.
    @Test func statusListExpiringAtInt64MinIsReported() throws {
        let bytes = try #require(Hex.decode([
            "d284582aa301260448a7803fb1b9c065b610781a6170706c69636174696f6e2f7374617475736c6973742b637774a058b1a5027827687474",
            "703a2f2f3132372e302e302e313a383038302f76312f7374617475732d6c697374732f30043b7fffffffffffffff061a6b0b904f19fffda2",
            "636c7374586078daedd0410d00000804a07b1acbfea96ce1dc84082400000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000c069ad0000000076940200000000000000000000de1b126f004964626974730219fffe19",
            "0e10584030d41a459f345579e8faeb658df88e572882ef014ac50526d98aa488d90bd1caf2f1dd32ab0644db6e8560c46526140e0b74a1d4",
            "bac9eda4423d2b9810928fac",
        ].joined()))
        let list = try StatusListToken.verify(bytes, trustStore: Self.trust(Hex.decode("a7803fb1b9c065b6")!, .es256, role: .status))
        #expect(list.expires == .min)
        let id = try LicenceIdentifier.sequential(typeCode: "11100000000013338W011", issuerCode: Self.issuer.code,
                                                  year: 2026, sequence: 1)
        let from = try CalendarDate(parsing: "2026-01-15")
        let claims = LicenceClaims(issuerCode: Self.issuer.code, notBefore: from.startInChina, expires: nil,
                                   issuedAt: from.startInChina, identifier: id,
                                   status: StatusReference(index: 0, uri: list.uri), typeCode: id.typeCode,
                                   typeName: "营业执照", number: "1", holderName: "福州某某科技有限公司",
                                   holderCode: "91350100MA2Y01111F", holderCodeType: .creditCode,
                                   issuerName: Self.issuer.name, validFrom: from, validUntil: nil, version: 1, fields: [:])
        guard case .unavailable(let why) = StatusListSource([list]).status(of: claims, now: Self.now) else {
            Issue.record("a list that expired at Int64.min is not unavailable")
            return
        }
        #expect(why.en == "the status list \(list.uri) expired at -292277022657-01-27T08:29:52Z")
    }

    /// `Timestamp.format` takes every Int64, and still floors negative times to the day before.
    @Test(arguments: [
        (Int64.min, "-292277022657-01-27T08:29:52Z"), (Int64.max, "292277026596-12-04T15:30:07Z"),
        (-1, "1969-12-31T23:59:59Z"), (-86_400, "1969-12-31T00:00:00Z"), (-86_401, "1969-12-30T23:59:59Z"),
        (0, "1970-01-01T00:00:00Z"), (253_402_300_799, "9999-12-31T23:59:59Z"),
    ])
    func timestampsFormatOverTheWholeRange(_ seconds: Int64, _ text: String) {
        #expect(Timestamp.format(seconds) == text)
    }
}
