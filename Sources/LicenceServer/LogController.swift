import Foundation
import Hummingbird
import LicenceCore
import LicenceLog
import LicenceStore
import NIOCore

/// The transparency log over HTTP: the C2SP tlog-tiles layout under `/v1/log/` (checkpoint, hash
/// tiles, entry bundles) and a licence's inclusion proof.
struct LogController: Sendable {
    let registry: any Registry
    let checkpoints: LogCheckpointer

    static let noCheckpoint = Problem(.serviceUnavailable, "no-checkpoint", zh: "透明日志尚无签名检查点。",
                                      en: "The transparency log has no signed checkpoint yet.")

    func checkpoint(_ request: Request, context: ServerContext) async throws -> Response {
        if checkpoints.latest == nil { await checkpoints.update() }
        guard let latest = checkpoints.latest else { throw Self.noCheckpoint }
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-cache"],
                        body: .init(byteBuffer: ByteBuffer(string: latest.note)))
    }

    /// `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`: served when the stored tree holds every
    /// item of it. Full tiles never change (cached for a year); partial ones are cached briefly.
    func tile(_ request: Request, context: ServerContext) async throws -> Response {
        let path = "tile/" + context.parameters.getCatchAll().joined(separator: "/")
        guard let tile = TilePath(path: path) else { throw Problem.notFound(request.uri.path) }
        let size = try await registry.logSize()
        let range = tile.hashRange
        guard range.upperBound <= TilePath.hashCount(level: tile.level ?? 0, size: size) else {
            throw Problem.notFound(request.uri.path)
        }
        var bytes: [UInt8] = []
        if let level = tile.level {
            bytes.reserveCapacity(tile.width * 32)
            for hash in try await registry.logHashes(level: level, range: range) { bytes += hash }
        } else {
            for entry in try await registry.logEntries(range) {
                bytes += [UInt8(entry.count >> 8), UInt8(entry.count & 0xff)] + entry
            }
        }
        guard bytes.count >= tile.width * (tile.level == nil ? 2 : 32) else { throw Problem.notFound(request.uri.path) }
        return Response(status: .ok, headers: [
            .contentType: "application/octet-stream",
            .cacheControl: tile.isFull ? "public, max-age=31536000, immutable" : "public, max-age=10",
        ], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    struct Proof: Encodable {
        var licence: String
        /// The index of the licence's issuance leaf.
        var index: Int64
        var treeSize: Int64
        /// Base64, as in the checkpoint.
        var rootHash: String
        /// The leaf as logged, base64.
        var leaf: String
        /// RFC 9162 audit path, base64 hashes.
        var inclusionProof: [String]
        /// The signed note the proof is against.
        var checkpoint: String
    }

    /// `GET /v1/licences/{id}/log-proof`: the issuance leaf, a checkpoint and the inclusion proof.
    func proof(_ request: Request, context: ServerContext) async throws -> Response {
        let id = try RegistryController.identifier(context)
        guard let index = try await registry.logIndex(of: id) else { throw Problem.notFound("licence \(id)") }
        guard let checkpoint = await checkpoints.checkpoint(covering: index) else { throw Self.noCheckpoint }
        let reader = RegistryLogReader(registry)
        let path = try await Merkle.inclusionProof(index: index, size: checkpoint.size, reader)
        let leaf = try await registry.logEntries(index..<(index + 1))
        guard let data = leaf.first else { throw Problem.notFound("licence \(id)") }
        return try JSONBody.response(Proof(
            licence: id.description, index: index, treeSize: checkpoint.size, rootHash: Data(checkpoint.root).base64EncodedString(),
            leaf: Data(data).base64EncodedString(), inclusionProof: path.map { Data($0).base64EncodedString() },
            checkpoint: checkpoint.note))
    }
}
