// libFuzzer target: the CBOR decoder (RFC 8949) under its default limits, under the token's tighter
// ones, and in deterministic mode; and the encoder on whatever the decoder accepts.
import LicenceCore

/// Stops the run when a property does not hold (fatalError, unlike precondition, keeps its message under -O).
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))

    if let item = try? CBORDecoder.decode(input) {
        // The deterministic encoding of an accepted item is itself accepted, in deterministic mode
        // too, and encodes to the same bytes again.
        let encoded = item.encoded()
        let strict = CBORDecoder.Limits(requireDeterministic: true)
        guard let again = try? CBORDecoder.decode(encoded, limits: strict) else {
            fatalError("the encoding of an accepted item is not accepted as deterministic CBOR")
        }
        check(again.encoded() == encoded, "CBOR encode/decode/encode is not stable")
    }

    _ = try? CBORDecoder.decode(input, limits: LicenceToken.Limits().cbor)

    // What deterministic mode accepts is exactly what the encoder would write.
    if let item = try? CBORDecoder.decode(input, limits: CBORDecoder.Limits(requireDeterministic: true)) {
        check(item.encoded() == input, "deterministic CBOR re-encodes to different bytes")
    }
    return 0
}
