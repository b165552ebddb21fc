// libFuzzer target: the bounded zlib step of the token (64 KiB, as in LicenceToken.Limits) and of
// status lists (1 MiB).
import LicenceCore

/// Stops the run when a property does not hold (fatalError, unlike precondition, keeps its message under -O).
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let tokenLimit = LicenceToken.Limits().maxDecompressedSize

    if let inflated = try? Zlib.decompress(input, limit: tokenLimit) {
        check(inflated.count <= tokenLimit, "zlib output exceeds its limit")
        // The same stream under a limit just below its size must be refused, not truncated.
        if !inflated.isEmpty {
            do {
                _ = try Zlib.decompress(input, limit: inflated.count - 1)
                fatalError("zlib output of \(inflated.count) bytes passed a limit of \(inflated.count - 1)")
            } catch {
                check(error == .outputTooLarge(limit: inflated.count - 1), "wrong error under a tight limit: \(error)")
            }
        }
        check((try? Zlib.decompress(Zlib.compress(inflated), limit: tokenLimit)) == inflated,
                     "zlib compress/decompress does not round-trip")
    }
    _ = try? Zlib.decompress(input, limit: StatusListToken.maxListBytes)

    // Any bytes survive compression.
    check((try? Zlib.decompress(Zlib.compress(input), limit: max(input.count, 1))) == input,
                 "zlib compress/decompress does not round-trip")
    return 0
}
