import Foundation
import TestSupport
import Testing

/// The two pages in a real browser: headless Chromium driven by Selenium through Debian's
/// chromedriver (`Tools/bootstrap --test` installs them), against the real server on its demo
/// registry. The journeys live in `Tools/browser/`; their screenshots are kept in
/// `.build/screenshots/` for a person to look at.
@Suite(.serialized) struct BrowserTests {
    static let screenshots = Paths.repositoryRoot + "/.build/screenshots"
    static let drivingLicence = "11100000000019713D005"

    /// Runs a journey script and returns its JSON summary, failing with its report when it fails.
    func journey(_ script: String, _ arguments: [String]) throws -> [String: Any] {
        #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"),
                "chromedriver is not installed; Tools/bootstrap --test installs it")
        let result = try run("python3", [Paths.repositoryRoot + "/Tools/browser/" + script] + arguments, timeout: 600)
        #expect(result.status == 0, "\(script): \(result.stdout.suffix(2000)) \(result.stderr.suffix(4000))")
        let last = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return (try? JSONSerialization.jsonObject(with: Data(last.utf8))) as? [String: Any] ?? [:]
    }

    @Test func aHoldersWalletFromEnrolmentToOffline() throws {
        let demo = try DemoServer()
        let citizen = try #require(try demo.licences(["--type", Self.drivingLicence, "--status", "valid", "--limit", "1"]).first)
        let holder = try #require((citizen["holder"] as? [String: Any])?["code"] as? String)
        let summary = try journey("wallet_journey.py", [
            "--url", demo.server.baseURL, "--elicence", Paths.elicence, "--database", demo.database,
            "--holder-code", holder, "--licence", try #require(citizen["id"] as? String),
            "--server-pid", String(demo.server.pid), "--shots", Self.screenshots,
        ])
        #expect(summary["outcomes"] as? [String: String] == [
            "presented": "valid", "sameCodeAgain": "presentation_replayed", "clockBehind": "presentation_expired",
            "licenceRevoked": "revoked", "deviceRevoked": "unknown_device",
        ])
        let length = try #require(summary["presentationLength"] as? Int)
        let version = try #require(summary["qrVersion"] as? Int)
        #expect(length <= 221 && version <= 10, "\(length) characters, QR version \(version)")
        print("wallet: a presentation code of \(length) characters, QR version \(version) at level Q; screenshots in \(Self.screenshots)")
    }

    @Test func theServiceWindowSignedInAndNot() throws {
        // A limit the browser's scans outrun even on a busy machine: 10 a minute.
        let demo = try DemoServer(["--anonymous-rate", "10"])
        let valid = try demo.licence(status: "valid")
        let revoked = try demo.licence(status: "revoked")
        let citizen = try #require(try demo.licences(["--type", Self.drivingLicence, "--status", "valid", "--limit", "1"]).first)
        let summary = try journey("window_journey.py", [
            "--url", demo.server.baseURL, "--elicence", Paths.elicence, "--database", demo.database,
            "--agency", ServerTests.demoAgency, "--agency-key", demo.agencyKey, "--valid", valid.id, "--valid-token", valid.token, "--revoked", revoked.token,
            "--holder-code", try #require((citizen["holder"] as? [String: Any])?["code"] as? String),
            "--holder-licence", try #require(citizen["id"] as? String), "--shots", Self.screenshots,
        ])
        #expect((summary["signedInScans"] as? Int ?? 0) >= 61)
        #expect((summary["anonymousRefused"] as? Int ?? 0) >= 1)
        #expect(summary["incomplete"] as? String == "amber" && summary["forgery"] as? String == "red")
    }
}
