import Foundation
import LicenceCore
import TestSupport
import Testing
@testable import LicenceCrypto

struct KeyFileTests {
    @Test(arguments: SignatureAlgorithm.allCases)
    func pkcs8RoundTripPlainAndEncrypted(_ algorithm: SignatureAlgorithm) throws {
        let key = try PrivateKey.generate(algorithm)
        let plain = try key.pkcs8PEM(passphrase: nil)
        #expect(String(decoding: plain, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(try PrivateKey(pem: plain, passphrase: nil).publicKeyDER == key.publicKeyDER)

        let encrypted = try key.pkcs8PEM(passphrase: "福州 passphrase")
        #expect(String(decoding: encrypted, as: UTF8.self).hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        #expect(try PrivateKey(pem: encrypted, passphrase: "福州 passphrase").publicKeyDER == key.publicKeyDER)
        #expect(throws: LicenceCryptoError.self) { try PrivateKey(pem: encrypted, passphrase: nil) }
        #expect {
            _ = try PrivateKey(pem: encrypted, passphrase: "wrong")
        } throws: { ($0 as? LicenceCryptoError)?.code == .passphrase }
    }

    @Test func opensslReadsOurEncryptedKeyAndWeReadItsKeys() throws {
        let dir = TemporaryDirectory()
        let key = try PrivateKey.generate(.sm2)
        try dir.write("ours.pem", String(decoding: try key.pkcs8PEM(passphrase: "s3cret"), as: UTF8.self), mode: 0o600)
        let pub = try run("openssl", ["pkey", "-in", dir.file("ours.pem"), "-passin", "pass:s3cret", "-pubout"])
        #expect(pub.status == 0, "\(pub)")
        #expect(pub.stdout == key.publicKeyPEM)

        let made = try run("openssl", ["genpkey", "-algorithm", "ed25519", "-aes-256-cbc", "-pass", "pass:s3cret",
                                       "-out", dir.file("theirs.pem")])
        #expect(made.status == 0, "\(made)")
        let theirs = try PrivateKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("theirs.pem")))), passphrase: "s3cret")
        #expect(theirs.algorithm == .edDSA)
    }

    @Test func unsupportedKeysAreRefused() throws {
        let dir = TemporaryDirectory()
        #expect(try run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", dir.file("p384.pem")]).status == 0)
        #expect {
            _ = try PrivateKey(pem: Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("p384.pem")))), passphrase: nil)
        } throws: { ($0 as? LicenceCryptoError)?.message.contains("secp384r1") ?? false }
        #expect(throws: LicenceCryptoError.self) { try PrivateKey(pem: Array("not a key".utf8), passphrase: nil) }
    }

    @Test func kidIsTheFirstEightBytesOfSHA256OverTheSPKI() throws {
        let dir = TemporaryDirectory()
        let key = try PrivateKey.generate(.es256)
        _ = try dir.write("spki.der", bytes: key.publicKeyDER)
        let digest = try run("openssl", ["dgst", "-sha256", "-r", dir.file("spki.der")])
        #expect(String(digest.stdout.prefix(16)) == Hex.encode(key.kid))
    }
}

struct KeyStoreTests {
    static let issuer = Issuer(code: "11350000003591037R", name: "福州市市场监督管理局")
    static let now: Int64 = 1_780_000_000

    @Test func generateWritesAPrivateFileAndATrustListEntry() throws {
        let dir = TemporaryDirectory()
        let store = KeyStore(directory: dir.file("keys"))
        let entry = try store.generate(algorithm: .sm2, role: .issuer, issuer: Self.issuer, validYears: 5, passphrase: nil, now: Self.now)
        let attributes = try FileManager.default.attributesOfItem(atPath: store.privateKeyPath(kid: entry.kid))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((try FileManager.default.attributesOfItem(atPath: store.privateDirectory)[.posixPermissions] as? Int) == 0o700)
        #expect(entry.kid.count == 16 && entry.alg == "SM2" && entry.state == .active)
        #expect(entry.notBefore == "2026-05-28T20:26:40Z")
        #expect(entry.notAfter == "2031-05-28T20:26:40Z")
        let document = try store.loadDocument()
        #expect(document.keys == [entry])
        let key = try store.privateKey(for: entry, passphrase: nil)
        #expect(Hex.encode(key.kid) == entry.kid)
        let trust = try store.trustList()
        #expect(trust.keys(kid: key.kid).first?.algorithm == .sm2)
    }

