import Foundation
import Synchronization
import TestSupport
import Testing

/// What the verifying clients saw: when each request was sent and what its answer said.
private final class LoadLog: Sendable {
    struct Answer {
        var sent: ContinuousClock.Instant
        var valid: Bool
        var outcome: String
    }

    private struct State {
        var answers: [Answer] = []
        var failures: [String] = []
        var stopped = false
    }

    private let state = Mutex(State())

    var stopped: Bool { state.withLock { $0.stopped } }
    var answers: [Answer] { state.withLock { $0.answers } }
    var failures: [String] { state.withLock { $0.failures } }

    func stop() { state.withLock { $0.stopped = true } }
    func append(_ answer: Answer) { state.withLock { $0.answers.append(answer) } }
    func fail(_ message: String) { state.withLock { $0.failures.append(message) } }
}

/// Timing matters here, so these tests run one at a time.
@Suite(.serialized) struct RevocationUnderLoadTests {
    /// Clients verify one token without pause over keep-alive connections while the licence is revoked
    /// with the command line: every request sent after the command acknowledged the revocation (exited 0)
    /// answers revoked.
    @Test func noVerificationSentAfterTheAcknowledgementSaysValid() throws {
        let demo = try DemoServer()
        let (id, token) = try demo.licence(status: "valid")
        let port = demo.server.port
        let headers = demo.auth
        let body = try JSONSerialization.data(withJSONObject: ["token": token])
        let log = LoadLog()
        let clock = ContinuousClock()
        let clients = DispatchGroup()
        // Threads of their own: blocking clients on Dispatch's shared pool would starve the pipes of the
        // revoke command and delay its acknowledgement.
        for _ in 0..<3 {
            clients.enter()
            Thread {
                defer { clients.leave() }
                do {
                    let connection = try HTTPConnection(port: port)
                    while !log.stopped {
                        let sent = clock.now
                        let answer = try connection.request("POST", "/v1/verify", body: body, headers: headers)
                        let json = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any] ?? [:]
                        guard answer.status == 200, let valid = json["valid"] as? Bool, let outcome = json["outcome"] as? String else {
                            log.fail("HTTP \(answer.status): \(String(decoding: answer.body, as: UTF8.self))")
                            return
                        }
                        log.append(.init(sent: sent, valid: valid, outcome: outcome))
                    }
                } catch {
                    log.fail("\(error)")
                }
            }.start()
        }
        Thread.sleep(forTimeInterval: 0.8)
        let commandStarted = clock.now
        let revoked = try demo.cli(["revoke", id, "--reason", "负载下吊销"])
        let acknowledged = clock.now
        Thread.sleep(forTimeInterval: 0.8)
        log.stop()
        clients.wait()

        #expect(revoked.status == 0, "\(revoked)")
        #expect(log.failures.isEmpty, "\(log.failures)")
        let answers = log.answers
        let before = answers.filter { $0.sent < commandStarted }
        let after = answers.filter { $0.sent > acknowledged }
        // The token was valid under the same load before the revocation, so the check below can fail.
        #expect(before.count >= 10 && before.allSatisfy { $0.valid && $0.outcome == "valid" },
                "\(before.count) requests before the revocation, \(before.filter { !$0.valid }.count) not valid")
        #expect(after.count >= 10, "only \(after.count) requests after the acknowledgement")
        let validAfter = after.filter(\.valid).count
        #expect(validAfter == 0, "\(validAfter) of \(after.count) requests sent after the acknowledgement answered valid")
        #expect(after.allSatisfy { $0.outcome == "revoked" }, "\(Set(after.map(\.outcome)))")
    }
}
