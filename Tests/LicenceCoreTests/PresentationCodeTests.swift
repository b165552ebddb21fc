import LicenceCore
import TestSupport
import Testing

/// Presentation codes (EL1P): their form, size and the checks decoding makes.
struct PresentationCodeTests {
    let device = FakeKey(secret: 7, algorithm: .es256, kid: [1, 2, 3, 4, 5, 6, 7, 8])
    let hash: [UInt8] = [9, 9, 9, 9, 9, 9, 9, 9]
    let nonce: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7]

    func code(iat: Int64 = 1_780_000_000, lifetime: Int64 = 90, disclosed: [String]? = nil) throws -> String {
        try PresentationCode.sign(device: device.kid, licenceHash: hash, issuedAt: iat, expires: iat + lifetime, nonce: nonce,
                                  disclosed: disclosed, with: device)
    }

    @Test func roundTripsAndFitsAVersion10QRCodeAtLevelQ() throws {
        let text = try code(disclosed: ["准驾车型"])
        let decoded = try PresentationCode(decoding: text)
        #expect(decoded.device == device.kid && decoded.licenceHash == hash && decoded.nonce == nonce)
        #expect(decoded.issuedAt == 1_780_000_000 && decoded.expires == 1_780_000_090 && decoded.disclosed == ["准驾车型"])
        #expect(decoded.isSigned(by: device))
        #expect(decoded.isCurrent(at: 1_780_000_000 - 30) && !decoded.isCurrent(at: 1_780_000_000 - 31))
        #expect(decoded.isCurrent(at: 1_780_000_090) && !decoded.isCurrent(at: 1_780_000_091))
        // The sizes the wallet meets: every disclosed field (no list), one field of four characters.
        #expect(try code().count == 182)
        #expect(text.count == 205)
        #expect(text.count <= PresentationCode.maxLength)
        #expect(try PresentationCode(decoding: try code(disclosed: [])).disclosed == [])
        #expect(try PresentationCode(decoding: try code()).disclosed == nil)
    }

    @Test func refusesWhatAWalletWouldNeverMake() throws {
        func layer(_ text: String) -> String? {
            do { _ = try PresentationCode(decoding: text); return nil } catch { return error.layer.rawValue }
        }
        #expect(layer("EL1:ABC") == "prefix")
        #expect(layer("EL1P:%%%") == "base45")
        #expect(layer(try code(lifetime: 181)) == "claims")
        #expect(layer(try code(lifetime: 0)) == "claims")
        let shortID = try PresentationCode.sign(device: Array(device.kid.prefix(7)), licenceHash: hash, issuedAt: 1, expires: 2,
                                                nonce: nonce, disclosed: nil, with: device)
        #expect(layer(shortID) == "cose")
        let shortNonce = try PresentationCode.sign(device: device.kid, licenceHash: hash, issuedAt: 1, expires: 2,
                                                   nonce: [1, 2], disclosed: nil, with: device)
        #expect(layer(shortNonce) == "claims")
        #expect(!(try PresentationCode(decoding: try code())).isSigned(by: FakeKey(secret: 8, algorithm: .es256)))
        #expect(layer("EL1P:" + String(repeating: "A", count: 400)) == "prefix")
    }
}
