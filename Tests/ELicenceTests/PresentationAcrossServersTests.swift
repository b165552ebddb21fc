import Foundation
import LicenceCore
import Synchronization
import TestSupport
import Testing

/// A presentation code works once across every server of one registry: its nonce is kept in the
/// registry, not in a server's memory. Two real servers on one PostgreSQL database, the same code sent
/// to both at the same moment: exactly one answers valid.
struct PresentationAcrossServersTests {
    @Test(arguments: Backend.postgresIfAvailable)
    func aCodeSentToTwoServersAtOnceIsValidOnce(_ backend: Backend) throws {
        let registry = try RegistryCLI(alg: "es256", backend: backend)
        let citizen = try HolderCode.completing("35012119920101123", kind: .citizenID).value
        let issued = try registry.expectSuccess(["issue", "--type", "11100000000013338W022", "--holder-code", citizen,
                                                 "--holder-name", "林小明", "--number", citizen, "--valid-from", "2026-01-15",
                                                 "--field", "准驾车型=C1", "--json"] + registry.db + registry.keys)
        let licence = try #require((try JSONSerialization.jsonObject(with: Data(issued.stdout.utf8)) as? [String: Any])?["id"] as? String)
        let invited = try registry.expectSuccess(["holders", "invite", "--holder-code", citizen, "--json"] + registry.db)
        let code = try #require((try JSONSerialization.jsonObject(with: Data(invited.stdout.utf8)) as? [String: Any])?["code"] as? String)

        let arguments = registry.db + registry.keys + ["--anonymous-rate", "0", "--log-level", "warning"]
        let servers = [try ServerProcess(arguments), try ServerProcess(arguments)]
        let phone = TestDevice()
        let enrolled = try servers[0].request("POST", "/v1/wallet/enrol", json: ["code": code],
                                              headers: ["DPoP": phone.dpop("POST", servers[0].baseURL + "/v1/wallet/enrol")])
        #expect(enrolled.status == 200, "\(enrolled)")

        for round in 0..<20 {
            let presentation = try phone.present(licence)
            let outcomes = Mutex([String](repeating: "", count: servers.count))
            DispatchQueue.concurrentPerform(iterations: servers.count) { index in
                let answer = try? servers[index].request("POST", "/v1/verify", json: ["token": presentation])
                outcomes.withLock { $0[index] = answer?.json["outcome"] as? String ?? "no answer" }
            }
            let seen = outcomes.withLock { $0 }.sorted()
            #expect(seen == ["presentation_replayed", "valid"], "round \(round): \(seen)")
        }
        // The holder sees each valid presentation once among its usage records, whichever server took it.
        let usage = try servers[1].request("GET", "/v1/wallet/usage",
                                           headers: ["DPoP": phone.dpop("GET", servers[1].baseURL + "/v1/wallet/usage")])
        #expect(usage.status == 200, "\(usage)")
    }
}
