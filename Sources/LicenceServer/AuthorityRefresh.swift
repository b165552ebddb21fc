import Foundation
import LicenceCore
import LicenceCrypto
import NIOPosix

/// Fetches an imported authority's signed trust list again (from its URL, or its file) and accepts
/// it if it may replace the one in force; the command line (`trust refresh`) and the server's
/// schedule do the same through this. Files are read and written on NIO's thread pool.
public enum AuthorityRefresh {
    /// How long a fetch may take in all.
    public static let defaultTimeout: Duration = .seconds(10)

    public enum Outcome: Sendable {
        /// A list was accepted (perhaps the same sequence again, with a later expiry).
        case accepted(SignedTrustList, previousSequence: UInt64?)
        /// The list could not be fetched or was refused; the last good one stays in force.
        case refused(String)
        /// Nothing to fetch from: imported from a file that is gone, or with no source.
        case noSource
    }

    /// The signed list at `source`: an http(s) URL, or a file path.
    public static func fetch(_ source: String, timeout: Duration = defaultTimeout) async throws(RemoteFetch.Failure) -> [UInt8] {
        let lowered = source.lowercased()
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") {
            return try await RemoteFetch.get(source, accept: SignedTrustList.mediaType, timeout: timeout,
                                             maxBytes: SignedTrustList.maxBytes + 1)
        }
        do {
            return try await NIOThreadPool.singleton.runIfActive {
                try FileIO.read(source, limit: SignedTrustList.maxBytes + 1)
            }
        } catch let error as FileError {
            throw RemoteFetch.Failure(error.message)
        } catch {
            throw RemoteFetch.Failure("\(source) cannot be read: \(error)")
        }
    }

    /// Refreshes authority `name` of `directory`.
    public static func refresh(_ name: String, in directory: AuthorityDirectory, now: @escaping @Sendable () -> Int64,
                               timeout: Duration = defaultTimeout) async -> Outcome {
        let current: AuthorityDirectory.Imported
        do { current = try await NIOThreadPool.singleton.runIfActive { try directory.load(name) } } catch {
            return .refused("\(error)")
        }
        guard let source = current.metadata.url ?? current.metadata.file else { return .noSource }
        let bytes: [UInt8]
        do { bytes = try await fetch(source, timeout: timeout) } catch {
            let reason = error.description
            try? await NIOThreadPool.singleton.runIfActive { try directory.recordFailure(name: name, reason: reason, now: now()) }
            return .refused(reason)
        }
        do {
            let list = try await NIOThreadPool.singleton.runIfActive { try directory.accept(name: name, bytes: bytes, now: now()) }
            return .accepted(list, previousSequence: current.list?.sequence)
        } catch let error as LicenceCryptoError {
            return .refused(error.message)
        } catch {
            return .refused("\(error)")
        }
    }
}
