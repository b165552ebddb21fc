import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceQR
import LicenceStore

struct HoldersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "holders",
        abstract: "Holders (持证主体) and their wallets: one-time enrolment codes and the devices enrolled with them.",
        discussion: """
            A holder enrols a phone or a browser once, with a one-time code, at <public URL>/wallet; the device then \
            sees all of the holder's licences, present and future, and shows short-lived presentation codes (亮证) \
            at service windows.
            """,
        subcommands: [Invite.self, Devices.self, RevokeDevice.self])

    struct Invite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a one-time enrolment code (绑定码) for a holder and print it with its wallet link.",
            discussion: """
                The code is 100 random bits in Crockford's base32 (K7Q2-…, 20 characters in groups of four); the \
                registry keeps only its SHA-256. It enrols one device, once, before it expires. The link is \
                <public URL>/wallet#enrol=<code>: the code travels in the part after #, which a browser never sends \
                to a server. The public URL is the first of --public-url, ELICENCE_PUBLIC_URL and the registry's \
                public-url setting (`elicence registry set public-url URL`).
                """)

        @Option(help: "The holder's credit code or citizen ID number.")
        var holderCode: String
        @Option(help: ArgumentHelp("Days until the code expires, from 1 to 90.", valueName: "N"))
        var validDays: Int = EnrolmentInvite.defaultValidDays
        @Option(help: ArgumentHelp("Also write a QR code of the link: FILE.png or FILE.svg.", valueName: "FILE"))
        var qr: String?
        @Option(help: """
            The service's public address, base of the link (default: ELICENCE_PUBLIC_URL, else the registry's public-url \
            setting, else http://127.0.0.1:8080 with a warning).
            """)
        var publicURL: String?
        @Flag(help: "Accept a holder credit code whose check character is wrong (early pilot codes).")
        var allowBadChecksum = false
        @Flag(help: "Print {\"holderCode\", \"code\", \"link\", \"expiresAt\"} as JSON.")
        var json = false

        @OptionGroup var registry: RegistryOptions

        func validate() throws {
            guard EnrolmentInvite.validDays.contains(validDays) else {
                throw ValidationError("--valid-days must be from 1 to 90; got \(validDays)")
            }
            if let qr { _ = try QRFile.format(of: qr) }
        }

        func run() async throws {
            let holder = try HolderCodeArgument.parse(holderCode, allowBadChecksum: allowBadChecksum)
            let invite = try await registry.withRegistry { registry in
                let url = try await WalletPublicURL.choose(option: publicURL, registry: registry)
                if try await registry.licences(LicenceFilter(holderCode: holder.value, limit: 1)).isEmpty {
                    Terminal.warning("""
                        holder \(holder.value) has no licences in the registry yet; the code works all the same, and the \
                        device enrolled with it will see the holder's licences as they are issued
                        """)
                }
                let invite = EnrolmentInvite(holderCode: holder.value, validDays: validDays, publicURL: url, now: SystemClock().now)
                // The QR first: if its file cannot be written, no code has been made.
                if let qr { try QRFile.write(invite.link, to: qr) }
                do { try await invite.store(in: registry) } catch {
                    if let qr { try? FileManager.default.removeItem(atPath: qr) }
                    throw error
                }
                return invite
            }
            if json {
                try Terminal.printJSON(invite)
                return
            }
            print(invite.summary)
            if let qr { print("QR code of the link: \(qr)") }
        }
    }

    struct Devices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the devices enrolled for a holder, active and revoked.")

        @Option(help: "The holder's credit code or citizen ID number.")
        var holderCode: String
        @Flag(help: "Accept a holder credit code whose check character is wrong (early pilot codes).")
        var allowBadChecksum = false
        @Flag(help: "Print JSON.")
        var json = false
        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            let holder = try HolderCodeArgument.parse(holderCode, allowBadChecksum: allowBadChecksum)
            let devices = try await registry.withRegistry { try await $0.devices(holderCode: holder.value) }
            try Table.list(devices.map(DeviceRow.init), json: json,
                           empty: "No devices for holder \(holder.value). `elicence holders invite --holder-code \(holder.value)` makes an enrolment code.",
                           header: ["ID", "LABEL", "STATE", "ENROLLED"]) { row in
                [row.id, row.label, row.revokedAt.map { "revoked " + $0 } ?? "active", row.enrolledAt]
            }
        }
    }

    struct RevokeDevice: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke-device",
            abstract: "Revoke an enrolled device: from its next request it can neither fetch licences nor present them.")

        @Argument(help: ArgumentHelp("The device ID (16 hex digits), as `elicence holders devices` lists it.", valueName: "ID"))
        var id: String
        @OptionGroup var registry: RegistryOptions

        func run() async throws {
            let id = try DeviceID.parse(id)
            let device = try await registry.withRegistry { registry in
                guard let device = try await registry.device(id: id) else {
                    throw CLIError.badInput("ID: no device \(id) in the registry; `elicence holders devices --holder-code CODE` lists a holder's devices")
                }
                if let revokedAt = device.revokedAt {
                    throw CLIError.badInput("device \(id) (\(device.label)) of holder \(device.holderCode) was already revoked at \(Timestamp.format(revokedAt)); nothing changed")
                }
                return try await registry.revokeDevice(id: id, now: SystemClock().now)
            }
            print("Device \(device.id) (\(device.label)) of holder \(device.holderCode) is revoked; its next request is refused.")
        }
    }
}

