import Foundation
import LicenceCore
import TestSupport
import Testing

/// The transparency log from outside: an independent implementation of RFC 9162 and the C2SP
/// specifications checks what the server publishes, and the monitor (`log verify`) and the audit
/// (`log audit`) each find tampering.
@Suite(.serialized) struct TransparencyLogEndToEndTests {
    /// The checkpoint's size, once it is at least `size` (the server signs within a second).
    static func checkpoint(_ server: ServerProcess, atLeast size: Int) throws -> String {
        var text = ""
        #expect(try eventually(within: 10) {
            let answer = try server.request("GET", "/v1/log/checkpoint")
            text = answer.text
            return answer.status == 200 && (Int(text.split(separator: "\n").dropFirst().first ?? "") ?? -1) >= size
        }, "\(text)")
        return text
    }

    static func monitor(_ server: ServerProcess, keys: String, state: String) throws -> ProcessResult {
        try run(Paths.elicence, ["log", "verify", "--url", server.baseURL + "/v1/log", "--state", state, "--keys", keys])
    }

    @Test func anIndependentImplementationAgrees() throws {
        let demo = try DemoServer()
        let old = try demo.server.directory.write("old.note", try Self.checkpoint(demo.server, atLeast: 1))
        let ids = try demo.licences(["--status", "valid"]).prefix(4).compactMap { $0["id"] as? String }
        #expect(try demo.cli(["revoke", ids[0], "--reason", "吊销"]).status == 0)
        let size = Int(try String(contentsOfFile: old, encoding: .utf8).split(separator: "\n")[1])!
        _ = try Self.checkpoint(demo.server, atLeast: size + 1)
        let result = try run("python3", [Paths.repositoryRoot + "/Tools/interop/tlog_interop.py", "--url", demo.server.baseURL + "/v1/log",
                                         "--trust-list", demo.keys + "/trust-list.json", "--old-checkpoint", old, "--licence"] + ids,
                             timeout: 300)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("entries, tiles and root agree") && result.stdout.contains("4 inclusion proofs verify")
            && result.stdout.contains("consistent with the checkpoint of \(size) leaves"), "\(result)")
    }

    enum Tamper: String, CaseIterable {
        case changeLeaf, deleteStatusEvent, rollBack, fork
    }

    /// Each tampering of the registry's log, made behind the server's back (and the server then
    /// restarted on the tampered registry, as an attacker would), is found by the monitor and by the
    /// audit, each saying what is wrong.
    @Test(arguments: Tamper.allCases)
    func tamperingIsFound(_ tamper: Tamper) throws {
        let demo = try DemoServer()
        let size = Int(try Self.checkpoint(demo.server, atLeast: 1).split(separator: "\n")[1])!
        let state = demo.server.directory.file("monitor")
        if tamper != .changeLeaf {
            let first = try Self.monitor(demo.server, keys: demo.keys, state: state)
            #expect(first.status == 0, "\(first)")
        }
        #expect(demo.server.terminate() == 0)
        let last = size - 1  // the demo's last change is a status change
        let sql: String
        switch tamper {
        case .changeLeaf:
            sql = "UPDATE log_entry SET data = (SELECT data FROM log_entry WHERE idx = 0) WHERE idx = 5;"
        case .deleteStatusEvent:
            // The suspension is taken out of the registry and of the log, and new licences follow.
            sql = """
                UPDATE licence SET status = 'valid' WHERE id = (SELECT licence_id FROM status_event WHERE log_index = \(last));
                DELETE FROM status_event WHERE log_index = \(last); DELETE FROM log_entry WHERE idx = \(last);
                """
        case .rollBack:
            sql = "DELETE FROM log_entry WHERE idx >= \(size - 10); DELETE FROM log_checkpoint;"
        case .fork:
            sql = """
                UPDATE log_entry SET data = (SELECT data FROM log_entry WHERE idx = \(last - 1)),
                    hash = (SELECT hash FROM log_entry WHERE idx = \(last - 1)) WHERE idx = \(last);
                DELETE FROM log_checkpoint;
                """
        }
        let changed = try run("sqlite3", [demo.database, sql])
        #expect(changed.status == 0, "\(changed)")
        let server = try ServerProcess(["--database", demo.database, "--keys", demo.keys])
        switch tamper {
        case .deleteStatusEvent:
            for number in ["闽市监2026第990001号", "闽市监2026第990002号"] {
                let issued = try run(Paths.elicence, [
                    "issue", "--type", "11100000000013338W011", "--holder-code", "91350100MA2Y01111F", "--holder-name", "福州某某科技有限公司",
                    "--number", number, "--field", "注册资本=1万元", "法定代表人=张三", "经营范围=软件", "--database", demo.database,
                    "--keys", demo.keys, "--public-url", "http://127.0.0.1:\(server.port)"])
                #expect(issued.status == 0, "\(issued)")
            }
            _ = try Self.checkpoint(server, atLeast: size + 1)
        case .rollBack:
            _ = try Self.checkpoint(server, atLeast: size - 10)
        default:
            _ = try Self.checkpoint(server, atLeast: size)
        }

        let monitored = try Self.monitor(server, keys: demo.keys, state: state)
        let found = [Tamper.changeLeaf: "entry 5 does not hash to its tile",
                     .deleteStatusEvent: "do not hash to the checkpoint's root",
                     .rollBack: "rollback: the tree had \(size) leaves at the last run and has \(size - 10) now",
                     .fork: "fork: two checkpoints of \(size) leaves with different roots"][tamper]!
        #expect(monitored.status == 1 && monitored.stderr.contains(found), "\(tamper): \(monitored)")

        let audited = try run(Paths.elicence, ["log", "audit", "--database", demo.database])
        let named = [Tamper.changeLeaf: "leaf 5: its stored hash is not the hash of its data",
                     .deleteStatusEvent: "the checkpoint of size \(size) has root",
                     .rollBack: "is missing from the log",
                     .fork: "log leaf \(last) records"][tamper]!
        #expect(audited.status == 1 && audited.stderr.contains(named), "\(tamper): \(audited)")
    }

    /// The monitor reports a licence signed with a key after it was declared compromised.
    @Test func licencesSignedAfterACompromiseAreReported() throws {
        let demo = try DemoServer()
        let size = Int(try Self.checkpoint(demo.server, atLeast: 1).split(separator: "\n")[1])!
        let state = demo.server.directory.file("monitor")
        #expect(try Self.monitor(demo.server, keys: demo.keys, state: state).status == 0)
        let keys = try run(Paths.elicence, ["keys", "list", "--json", "--keys", demo.keys])
        let market = try #require((try JSONSerialization.jsonObject(with: Data(keys.stdout.utf8)) as? [[String: Any]])?
            .first { $0["role"] as? String == "issuer" && $0["alg"] as? String == "SM2" }?["kid"] as? String)
        // The key leaks; the thief signs with the stolen copy, and the registry issues it all the same.
        let copy = demo.server.directory.file("stolen")
        try FileManager.default.copyItem(atPath: demo.keys, toPath: copy)
        #expect(try run(Paths.elicence, ["keys", "compromise", market, "--keys", demo.keys]).status == 0)
        let issued = try run(Paths.elicence, [
            "issue", "--type", "11100000000013338W011", "--holder-code", "91350100MA2Y01111F", "--holder-name", "福州某某科技有限公司",
            "--number", "闽市监2026第990009号", "--field", "注册资本=1万元", "法定代表人=张三", "经营范围=软件", "--database", demo.database,
            "--keys", copy, "--kid", market])
        #expect(issued.status == 0, "\(issued)")
        _ = try Self.checkpoint(demo.server, atLeast: size + 1)
        let monitored = try Self.monitor(demo.server, keys: demo.keys, state: state)
        #expect(monitored.status == 1 && monitored.stderr.contains("after the key was declared compromised"), "\(monitored)")
        #expect(monitored.stdout.contains("consistent with the checkpoint of \(size) leaves seen last"), "\(monitored)")
    }
}
