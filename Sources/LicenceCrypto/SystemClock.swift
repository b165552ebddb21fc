import Foundation
import LicenceCore

/// The wall clock, in Unix seconds: what the command line and the server give a ``Verifier``.
public struct SystemClock: LicenceClock {
    public init() {}
    public var now: Int64 { Int64(Date().timeIntervalSince1970) }
}
