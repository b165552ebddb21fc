import AsyncHTTPClient
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceLog
import NIOCore

/// `elicence log verify`: follows a transparency log from outside, as a monitor.
///
/// Each run verifies the checkpoint's signature with a log key of the trust list, refuses a tree
/// that shrank (a rollback) or a different root for a size already seen (a fork), fetches the
/// entry bundles and hash tiles added since the last run, checks that the entries hash to the
/// tiles and, with the right edge of the tree kept from the last run, to the new root, and proves
/// consistency with the checkpoint seen last from the tiles (RFC 9162). New issuances are checked
/// against the trust list: a key it does not hold, or one used after it was declared compromised,
/// is reported. The state advances only when the log is consistent.
struct LogMonitor {
    let prefix: String
    let stateDirectory: String
    let trust: TrustListDocument
    let timeout: TimeAmount

    /// What the monitor has seen, kept in `<state>/state.json`.
    struct State: Codable {
        var origin: String
        var size: Int64
        /// Base64, as in checkpoints.
        var root: String
        var edge: CompactRange
        var note: String
    }

    struct Result {
        var lines: [String] = []
        var problems: [String] = []
    }

    /// A problem that stops the run: the log is not consistent.
    struct Inconsistent: Error, CustomStringConvertible {
        var description: String
    }

    var statePath: String { (stateDirectory.hasSuffix("/") ? String(stateDirectory.dropLast()) : stateDirectory) + "/state.json" }

    func run() async throws -> Result {
        var result = Result()
        let previous = try loadState()
        let note: String
        let checkpoint: Checkpoint
        do {
            note = String(decoding: try await fetch("checkpoint", limit: 1 << 20), as: UTF8.self)
            checkpoint = try open(note)
        } catch let problem as Inconsistent {
            result.problems.append(problem.description)
            return result
        }
        result.lines.append("checkpoint: \(checkpoint.origin), \(checkpoint.size) leaves, root \(Data(checkpoint.root).base64EncodedString())")
        var edge = previous?.edge ?? CompactRange()
        do {
            if let previous {
                guard previous.origin == checkpoint.origin else {
                    throw Inconsistent(description: "the checkpoint is of the log \(checkpoint.origin); this state follows \(previous.origin)")
                }
                guard checkpoint.size >= previous.size else {
                    throw Inconsistent(description: "rollback: the tree had \(previous.size) leaves at the last run and has \(checkpoint.size) now")
                }
                if checkpoint.size == previous.size && Data(checkpoint.root).base64EncodedString() != previous.root {
                    throw Inconsistent(description: "fork: two checkpoints of \(checkpoint.size) leaves with different roots, "
                        + "\(previous.root) seen before and \(Data(checkpoint.root).base64EncodedString()) now")
                }
            }
            let tiles = TileReader(monitor: self, size: checkpoint.size)
            // The new entries: they hash to the level-0 tiles, and extend the right edge to the new root.
            var index = edge.size
            var issuances: [(index: Int64, leaf: LogLeaf)] = []
            while index < checkpoint.size {
                let tile = TilePath.tile(level: nil, containing: index, size: checkpoint.size)!
                let entries = try parseBundle(try await fetch(tile.description, limit: 256 * (2 + 65_535)), width: tile.width, path: tile.description)
                let hashes = try await tiles.hashes(level: 0, range: tile.hashRange)
                for position in Int(index - tile.hashRange.lowerBound)..<tile.width {
                    let hash = Merkle.leafHash(entries[position])
                    guard hash == hashes[position] else {
                        throw Inconsistent(description: "entry \(tile.hashRange.lowerBound + Int64(position)) does not hash to its tile")
                    }
                    edge.append(leafHash: hash)
                    guard let leaf = LogLeaf(decoding: entries[position]) else {
                        throw Inconsistent(description: "entry \(tile.hashRange.lowerBound + Int64(position)) is not a leaf of an e-licence log")
                    }
                    if case .issuance = leaf { issuances.append((tile.hashRange.lowerBound + Int64(position), leaf)) }
                }
                index = tile.hashRange.upperBound
            }
            guard edge.root == checkpoint.root else {
                throw Inconsistent(description: "the log's entries do not hash to the checkpoint's root: an entry was changed or the tree forked")
            }
            // Consistency with the checkpoint seen last, proved from the tiles.
            if let previous, previous.size > 0, previous.size < checkpoint.size {
                let proof = try await Merkle.consistencyProof(from: previous.size, to: checkpoint.size, tiles)
                let oldRoot = Array(Data(base64Encoded: previous.root) ?? Data())
                guard Merkle.verifyConsistency(oldSize: previous.size, newSize: checkpoint.size, oldRoot: oldRoot, newRoot: checkpoint.root,
                                               proof: proof) else {
                    throw Inconsistent(description: "the tree of \(checkpoint.size) leaves is not consistent with the one of \(previous.size) "
                        + "seen last: the log was rewritten")
                }
                result.lines.append("consistent with the checkpoint of \(previous.size) leaves seen last")
            }
            result.lines.append("\(issuances.count) new issuances in \(checkpoint.size - (previous?.size ?? 0)) new leaves")
            result.problems += report(issuances)
        } catch let problem as Inconsistent {
            result.problems.append(problem.description)
            return result
        }
        try saveState(State(origin: checkpoint.origin, size: checkpoint.size, root: Data(checkpoint.root).base64EncodedString(),
                            edge: edge, note: note))
        return result
    }

