import Foundation
import LicenceCore
import LicenceCrypto
import LicenceQR
import LicenceServer
import LicenceStore

/// The demonstration registry of `serve --demo`: keys, three licence types, a few hundred realistic
/// licences (some revoked, some suspended), a demo agency, QR codes. Rebuilt from nothing at each start.
struct DemoRegistry {
    let directory: String
    let publicURL: String

    struct Built {
        var keys: String
        var database: String
        var agencyKey: String
        var samples: [(label: String, id: String, token: String, qr: String)]
        var counts: (issued: Int, revoked: Int, suspended: Int)
        var publicURL: String
        /// A demo citizen's one-time enrolment link, new at each start.
        var enrolment: (holder: String, licence: String, link: String)

        func printSummary(host: String, port: Int) {
            print("""
                Demo registry: \(database)
                  \(counts.issued) licences (\(counts.revoked) revoked, \(counts.suspended) suspended); keys in \(keys)
                Demo agency key (Authorization: Bearer …): \(agencyKey)

                Sample tokens, each with its QR code (PNG) and a link that opens the service-window page on it:
                """)
            for sample in samples {
                print("""
                      \(sample.label): \(sample.id)
                        QR:   \(sample.qr)
                        Link: \(ServiceWindowLink.make(publicURL: publicURL, token: sample.token))
                        \(sample.token)

                    """)
            }
            print("""
                A demo citizen's wallet: open this link on a phone or in a browser to put this citizen's licences \
                (\(enrolment.holder), \(enrolment.licence)) in a wallet; it works once:
                  \(enrolment.link)

                """)
            print("Service window: http://\(host):\(port)/   API: http://\(host):\(port)/openapi.json\n")
            print("""
                Cross-province verification (跨省互认): this demo is 福建省; its signed trust list is at
                http://\(host):\(port)/v1/trust-list.cose, signed by the anchor key in \(keys.replacingOccurrences(of: "/keys", with: "/anchor.pem")).
                In another terminal, in this directory, start a second demo authority, 浙江省, that imports it:
                  elicence serve --demo --demo-province zhejiang --port \(port + 1) --demo-peer http://127.0.0.1:\(port)
                then paste a sample token above into Zhejiang's window, http://127.0.0.1:\(port + 1)/ : it is valid there,
                vouched for by 福建省大数据管理局. (This server's process id, for kill -HUP: \(getpid()).)

                """)
            fflush(nil)  // before the server's log lines, also when standard output is a file
        }
    }

    static let marketRegulator = Issuer(code: "11350000003591037R", name: "福州市市场监督管理局")
    static let provinceAuthority = Issuer(code: try! HolderCode.completing("11350000MB0001234", kind: .creditCode).value,
                                          name: "福建省大数据管理局")
    static let businessType = "11100000000013338W011"
    static let foodType = "11100000000013338W021"

