import Foundation
import LicenceCore
import LicenceCrypto
import LicenceServer
import LicenceStore

/// The second demonstration authority of `serve --demo --demo-province zhejiang`: 浙江省, with keys
/// of its own, a few licences and a demo agency under ./data/demo-zhejiang (wiped at each start). It
/// imports the first demo's (福建省) signed trust list from `--demo-peer`, checked against the anchor
/// key that demo wrote to ./data/demo/anchor.pem, so that its window accepts Fujian's licences.
struct SecondDemoAuthority {
    let directory: String
    let publicURL: String
    let peer: String
    let peerAnchor: String

    static let authority = Issuer(code: try! HolderCode.completing("11330000MB0005678", kind: .creditCode).value, name: "浙江省大数据发展管理局")
    static let regulator = Issuer(code: try! HolderCode.completing("11330100MB0000789", kind: .creditCode).value, name: "杭州市市场监督管理局")

    struct Built {
        var keys: String
        var database: String
        var agencyKey: String
        var sample: (id: String, token: String)
        /// What became of the import of the first demo's list.
        var imported: String
    }

    func build() async throws -> Built {
        try? FileManager.default.removeItem(atPath: directory)
        let keys = KeyStore(directory: directory + "/keys")
        let now = SystemClock().now
        let issuer = try keys.generate(algorithm: .es256, role: .issuer, issuer: Self.regulator, validYears: 5, passphrase: nil, now: now)
        _ = try keys.generate(algorithm: .edDSA, role: .status, issuer: Self.regulator, validYears: 5, passphrase: nil, now: now)
        let anchor = try keys.generate(algorithm: .edDSA, role: .anchor, issuer: Self.authority, validYears: 10, passphrase: nil, now: now)
        try FileIO.writeAtomically(Array(anchor.publicKey.utf8), to: directory + "/anchor.pem", mode: 0o644)

        let database = directory + "/registry.sqlite"
        let registry = try await SQLiteRegistry.open(path: database)
        try await registry.addType(LicenceType(code: DemoRegistry.businessType, name: "营业执照", holderKind: .enterprise,
                                               sharing: .unconditional, fields: [.init(name: "法定代表人")], disclosed: ["法定代表人"],
                                               validityYears: nil), now: now)
        let signer = try keys.privateKey(for: issuer, passphrase: nil).signer
        let today = CalendarDate(chinaDayOf: now)
        var licences: [Licence] = []
        for (index, name) in ["杭州西湖数字科技有限公司", "宁波港城物流有限公司", "温州瓯江鞋业有限公司", "绍兴黄酒贸易有限公司"].enumerated() {
            let code = try HolderCode.completing("913301" + String(format: "%02d", index) + "MA2B0000\(index)", kind: .creditCode)
            licences.append(Licence(typeCode: DemoRegistry.businessType, typeName: "营业执照", number: "浙市监\(today.year)第\(String(format: "%06d", index + 1))号",
                                    holder: Holder(name: name, code: code), issuer: Self.regulator, validFrom: today.adding(days: -30),
                                    validUntil: nil, fields: ["法定代表人": ["王建国", "李丽华", "陈志强", "张秀英"][index]]))
        }
        var issued: [StoredLicence] = []
        for outcome in try await registry.issue(licences.map { IssueRequest(licence: $0) }, signer: signer, publicURL: publicURL,
                                                actor: "demo", now: now) {
            guard case .issued(let stored) = outcome else { throw CLIError(exitCode: 3, message: "demo issuance failed: \(outcome)") }
            issued.append(stored)
        }
        let agencyKey = AgencyKey.generate()
        try await registry.addAgency(Agency(code: try HolderCode.completing("11330100MB0000456", kind: .creditCode).value,
                                            name: "杭州市民中心", grants: [], createdAt: now), keyHash: AgencyKey.hash(agencyKey))

        var imported: String
        do {
            let anchorPEM = String(decoding: try FileIO.read(peerAnchor, limit: 64 * 1024), as: UTF8.self)
            let url = peer + "/v1/trust-list.cose"
            let bytes = try await AuthorityRefresh.fetch(url, timeout: .seconds(5))
            let list = try AuthorityDirectory(keys: keys).importAuthority(name: "fujian", anchorPEM: anchorPEM, url: url, file: nil,
                                                                          bytes: bytes, now: now)
            imported = "Imported the trust list of \(list.authorityName) (sequence \(list.sequence), \(list.keys.count) keys) from \(url)."
        } catch {
            imported = "Could not import the first demo's trust list (\(error)); start `elicence serve --demo` first, in this "
                + "directory, then this one again."
        }
        return Built(keys: keys.directory, database: database, agencyKey: agencyKey, sample: (issued[0].id.description, issued[0].token),
                     imported: imported)
    }

    static func printSummary(_ built: Built, host: String, port: Int, peer: String) {
        print("""
            Second demo authority: 浙江省 (\(authority.name)); registry \(built.database), keys in \(built.keys)
            Demo agency key (Authorization: Bearer …): \(built.agencyKey)
            \(built.imported)

            Service window: http://\(host):\(port)/ — paste a token of the first demo (福建省) there: it is valid, vouched for by
            福建省大数据管理局, its status read from Fujian's status list.
            A Zhejiang licence, for the other direction:
              \(built.sample.id)
              \(built.sample.token)
            For Fujian to accept it, import this authority's list there and tell that server (its process id is in its output):
              elicence trust import --keys ./data/demo/keys --name zhejiang --anchor ./data/demo-zhejiang/anchor.pem \\
                  --url http://127.0.0.1:\(port)/v1/trust-list.cose && kill -HUP PID

            """)
        fflush(nil)
    }
}