/// A device as `holders devices` shows it; times in ISO 8601.
struct DeviceRow: Encodable {
    var id: String
    var holderCode: String
    var label: String
    var enrolledAt: String
    var revokedAt: String?
    var active: Bool

    init(_ device: HolderDevice) {
        id = device.id
        holderCode = device.holderCode
        label = device.label
        enrolledAt = Timestamp.format(device.enrolledAt)
        revokedAt = device.revokedAt.map(Timestamp.format)
        active = device.isActive
    }
}

/// Device IDs as a person types them: 16 hex digits, any case.
enum DeviceID {
    static func parse(_ text: String) throws -> String {
        let id = text.trimmingWhitespace().lowercased()
        guard id.count == 16, id.allSatisfy(\.isHexDigit) else {
            throw CLIError.badInput("ID: \"\(text)\" is not a device ID; expected 16 hex digits, as `elicence holders devices --holder-code CODE` lists them")
        }
        return id
    }
}

/// `--holder-code` of a holder, of either kind: the code as the registry keeps it, or bad input that
/// names the expected check character.
enum HolderCodeArgument {
    static func parse(_ text: String, allowBadChecksum: Bool) throws -> HolderCode {
        let holder: HolderCode
        do { holder = try HolderCode.lookup(text.trimmingWhitespace(), allowBadChecksum: allowBadChecksum) } catch {
            throw CLIError.badInput("--holder-code: \(error.message)")
        }
        if holder.checksumWaived {
            Terminal.warning("--holder-code \(holder.value): the check character is wrong; accepted because of --allow-bad-checksum")
        }
        return holder
    }
}

/// A QR code written to a file, PNG or SVG by the file's extension.
enum QRFile {
    enum Format { case png, svg }

    static func format(of path: String) throws -> Format {
        switch (path as NSString).pathExtension.lowercased() {
        case "png": return .png
        case "svg": return .svg
        default: throw ValidationError("--qr \(path): the file name must end in .png or .svg")
        }
    }

    static func write(_ text: String, to path: String, scale: Int = 8) throws {
        let code: QRCode
        do { code = try QRCode(text: text) } catch { throw CLIError.badInput("--qr: the link does not fit a QR code: \(error.message)") }
        let bytes = try format(of: path) == .png ? code.png(scale: scale) : Array(code.svg(scale: scale).utf8)
        // The code in it enrols a device: readable by its owner only, like the code itself.
        do { try FileIO.writeAtomically(bytes, to: path, mode: 0o600) } catch { throw CLIError.badInput("--qr: \(error.message)") }
    }
}