    /// Licences signed by a key the trust list does not hold, or after their key was declared compromised.
    func report(_ issuances: [(index: Int64, leaf: LogLeaf)]) -> [String] {
        let keys = Dictionary(trust.keys.map { ($0.kid, $0) }, uniquingKeysWith: { a, _ in a })
        var problems: [String] = []
        for (index, leaf) in issuances {
            guard case .issuance(let identifier, _, let kid, let issuedAt) = leaf else { continue }
            let hex = Hex.encode(kid)
            guard let key = keys[hex], key.role == .issuer else {
                problems.append("leaf \(index): licence \(identifier) was signed by key \(hex), which the trust list does not hold")
                continue
            }
            if key.state == .compromised, let at = key.compromisedAt.flatMap(Timestamp.parse), issuedAt >= at {
                problems.append("leaf \(index): licence \(identifier) was signed by key \(hex) at \(Timestamp.format(issuedAt)), "
                    + "after the key was declared compromised at \(key.compromisedAt!)")
            }
        }
        return problems
    }

    /// The checkpoint in `note`, once a log key of the trust list has verified it.
    func open(_ note: String) throws -> Checkpoint {
        let origin = String(note.prefix { $0 != "\n" })
        let logKeys = trust.keys.filter { $0.role == .log }
        guard !logKeys.isEmpty else {
            throw CLIError.badInput("--keys: the trust list holds no key of role log; get the log operator's current trust-list.json")
        }
        var failure = "no key of role log in the trust list signed the checkpoint"
        for entry in logKeys {
            guard let raw = try? PublicKeys.ed25519Raw(pem: entry.publicKey), let verifier = try? PublicKeys.verifier(pem: entry.publicKey) else { continue }
            do {
                let text = try SignedNote.open(note, key: SignedNote.Key(name: origin, publicKey: raw), verifier: verifier)
                guard let checkpoint = Checkpoint(text: text) else { throw Inconsistent(description: "the checkpoint's text is malformed") }
                return checkpoint
            } catch let error as SignedNote.Failure {
                if error != .noKnownSignature { failure = "the checkpoint: \(error)" }
            }
        }
        throw Inconsistent(description: failure)
    }

    func parseBundle(_ bytes: [UInt8], width: Int, path: String) throws -> [[UInt8]] {
        var entries: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            guard offset + 2 <= bytes.count else { throw Inconsistent(description: "\(path) is cut short") }
            let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
            guard offset + 2 + length <= bytes.count else { throw Inconsistent(description: "\(path) is cut short") }
            entries.append(Array(bytes[(offset + 2)..<(offset + 2 + length)]))
            offset += 2 + length
        }
        guard entries.count == width else { throw Inconsistent(description: "\(path) holds \(entries.count) entries, not \(width)") }
        return entries
    }

    /// GET `<prefix>/<path>`, at most `limit` bytes.
    func fetch(_ path: String, limit: Int) async throws -> [UInt8] {
        let request = HTTPClientRequest(url: prefix + "/" + path)
        let response: HTTPClientResponse
        do { response = try await HTTPClient.shared.execute(request, timeout: timeout) } catch {
            throw CLIError(exitCode: CLIError.internalFailure, message: "\(prefix)/\(path) cannot be fetched: \(error)")
        }
        guard response.status == .ok else {
            throw Inconsistent(description: "\(prefix)/\(path) answered HTTP \(response.status.code)")
        }
        do { return Array(try await response.body.collect(upTo: limit).readableBytesView) } catch {
            throw Inconsistent(description: "\(prefix)/\(path) is larger than \(limit) bytes or was cut: \(error)")
        }
    }

    func loadState() throws -> State? {
        guard FileManager.default.fileExists(atPath: statePath) else { return nil }
        do {
            return try JSONDecoder().decode(State.self, from: Data(try FileIO.read(statePath, limit: 1 << 20)))
        } catch {
            throw CLIError.badInput("--state: \(statePath) cannot be read: \(error)")
        }
    }

    func saveState(_ state: State) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try FileIO.createDirectory(stateDirectory, mode: 0o755)
            try FileIO.writeAtomically(Array(try encoder.encode(state)), to: statePath, mode: 0o644)
        } catch let error as FileError {
            throw CLIError.badInput("--state: \(error.message)")
        }
    }

    /// The tree's hashes, from tiles fetched over HTTP (each once a run): full tiles, or the partial
    /// ones the checkpoint's size calls for.
    final class TileReader: LogHashReader, @unchecked Sendable {
        // @unchecked: used by one task at a time, the monitor's run.
        let monitor: LogMonitor
        let size: Int64
        var tiles: [TilePath: [LogHash]] = [:]

        init(monitor: LogMonitor, size: Int64) {
            self.monitor = monitor
            self.size = size
        }

        func hashes(level: Int, range: Range<Int64>) async throws -> [LogHash] {
            var hashes: [LogHash] = []
            var index = range.lowerBound
            while index < range.upperBound {
                guard let tile = TilePath.tile(level: level, containing: index, size: size) else {
                    throw Inconsistent(description: "the tree of \(size) leaves has no hash \(index) of level \(level)")
                }
                if tiles[tile] == nil {
                    let bytes = try await monitor.fetch(tile.description, limit: 256 * 32)
                    guard bytes.count == tile.width * 32 else {
                        throw Inconsistent(description: "\(tile) holds \(bytes.count) bytes, not \(tile.width * 32)")
                    }
                    tiles[tile] = stride(from: 0, to: bytes.count, by: 32).map { Array(bytes[$0..<($0 + 32)]) }
                }
                let items = tiles[tile]!
                let end = min(range.upperBound, tile.hashRange.upperBound)
                hashes += items[Int(index - tile.hashRange.lowerBound)..<Int(end - tile.hashRange.lowerBound)]
                index = end
            }
            return hashes
        }
    }
}
