import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A free TCP port on the loopback interface.
public func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// What an HTTP request answered.
public struct HTTPResult: CustomStringConvertible, Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data

    public var text: String { String(decoding: body, as: UTF8.self) }
    public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    public var description: String { "HTTP \(status) \(headers["content-type"] ?? "") \(text.prefix(600))" }
}

/// The real `elicence serve` process on a free port, in a working directory of its own.
public final class ServerProcess: @unchecked Sendable {
    // @unchecked: the Process is only touched from the test that owns this value.
    public let port: Int
    public let directory: TemporaryDirectory
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    private let process = Process()
    private let output: String

    /// The server's process id, for signals such as SIGHUP.
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Starts `elicence serve ARGUMENTS --port P` in `directory` and waits until `/healthz` answers;
    /// P is `port` when given (a server whose address must be known before it starts), else a free one.
    public init(_ arguments: [String], directory: TemporaryDirectory = TemporaryDirectory("elicence-server"),
                environment: [String: String] = [:], timeout: TimeInterval = 60, port: Int? = nil) throws {
        self.directory = directory
        self.port = port ?? freePort()
        output = directory.file("server.log")
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.executableURL = URL(fileURLWithPath: Paths.elicence)
        process.arguments = ["serve"] + arguments + ["--port", String(self.port)]
        process.currentDirectoryURL = URL(fileURLWithPath: directory.path)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning { throw ServerFailure(message: "the server exited: \(self.log(tail: 4000))") }
            if (try? request("GET", "/healthz"))?.status == 200 { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        process.terminate()
        throw ServerFailure(message: "the server did not answer within \(timeout) s: \(self.log(tail: 4000))")
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// The server's process id (a test may stop it from elsewhere, as an operator would).
    public var pid: Int32 { process.processIdentifier }

    /// Everything the server printed so far.
    public func log(tail: Int = 100_000) -> String {
        String((try? String(contentsOfFile: output, encoding: .utf8))?.suffix(tail) ?? "")
    }

    /// Stops the server with SIGTERM and returns its exit status.
    public func terminate(timeout: TimeInterval = 20) -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// An HTTP request with curl, an independent client.
    public func request(_ method: String, _ path: String, json: Any? = nil, body: Data? = nil,
                       headers: [String: String] = [:]) throws -> HTTPResult {
        let scratch = directory.file("curl-\(UUID().uuidString)")
        defer {
            for suffix in [".body", ".headers", ".out"] { try? FileManager.default.removeItem(atPath: scratch + suffix) }
        }
        var arguments = ["-sS", "--max-time", "30", "-X", method, "-D", scratch + ".headers", "-o", scratch + ".out",
                         "-w", "%{http_code}"]
        var payload = body
        if let json { payload = try JSONSerialization.data(withJSONObject: json) }
        if let payload {
            try payload.write(to: URL(fileURLWithPath: scratch + ".body"))
            arguments += ["--data-binary", "@" + scratch + ".body", "-H", "Content-Type: application/json"]
        }
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        let result = try run("curl", arguments + [baseURL + path])
        guard result.status == 0, let status = Int(result.stdout) else {
            throw ServerFailure(message: "curl failed: \(result)")
        }
        var fields: [String: String] = [:]
        let rawHeaders = (try? String(contentsOfFile: scratch + ".headers", encoding: .utf8)) ?? ""
        for line in rawHeaders.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let data = (try? Data(contentsOf: URL(fileURLWithPath: scratch + ".out"))) ?? Data()
        return HTTPResult(status: status, headers: fields, body: data)
    }
}

public struct ServerFailure: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
