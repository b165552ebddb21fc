import LicenceCore

/// A stand-in signature scheme for testing verification logic without cryptography: the
/// "signature" is a keyed FNV-1a digest stretched to 64 bytes. Real algorithms are tested in
/// LicenceCryptoTests.
public struct FakeKey: Signer, SignatureVerifier {
    public var secret: UInt64
    public var algorithm: SignatureAlgorithm = .edDSA
    public var kid: [UInt8]

    public init(secret: UInt64, algorithm: SignatureAlgorithm = .edDSA, kid: [UInt8]? = nil) {
        self.secret = secret
        self.algorithm = algorithm
        self.kid = kid ?? withUnsafeBytes(of: secret.bigEndian) { Array($0) }
    }

    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        for round in 0..<8 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ secret ^ UInt64(round)
            for byte in message { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
            withUnsafeBytes(of: h.bigEndian) { out.append(contentsOf: $0) }
        }
        return out
    }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        (try? sign(message)) == signature
    }
}