    func build() async throws -> Built {
        try? FileManager.default.removeItem(atPath: directory)
        let keys = KeyStore(directory: directory + "/keys")
        let now = SystemClock().now
        let police = Issuer(code: try HolderCode.completing("11350100MB0000123", kind: .creditCode).value, name: "福州市公安局交通警察支队")
        let drivingType = try HolderCode.completing("11100000000019713", kind: .creditCode).value + "005"
        let market = try keys.generate(algorithm: .sm2, role: .issuer, issuer: Self.marketRegulator, validYears: 5, passphrase: nil, now: now)
        let traffic = try keys.generate(algorithm: .es256, role: .issuer, issuer: police, validYears: 5, passphrase: nil, now: now)
        _ = try keys.generate(algorithm: .edDSA, role: .status, issuer: Self.marketRegulator, validYears: 5, passphrase: nil, now: now)
        _ = try keys.generate(algorithm: .edDSA, role: .log, issuer: Self.marketRegulator, validYears: 5, passphrase: nil, now: now)
        // The province's anchor, which signs /v1/trust-list.cose for other provinces to import (跨省互认).
        let anchor = try keys.generate(algorithm: .sm2, role: .anchor, issuer: Self.provinceAuthority, validYears: 10, passphrase: nil, now: now)
        try FileIO.writeAtomically(Array(anchor.publicKey.utf8), to: directory + "/anchor.pem", mode: 0o644)

        let database = directory + "/registry.sqlite"
        let registry = try await SQLiteRegistry.open(path: database)
        let types = [
            LicenceType(code: Self.businessType, name: "营业执照", holderKind: .enterprise, sharing: .unconditional,
                        fields: [.init(name: "注册资本"), .init(name: "法定代表人"), .init(name: "经营范围")],
                        disclosed: ["法定代表人"], validityYears: nil),
            LicenceType(code: Self.foodType, name: "食品经营许可证", holderKind: .enterprise, sharing: .conditional,
                        fields: [.init(name: "主体业态"), .init(name: "经营项目"), .init(name: "日常监督管理机构")],
                        disclosed: ["主体业态"], validityYears: 5),
            LicenceType(code: drivingType, name: "机动车驾驶证", holderKind: .citizen, sharing: .none,
                        fields: [.init(name: "准驾车型")], disclosed: ["准驾车型"], validityYears: 6),
        ]
        for type in types { try await registry.addType(type, now: now) }

        var generator = SplitMix64(seed: 20_260_115)
        var businesses: [Licence] = [], food: [Licence] = [], driving: [Licence] = []
        let cities = ["福州", "厦门", "泉州", "漳州", "莆田", "三明", "南平", "龙岩", "宁德"]
        let brands = ["华盛", "闽江", "海峡", "鼓山", "榕城", "鹭岛", "武夷", "清源", "东南", "金山", "三坊", "马尾"]
        let trades = ["科技", "贸易", "餐饮管理", "建设工程", "物流", "文化传媒", "电子商务", "食品", "茶业", "医药"]
        let people = ["陈", "林", "黄", "张", "吴", "王", "李", "郑", "刘", "蔡"].flatMap { s in
            ["建国", "丽华", "志强", "秀英", "晓东", "美玲", "海峰", "静怡", "国平", "雅婷"].map { s + $0 } }
        for index in 0..<200 {
            let name = cities[index % cities.count] + "市" + brands[(index / 9) % brands.count] + trades[(index * 7) % trades.count]
                + "有限公司" + (index >= 120 ? "（第\(index / 120 + 1)分公司）" : "")
            let body = "91" + ["350100", "350200", "350500", "350600"][index % 4] + "MA"
                + String(format: "%07d", 1_000_003 + index * 7919 % 9_000_000)
            let code = try HolderCode.completing(body, kind: .creditCode)
            let from = CalendarDate(daysSinceEpoch: 17_000 + Int64(generator.next() % 3000))
            businesses.append(Licence(
                typeCode: Self.businessType, typeName: "营业执照", number: "闽市监\(from.year)第\(String(format: "%06d", index + 1))号",
                holder: Holder(name: name, code: code), issuer: Self.marketRegulator, validFrom: from, validUntil: nil,
                fields: ["注册资本": "\(50 * (index % 40 + 1))万元人民币", "法定代表人": people[index % people.count],
                         "经营范围": trades[(index * 7) % trades.count] + "相关业务"]))
            if index % 3 == 0 {
                let start = CalendarDate(chinaDayOf: now).adding(days: -Int64(generator.next() % 1500))  // within its 5 years
                food.append(Licence(
                    typeCode: Self.foodType, typeName: "食品经营许可证", number: "JY135\(String(format: "%09d", 10_000 + index))",
                    holder: Holder(name: name, code: code), issuer: Self.marketRegulator, validFrom: start,
                    validUntil: start.adding(years: 5).adding(days: -1),
                    fields: ["主体业态": ["餐饮服务经营者", "食品销售经营者", "单位食堂"][index % 3],
                             "经营项目": "热食类食品制售", "日常监督管理机构": cities[index % cities.count] + "市市场监督管理局"]))
            }
        }
        for index in 0..<100 {
            let birth = CalendarDate(daysSinceEpoch: -3000 + Int64(generator.next() % 14_000))
            let body = ["350102", "350203", "350582", "350121"][index % 4] + String(format: "%04d%02d%02d", birth.year, birth.month, birth.day)
                + String(format: "%03d", 100 + index)
            let code = try HolderCode.completing(body, kind: .citizenID)
            // Issued within the last five years, so every demo driving licence is within its six-year validity.
            let from = CalendarDate(chinaDayOf: now).adding(days: -Int64(generator.next() % 1800))
            driving.append(Licence(
                typeCode: drivingType, typeName: "机动车驾驶证", number: code.value, holder: Holder(name: people[(index * 3) % people.count], code: code),
                issuer: police, validFrom: from, validUntil: from.adding(years: 6).adding(days: -1),
                fields: ["准驾车型": ["C1", "C2", "B2", "A1", "C1E"][index % 5]]))
        }

        let marketSigner = try keys.privateKey(for: market, passphrase: nil).signer
        let trafficSigner = try keys.privateKey(for: traffic, passphrase: nil).signer
        var issued: [StoredLicence] = []
        for (licences, signer) in [(businesses + food, marketSigner), (driving, trafficSigner)] {
            for outcome in try await registry.issue(licences.map { IssueRequest(licence: $0) }, signer: signer, publicURL: publicURL,
                                              actor: "demo", now: now) {
                guard case .issued(let stored) = outcome else { throw CLIError(exitCode: 3, message: "demo issuance failed: \(outcome)") }
                issued.append(stored)
            }
        }
        let revoked = stride(from: 5, to: issued.count, by: 25).map { issued[$0] }
        let suspended = stride(from: 12, to: issued.count, by: 37).map { issued[$0] }
        for licence in revoked {
            _ = try await registry.changeStatus(id: licence.id, to: .revoked, reason: "依法吊销（演示）", actor: "demo", now: now)
        }
        for licence in suspended where !revoked.contains(where: { $0.id == licence.id }) {
            _ = try await registry.changeStatus(id: licence.id, to: .suspended, reason: "责令停业整顿（演示）", actor: "demo", now: now)
        }

        let agencyKey = AgencyKey.generate()
        let serviceCentre = try HolderCode.completing("11350100MB0000456", kind: .creditCode).value
        try await registry.addAgency(Agency(code: serviceCentre, name: "福州市行政服务中心", grants: [Self.foodType], createdAt: now),
                               keyHash: AgencyKey.hash(agencyKey))

        let qrDirectory = directory + "/qr"
        try FileManager.default.createDirectory(atPath: qrDirectory, withIntermediateDirectories: true)
        var samples: [(String, String, String, String)] = []
        let picks: [(String, StoredLicence)] = [("valid 营业执照", issued[0]), ("valid 食品经营许可证", issued[200]),
                                                ("valid 机动车驾驶证 (citizen)", issued[issued.count - 1]),
                                                ("revoked", revoked[0]), ("suspended", suspended[0])]
        for (label, stored) in picks {
            let path = qrDirectory + "/" + label.split(separator: " ")[0] + "-\(stored.id.serial.suffix(6)).png"
            try FileIO.writeAtomically(try QRCode(text: stored.token).png(scale: 6), to: path, mode: 0o644)
            samples.append((label, stored.id.description, stored.token, path))
        }
        // The citizen of the sample driving licence gets a wallet enrolment code.
        let citizen = issued[issued.count - 1].licence
        let invite = EnrolmentInvite(holderCode: citizen.holder.code.value, validDays: EnrolmentInvite.defaultValidDays,
                                     publicURL: publicURL, now: now)
        try await invite.store(in: registry)
        return Built(keys: keys.directory, database: database, agencyKey: agencyKey, samples: samples,
                     counts: (issued.count, revoked.count, suspended.count), publicURL: publicURL,
                     enrolment: (citizen.holder.name, citizen.typeName, invite.link))
    }
}
