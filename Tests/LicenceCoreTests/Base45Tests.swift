import Testing
@testable import LicenceCore

/// RFC 9285 §4.
struct Base45Tests {
    @Test(arguments: [("AB", "BB8"), ("Hello!!", "%69 VD92EX0"), ("base-45", "UJCLQE7W581"), ("ietf!", "QED8WEX0"), ("", "")])
    func rfcExamplesEncode(_ plain: String, _ encoded: String) throws {
        #expect(Base45.encode(Array(plain.utf8)) == encoded)
        #expect(try Base45.decode(encoded) == Array(plain.utf8))
    }

    @Test func everyTwoByteValueRoundTrips() throws {
        for high in stride(from: 0, through: 255, by: 7) {
            for low in 0...255 {
                let bytes: [UInt8] = [UInt8(high), UInt8(low)]
                #expect(try Base45.decode(Base45.encode(bytes)) == bytes)
            }
        }
    }

    @Test func invalidInputIsRejected() {
        #expect(throws: Base45.DecodingError.valueOutOfRange(offset: 0)) { try Base45.decode("GGW") }  // RFC 9285 §4.3
        #expect(throws: Base45.DecodingError.valueOutOfRange(offset: 0)) { try Base45.decode("::") }
        #expect(throws: Base45.DecodingError.invalidLength(4)) { try Base45.decode("BB8B") }
        #expect(throws: Base45.DecodingError.invalidCharacter(offset: 1)) { try Base45.decode("Bb8") }
        #expect(throws: Base45.DecodingError.invalidCharacter(offset: 2)) { try Base45.decode("BB中") }
    }
}
