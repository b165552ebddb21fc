import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One keep-alive HTTP/1.1 connection to a server on the loopback interface, blocking, for tests that
/// send many requests in a row (starting curl for each would be the bottleneck). It reads answers with
/// a Content-Length, which is how the server answers every JSON request.
public final class HTTPConnection {
    private let socket: Int32
    private var received: [UInt8] = []

    public init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ServerFailure(message: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            close(socket)
            throw ServerFailure(message: "connect to port \(port): errno \(code)")
        }
        var on: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(socket) }

    /// Sends one request and reads its answer: the status and the body.
    public func request(_ method: String, _ path: String, body: Data = Data(),
                        headers: [String: String] = [:]) throws -> (status: Int, body: Data) {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n"
        if !body.isEmpty { head += "Content-Type: application/json\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        try write(Array((head + "\r\n").utf8) + Array(body))

        let headerEnd = try readUntilBlankLine()
        let lines = String(decoding: received[..<headerEnd], as: UTF8.self).components(separatedBy: "\r\n")
        received.removeFirst(headerEnd + 4)
        let statusWords = lines[0].split(separator: " ")
        guard statusWords.count >= 2, let status = Int(statusWords[1]) else {
            throw ServerFailure(message: "not an HTTP status line: \(lines[0])")
        }
        let length = lines.dropFirst().compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].trimmingCharacters(in: .whitespaces))
        }.first
        guard let length else { throw ServerFailure(message: "an answer without Content-Length: \(lines)") }
        while received.count < length { try fill() }
        let answer = Data(received[..<length])
        received.removeFirst(length)
        return (status, answer)
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw ServerFailure(message: "send: errno \(errno)") }
            offset += sent
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 16384)
        let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw ServerFailure(message: count == 0 ? "the server closed the connection" : "recv: errno \(errno)") }
        received += chunk[..<count]
    }

    /// The offset of the blank line that ends the header block, reading until it arrives.
    private func readUntilBlankLine() throws -> Int {
        var searchFrom = 0
        while true {
            if received.count >= 4 {
                for index in searchFrom...(received.count - 4)
                where received[index] == 13 && received[index + 1] == 10 && received[index + 2] == 13 && received[index + 3] == 10 {
                    return index
                }
                searchFrom = received.count - 3
            }
            try fill()
        }
    }
}
