import Crypto
import Foundation
import LicenceCore
import LicenceLog

/// The registry's transparency log: every issuance and status change is a leaf, appended in the
/// transaction that makes the change, in commit order (see the DocC article *Transparency log*).
///
/// Each status event has one leaf: a licence's first event is its issuance, `[0, identifier,
/// SHA-256(signed COSE bytes), kid, iat]`; every later one a status change, `[1, identifier, status,
/// at]`. The stored tree keeps every leaf with its hash and the hash of every complete block of 256
/// hashes of each level: the C2SP tiles, from which roots and proofs are made.
public protocol TransparencyLogStore: Sendable {
    /// Leaves in the log.
    func logSize() async throws(RegistryError) -> Int64
    /// Stored hashes of a level (level 0: the leaf hashes), by index.
    func logHashes(level: Int, range: Range<Int64>) async throws(RegistryError) -> [LogHash]
    /// The data of leaves, by index.
    func logEntries(_ range: Range<Int64>) async throws(RegistryError) -> [[UInt8]]
    /// The index of a licence's issuance leaf; nil when the registry has no such licence.
    func logIndex(of licence: LicenceIdentifier) async throws(RegistryError) -> Int64?
    /// The newest checkpoint kept, and all of them (for audits), smallest first.
    func latestCheckpoint() async throws(RegistryError) -> StoredCheckpoint?
    func checkpoints() async throws(RegistryError) -> [StoredCheckpoint]
    /// Keeps a signed checkpoint; returns false when one of that size was kept already.
    func addCheckpoint(_ checkpoint: StoredCheckpoint) async throws(RegistryError) -> Bool
    /// Status events after sequence number `seq`, in order, as the log should record them.
    func loggedEvents(after seq: Int64, limit: Int) async throws(RegistryError) -> [LoggedEvent]
    /// Where status lists are served, from the first status list; nil before any licence.
    func firstPublicURL() async throws(RegistryError) -> String?
    /// Licences in the registry, superseded versions included.
    func licenceCount() async throws(RegistryError) -> Int64
}

/// A checkpoint the registry keeps: its size, root and signed note.
public struct StoredCheckpoint: Sendable, Hashable {
    public var size: Int64
    public var root: LogHash
    public var note: String
    public var signedAt: Int64

    public init(size: Int64, root: LogHash, note: String, signedAt: Int64) {
        self.size = size
        self.root = root
        self.note = note
        self.signedAt = signedAt
    }
}

/// A status event and what the log must record for it.
public struct LoggedEvent: Sendable, Hashable {
    public var seq: Int64
    public var licenceID: String
    public var status: String
    public var at: Int64
    /// The index of its leaf, as the registry recorded it.
    public var logIndex: Int64?
    /// For a licence's first event, its issuance: the signed bytes' hash, the key and `iat`.
    public var issuance: Issuance?

    public struct Issuance: Sendable, Hashable {
        public var coseHash: [UInt8]
        public var kid: [UInt8]
        public var issuedAt: Int64
    }

    public var leaf: LogLeaf {
        if let issuance {
            return .issuance(identifier: licenceID, coseHash: issuance.coseHash, kid: issuance.kid, issuedAt: issuance.issuedAt)
        }
        return .statusChange(identifier: licenceID, status: status, at: at)
    }
}

/// The stored hashes of a registry's log, for ``Merkle``'s roots and proofs.
public struct RegistryLogReader: LogHashReader {
    let store: any TransparencyLogStore

    public init(_ store: any TransparencyLogStore) {
        self.store = store
    }

    public func hashes(level: Int, range: Range<Int64>) async throws -> [LogHash] {
        let hashes = try await store.logHashes(level: level, range: range)
        guard hashes.count == range.count else {
            throw RegistryError(.storage, "the log holds \(hashes.count) of the \(range.count) hashes \(range) of level \(level)")
        }
        return hashes
    }
}

/// What the engines share to record a change in the log: the leaf of an issuance, and whether the
/// log is kept at all.
enum LogRecord {
    /// The issuance leaf of a licence signed as `signed` by key `kid` (hex) at `issuedAt`.
    static func issuance(_ identifier: String, signed: [UInt8], kid: String, issuedAt: Int64) -> LogLeaf {
        issuance(identifier, signed: signed, kid: Hex.decode(kid) ?? [], issuedAt: issuedAt)
    }

    /// The same, with the key identifier's bytes.
    static func issuance(_ identifier: String, signed: [UInt8], kid: [UInt8], issuedAt: Int64) -> LogLeaf {
        .issuance(identifier: identifier, coseHash: Array(SHA256.hash(data: signed)), kid: kid, issuedAt: issuedAt)
    }

    /// `ELICENCE_BENCH_WITHOUT_LOG=1` leaves the log out, only to measure what it costs; a registry
    /// written so fails `elicence log audit`.
    static let disabled = ProcessInfo.processInfo.environment["ELICENCE_BENCH_WITHOUT_LOG"] == "1"
}