    @Test func privateKeysReadableByOthersAreRefused() throws {
        let dir = TemporaryDirectory()
        let store = KeyStore(directory: dir.path)
        let entry = try store.generate(algorithm: .edDSA, role: .issuer, issuer: Self.issuer, validYears: 1, passphrase: nil, now: Self.now)
        let path = store.privateKeyPath(kid: entry.kid)
        for mode in [0o640, 0o604, 0o644] {
            chmod(path, mode_t(mode))
            #expect {
                _ = try store.privateKey(for: entry, passphrase: nil)
            } throws: { error in
                guard let error = error as? LicenceCryptoError else { return false }
                return error.code == .insecurePermissions && error.message.contains("chmod 600 \(path)")
            }
        }
        chmod(path, 0o600)
        #expect(throws: Never.self) { try store.privateKey(for: entry, passphrase: nil) }
    }

    @Test func encryptedKeysNeedTheirPassphrase() throws {
        let dir = TemporaryDirectory()
        let store = KeyStore(directory: dir.path)
        let entry = try store.generate(algorithm: .es256, role: .status, issuer: Self.issuer, validYears: 1, passphrase: "pw", now: Self.now)
        #expect(throws: LicenceCryptoError.self) { try store.privateKey(for: entry, passphrase: nil) }
        #expect(throws: Never.self) { try store.privateKey(for: entry, passphrase: "pw") }
    }

    @Test func lifeCycle() throws {
        let dir = TemporaryDirectory()
        let store = KeyStore(directory: dir.path)
        let first = try store.generate(algorithm: .sm2, role: .issuer, issuer: Self.issuer, validYears: 5, passphrase: nil, now: Self.now)
        let second = try store.generate(algorithm: .sm2, role: .issuer, issuer: Self.issuer, validYears: 5, passphrase: nil, now: Self.now + 10)
        let ed = try store.generate(algorithm: .edDSA, role: .issuer, issuer: Self.issuer, validYears: 5, passphrase: nil, now: Self.now + 5)
        // The newest active key signs unless an algorithm or kid is asked for.
        #expect(try store.activeKey(role: .issuer).kid == second.kid)
        #expect(try store.activeKey(role: .issuer, algorithm: .edDSA).kid == ed.kid)
        #expect(try store.activeKey(role: .issuer, kid: first.kid).kid == first.kid)
        #expect(throws: LicenceCryptoError.self) { try store.activeKey(role: .status) }
        #expect(throws: LicenceCryptoError.self) { try store.activeKey(role: .issuer, issuerCode: "11430000006122244L") }

        try store.setState(kid: second.kid, to: .retired)
        #expect(try store.activeKey(role: .issuer, algorithm: .sm2).kid == first.kid)
        #expect(throws: LicenceCryptoError.self) { try store.activeKey(role: .issuer, kid: second.kid) }

        try store.setState(kid: first.kid, to: .compromised)
        #expect(throws: LicenceCryptoError.self) { try store.setState(kid: first.kid, to: .retired) }
        #expect(throws: LicenceCryptoError.self) { try store.setState(kid: "0000000000000000", to: .retired) }
        #expect(try store.loadDocument().keys.map(\.state) == [.compromised, .retired, .active])
    }

    @Test func damagedTrustListsAreReportedNotTrusted() throws {
        let dir = TemporaryDirectory()
        let store = KeyStore(directory: dir.path)
        #expect(throws: LicenceCryptoError.self) { try store.trustList() }  // missing
        _ = try store.generate(algorithm: .edDSA, role: .issuer, issuer: Self.issuer, validYears: 1, passphrase: nil, now: Self.now)
        let original = try dir.read("trust-list.json")
        let other = try PrivateKey.generate(.edDSA)
        for damaged in ["{", "{\"version\": 2, \"keys\": []}", "{\"version\": 1}",
                        original.replacingOccurrences(of: "\"EdDSA\"", with: "\"ES256\""),
                        replacingPublicKey(in: original, with: other.publicKeyPEM)] {
            try dir.write("trust-list.json", damaged)
            #expect {
                _ = try store.trustList()
            } throws: { ($0 as? LicenceCryptoError)?.code == .trustList }
        }
    }

    private func replacingPublicKey(in document: String, with pem: String) -> String {
        guard let data = document.data(using: .utf8),
              var object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              var keys = object["keys"] as? [[String: Any]] else { return document }
        keys[0]["publicKey"] = pem
        object["keys"] = keys
        return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }
}
