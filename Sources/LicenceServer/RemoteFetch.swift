import AsyncHTTPClient
import NIOCore

/// One GET of another authority's signed trust list or status list: http or https only, no
/// redirects (a list is fetched from the address configured or vouched for, nowhere else), the whole
/// exchange within a time limit and the body within a size limit, so that a slow or hostile server
/// can neither hold a verification nor fill memory.
public enum RemoteFetch {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// One client for the process, made on first use and never shut down (it lives as long as the process).
    static let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                timeout: .init(connect: .seconds(5), read: .seconds(10))))

    /// The body of `url`, or a failure that says why not.
    public static func get(_ url: String, accept: String, timeout: Duration, maxBytes: Int) async throws(Failure) -> [UInt8] {
        let lowered = url.lowercased()
        guard lowered.hasPrefix("https://") || lowered.hasPrefix("http://") else {
            throw Failure("\(url) is not an http or https URL")
        }
        do {
            return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
                group.addTask { try await fetch(url, accept: accept, timeout: timeout, maxBytes: maxBytes) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let bytes = first else {
                    throw Failure("\(url) did not answer within \(timeout)")
                }
                return bytes
            }
        } catch let failure as Failure {
            throw failure
        } catch let error as HTTPClientError where [.readTimeout, .deadlineExceeded, .connectTimeout].contains(error) {
            throw Failure("\(url) did not answer within \(timeout)")
        } catch is CancellationError {
            throw Failure("the fetch of \(url) was cancelled")
        } catch {
            throw Failure("\(url) cannot be fetched: \(error)")
        }
    }

    private static func fetch(_ url: String, accept: String, timeout: Duration, maxBytes: Int) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: accept)
        request.headers.add(name: "User-Agent", value: "elicence")
        let seconds = timeout.components.seconds
        let response = try await client.execute(request, timeout: .seconds(max(1, seconds)))
        guard response.status.code == 200 else {
            throw Failure("\(url) answered HTTP \(response.status.code)")
        }
        if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > maxBytes {
            throw Failure("\(url) sent \(length) bytes; at most \(maxBytes) are accepted")
        }
        do {
            let body = try await response.body.collect(upTo: maxBytes)
            return Array(body.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw Failure("\(url) sent more than \(maxBytes) bytes; at most \(maxBytes) are accepted")
        }
    }
}
