import Crypto
import Foundation
import LicenceCore

/// The head of the log at one size: C2SP tlog-checkpoint, the text of a C2SP signed note.
///
/// ```
/// licence.example.gov.cn/v1/log
/// 20852163
/// CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
/// ```
public struct Checkpoint: Sendable, Hashable {
    public var origin: String
    public var size: Int64
    public var root: LogHash

    public init(origin: String, size: Int64, root: LogHash) {
        self.origin = origin
        self.size = size
        self.root = root
    }

    /// The note text: origin, size and base64 root, each ending in a newline.
    public var text: String {
        "\(origin)\n\(size)\n\(Data(root).base64EncodedString())\n"
    }

    /// Reads a note text (extension lines are allowed and ignored).
    public init?(text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard text.hasSuffix("\n"), lines.count >= 4, !lines[0].isEmpty, let size = Int64(lines[1]), size >= 0,
              String(size) == lines[1], let root = Data(base64Encoded: String(lines[2])), root.count == 32 else { return nil }
        origin = String(lines[0])
        self.size = size
        self.root = Array(root)
    }
}

/// A C2SP signed note: a text and signature lines `— <key name> base64(key ID ‖ signature)`, with
/// Ed25519 signatures (type 0x01) over the text.
public enum SignedNote {
    /// A key that signs or checks notes: its name and raw 32-byte Ed25519 public key.
    public struct Key: Sendable, Hashable {
        public var name: String
        public var publicKey: [UInt8]

        public init(name: String, publicKey: [UInt8]) {
            self.name = name
            self.publicKey = publicKey
        }

        /// SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4].
        public var id: [UInt8] {
            Array(SHA256.hash(data: Array(name.utf8) + [0x0a, 0x01] + publicKey).prefix(4))
        }

        /// The verifier key text: `<name>+<hex key ID>+base64(0x01 ‖ public key)`.
        public var verifierKey: String {
            "\(name)+\(Hex.encode(id))+\(Data([0x01] + publicKey).base64EncodedString())"
        }
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)
        case noKnownSignature
        case badSignature

        public var description: String {
            switch self {
            case .malformed(let reason): return "the note is malformed: \(reason)"
            case .noKnownSignature: return "the note carries no signature by the log's key"
            case .badSignature: return "the log key's signature on the note does not verify"
            }
        }
    }

    /// The signed note of `text` (which ends in a newline), signed by `signer` (Ed25519) as `key`.
    public static func sign(_ text: String, key: Key, signer: any Signer) throws -> String {
        precondition(signer.algorithm == .edDSA, "notes are signed with Ed25519")
        let signature = try signer.sign(Array(text.utf8))
        return text + "\n— \(key.name) \(Data(key.id + signature).base64EncodedString())\n"
    }

    /// The text of `note`, once a signature by `key` verifies with `verifier`. Signatures of other
    /// keys are ignored.
    public static func open(_ note: String, key: Key, verifier: any SignatureVerifier) throws(Failure) -> String {
        guard note.utf8.count <= 1 << 20 else { throw .malformed("it is larger than 1 MiB") }
        guard !note.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" }) else {
            throw .malformed("it holds a control character")
        }
        guard let separator = note.range(of: "\n\n", options: .backwards) else { throw .malformed("no blank line before the signatures") }
        let text = String(note[..<separator.lowerBound]) + "\n"
        let lines = note[separator.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
        guard note.hasSuffix("\n"), lines.count >= 2, lines.last?.isEmpty == true else { throw .malformed("the signature lines do not end in a newline") }
        var found = false
        for line in lines.dropLast() {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "—", !parts[1].isEmpty, let blob = Data(base64Encoded: String(parts[2])), blob.count >= 4 else {
                throw .malformed("a signature line is not `— <name> <base64>`")
            }
            guard parts[1] == key.name, Array(blob.prefix(4)) == key.id else { continue }
            guard verifier.isValidSignature(Array(blob.dropFirst(4)), for: Array(text.utf8)) else { throw .badSignature }
            found = true
        }
        guard found else { throw .noKnownSignature }
        return text
    }
}
