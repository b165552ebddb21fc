import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto

struct SignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign one licence from its licence JSON, without a registry, and print its EL1: token.",
        discussion: """
            For air-gapped issuers and fixtures. The licence gets a new identifier with a random serial; \
            the token has no status claim, so verifiers cannot learn of a later revocation. The issuer's \
            newest active key signs, unless --kid or --alg chooses another.
            """
    )

    @Argument(help: ArgumentHelp("The licence JSON file, or - for standard input.", valueName: "FILE.json"))
    var file: String

    @Option(help: "Sign with this key (16 hex digits).")
    var kid: String?

    @Option(help: "Sign with the issuer's newest active key of this algorithm.")
    var alg: SignatureAlgorithm?

    @Option(name: .customLong("disclose"), parsing: .upToNextOption,
            help: "Extension fields to disclose in the token (default: all of them).")
    var disclosed: [String] = []

    @Flag(help: "Accept a holder credit code whose check character is wrong (early pilot codes).")
    var allowBadChecksum = false

    @Flag(help: "Print the licence JSON with id, version, issuedAt and token.")
    var json = false

    @OptionGroup var keys: KeyOptions

    func run() async throws {
        let document = try InputFiles.decodeLicenceDocument(file)
        let store = keys.store
        let entry = try store.activeKey(role: .issuer, issuerCode: document.issuer?.code?.uppercased(), algorithm: alg, kid: kid)
        let licence = try document.validated(defaultIssuer: entry.issuer, allowBadChecksum: allowBadChecksum)
        if licence.holder.code.checksumWaived {
            Terminal.warning("holder.code \(licence.holder.code.value) fails its check; accepted because of --allow-bad-checksum")
        }
        for name in disclosed where licence.fields[name] == nil {
            throw CLIError.badInput("--disclose: the licence has no field \"\(name)\"")
        }
        let key = try store.privateKey(for: entry, passphrase: try keys.passphrase())
        let now = SystemClock().now
        var random = SystemRandomNumberGenerator()
        let identifier = try LicenceIdentifier.generate(typeCode: licence.typeCode, issuerCode: licence.issuer.code, at: now,
                                                        using: &random)
        let claims = LicenceClaims(licence: licence, identifier: identifier, issuedAt: now, status: nil,
                                   disclosedFields: disclosed.isEmpty ? nil : Set(disclosed))
        let token = try LicenceToken.sign(claims, with: key.signer)
        if json {
            var output = LicenceJSON(claims: claims)
            output.token = token
            try Terminal.printJSON(output)
        } else {
            print(token)
        }
    }
}

enum InputFiles {
    static let maxLicenceFile = 1 << 20

    /// The bytes of FILE, or of standard input for `-`.
    static func read(_ path: String, limit: Int, what: String) throws -> [UInt8] {
        if path == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard data.count <= limit else { throw CLIError.badInput("\(what) on standard input is larger than \(limit) bytes") }
            return Array(data)
        }
        do { return try FileIO.read(path, limit: limit) } catch {
            throw CLIError.badInput("\(what): \(error.message)")
        }
    }

    static func decodeLicenceDocument(_ path: String) throws -> LicenceDocument {
        let bytes = try read(path, limit: maxLicenceFile, what: "licence file")
        do {
            return try JSONDecoder().decode(LicenceDocument.self, from: Data(bytes))
        } catch {
            throw CLIError.badInput("\(path == "-" ? "standard input" : path): \(JSONErrors.describe(error))")
        }
    }
}
