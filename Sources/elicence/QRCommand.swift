import ArgumentParser
import Foundation
import LicenceCore
import LicenceCrypto
import LicenceQR
import LicenceStore

struct QRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qr", abstract: "The QR code of a licence's token, for printing or for the holder's phone.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case png, svg, terminal }

    @Argument(help: "The licence identifier.")
    var id: String
    @Option(help: "png, svg or terminal.")
    var format: Format = .terminal
    @Option(help: ArgumentHelp("Write to FILE (default: standard output).", valueName: "FILE"))
    var out: String?
    @Option(help: "Pixels (png) or units (svg) per module.")
    var scale: Int = 8
    @Option(help: "Error-correction level: L, M, Q or H.")
    var level: String = "Q"

    @OptionGroup var registry: RegistryOptions

    func validate() throws {
        guard (1...64).contains(scale) else { throw ValidationError("--scale must be from 1 to 64") }
        guard QRCode.ErrorCorrection(rawValue: level.uppercased()) != nil else {
            throw ValidationError("--level must be L, M, Q or H")
        }
    }

    func run() async throws {
        let identifier = try LicenceIdentifier.argument(id)
        guard let stored = try await registry.withRegistry({ try await $0.licence(id: identifier) }) else {
            throw CLIError.badInput("no licence \(identifier) in the registry")
        }
        let code: QRCode
        do { code = try QRCode(text: stored.token, errorCorrection: QRCode.ErrorCorrection(rawValue: level.uppercased())!) } catch {
            throw CLIError.badInput("the token does not fit a QR code: \(error.message)")
        }
        let bytes: [UInt8]
        switch format {
        case .png: bytes = code.png(scale: scale)
        case .svg: bytes = Array(code.svg(scale: scale).utf8)
        case .terminal: bytes = Array(code.terminal().utf8)
        }
        if let out {
            do { try FileIO.writeAtomically(bytes, to: out, mode: 0o644) } catch { throw CLIError.badInput("--out: \(error.message)") }
            FileHandle.standardError.write(Data("QR version \(code.version), level \(level.uppercased()), \(code.size)×\(code.size) modules: \(out)\n".utf8))
        } else {
            if format == .png && isatty(STDOUT_FILENO) == 1 {
                throw CLIError.badInput("a PNG is binary; give --out FILE or redirect standard output")
            }
            FileHandle.standardOutput.write(Data(bytes))
        }
    }
}
