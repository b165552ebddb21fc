import Foundation
import ArgumentParser

/// A length of time on the command line: a number of seconds, or a number followed by `s`, `m`,
/// `h` or `d` (`90s`, `30m`, `1h`, `7d`).
struct DurationArgument: ExpressibleByArgument, Sendable {
    var seconds: Int64

    init(seconds: Int64) { self.seconds = seconds }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var number = Substring(text)
        var unit: Int64 = 1
        if let last = text.last, let multiplier = units[last] {
            unit = multiplier
            number = number.dropLast()
        }
        guard let value = Int64(number), value >= 0, value <= Int64.max / unit / 2 else { return nil }
        seconds = value * unit
    }

    var defaultValueDescription: String {
        for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60)] where seconds >= size && seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }
}
