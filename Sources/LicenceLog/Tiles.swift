/// A resource of the C2SP tlog-tiles layout: a tile of hashes, `tile/<L>/<N>[.p/<W>]`, or an entry
/// bundle, `tile/entries/<N>[.p/<W>]`. `<N>` is written in 3-digit elements, all but the last
/// starting with `x` (1234067 is `x001/x234/067`); `.p/<W>` marks a partial tile of `W` < 256 items.
public struct TilePath: Sendable, Hashable, CustomStringConvertible {
    /// The level of a hash tile; nil for an entry bundle.
    public var level: Int?
    public var index: Int64
    /// Items in the tile: 256 for a full tile.
    public var width: Int

    public init(level: Int?, index: Int64, width: Int = Merkle.tileWidth) {
        self.level = level
        self.index = index
        self.width = width
    }

    public var isFull: Bool { width == Merkle.tileWidth }

    /// The path below the log's prefix.
    public var description: String {
        var elements: [String] = []
        var rest = index
        repeat {
            elements.insert(String(format3: rest % 1000), at: 0)
            rest /= 1000
        } while rest > 0
        let number = elements.enumerated().map { $0.offset < elements.count - 1 ? "x" + $0.element : $0.element }
            .joined(separator: "/")
        return "tile/" + (level.map(String.init) ?? "entries") + "/" + number + (isFull ? "" : ".p/\(width)")
    }

    /// Reads a path below the log's prefix (`tile/…`), strictly: nil for anything the layout does not produce.
    public init?(path: some StringProtocol) {
        var parts = String(path).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, parts[0] == "tile" else { return nil }
        if parts[1] == "entries" {
            level = nil
        } else {
            guard let level = Int(parts[1]), (0...63).contains(level), String(level) == parts[1] else { return nil }
            self.level = level
        }
        parts.removeFirst(2)
        width = Merkle.tileWidth
        if parts.count >= 2, let last = parts.last, parts[parts.count - 2].hasSuffix(".p") {
            guard let width = Int(last), (1...255).contains(width), String(width) == last else { return nil }
            self.width = width
            parts.removeLast()
            parts[parts.count - 1].removeLast(2)
        }
        var index: Int64 = 0
        for (position, element) in parts.enumerated() {
            var digits = Substring(element)
            if position < parts.count - 1 {
                guard digits.first == "x" else { return nil }
                digits = digits.dropFirst()
            }
            guard digits.count == 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(digits) else { return nil }
            guard index <= (Int64.max - value) / 1000 else { return nil }
            index = index * 1000 + value
        }
        guard parts.count == 1 || parts[0] != "x000" else { return nil }  // no leading zero elements
        self.index = index
    }

    /// The hashes of `level` a tile holds, as a range of that level's indexes.
    public var hashRange: Range<Int64> {
        let start = index * Int64(Merkle.tileWidth)
        return start..<(start + Int64(width))
    }

    /// Hashes of `level` in a tree of `size` leaves: one per complete block of 256^level leaves.
    public static func hashCount(level: Int, size: Int64) -> Int64 {
        var count = size
        for _ in 0..<level { count /= Int64(Merkle.tileWidth) }
        return count
    }

    /// The tile holding hash `hashIndex` of `level` in a tree of `size` leaves, full or as wide as the
    /// tree allows; nil when the tree has no such hash.
    public static func tile(level: Int?, containing hashIndex: Int64, size: Int64) -> TilePath? {
        let count = hashCount(level: level ?? 0, size: size)
        guard hashIndex >= 0, hashIndex < count else { return nil }
        let index = hashIndex / Int64(Merkle.tileWidth)
        let width = min(Int64(Merkle.tileWidth), count - index * Int64(Merkle.tileWidth))
        return TilePath(level: level, index: index, width: Int(width))
    }
}

extension String {
    /// `value` (0…999) in three digits.
    init(format3 value: Int64) {
        let digits = Swift.String(value)
        self = Swift.String(repeating: "0", count: Swift.max(0, 3 - digits.count)) + digits
    }
}
