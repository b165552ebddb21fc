// libFuzzer target: base45 decoding (RFC 9285), and the round trip in both directions.
import LicenceCore

/// Stops the run when a property does not hold (fatalError, unlike precondition, keeps its message under -O).
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))

    // Decoding never traps; what it accepts encodes back to the same text, since every group of
    // characters stands for exactly one value.
    if let decoded = try? Base45.decode(utf8: input) {
        check(Array(Base45.encode(decoded).utf8) == input, "base45 decode/encode does not round-trip")
    }

    // Any bytes survive encoding and decoding.
    let encoded = Base45.encode(input)
    check(encoded.utf8.count == input.count / 2 * 3 + input.count % 2 * 2, "base45 encoding has the wrong length")
    check((try? Base45.decode(encoded)) == input, "base45 encode/decode does not round-trip")
    return 0
}
