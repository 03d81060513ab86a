/// The C2SP `tlog-tiles` layout: tile and entry-bundle paths, which Merkle nodes a tile holds,
/// and the entry-bundle encoding, so the log can be mirrored as static files.
///
/// A tile at level L, index N, width W (1…256) holds the hashes of the complete subtrees at tree
/// level 8·L with indexes 256·N ..< 256·N + W, concatenated (32 bytes each). Paths:
/// `tile/L/N[.p/W]` and `tile/entries/N[.p/W]`, N written as 3-digit segments, all but the last
/// prefixed with `x` (1234067 → `x001/x234/067`); `.p/W` only for partial tiles (W < 256).
public enum TlogTiles {
    /// Tree levels per tile.
    public static let height = 8
    /// Hashes in a full tile.
    public static let fullWidth = 256
    /// The highest tile level a tree of at most 2^62 leaves has: a level-6 tile spans 2^56 leaves.
    public static let maxLevel = 6

    /// What a tile path names. Level 0…``maxLevel`` and an index inside a 2^62-leaf tree, as
    /// ``parse(path:)`` guarantees.
    public struct Tile: Sendable, Hashable, CustomStringConvertible {
        /// The tile level (0…7), or nil for an entry bundle.
        public let level: Int?
        public let index: Int
        /// 1…256; 256 is a full tile.
        public let width: Int

        public init(level: Int?, index: Int, width: Int = TlogTiles.fullWidth) {
            self.level = level
            self.index = index
            self.width = width
        }

        public var isEntryBundle: Bool { level == nil }
        public var isPartial: Bool { width < TlogTiles.fullWidth }

        /// The path below the log's prefix, e.g. `tile/0/x001/067.p/12`.
        public var path: String {
            let head = level.map { "tile/\($0)/" } ?? "tile/entries/"
            return head + TlogTiles.encodeIndex(index) + (isPartial ? ".p/\(width)" : "")
        }

        public var description: String { path }

        /// The nodes whose hashes a hash tile holds, in order (for an entry bundle: the leaves
        /// whose entries it holds).
        public var nodeIDs: [MerkleNodeID] {
            let treeLevel = (level ?? 0) * TlogTiles.height
            let first = index * TlogTiles.fullWidth
            return (first..<(first + width)).map { MerkleNodeID(level: treeLevel, index: $0) }
        }

        /// The first and one-past-last leaf this tile's hashes (or entries) cover.
        public var leafRange: Range<Int> {
            let span = 1 << ((level ?? 0) * TlogTiles.height)
            let first = index * TlogTiles.fullWidth
            return (first * span)..<((first + width) * span)
        }
    }

    /// `x001/x234/067` for 1234067; `000` for 0.
    public static func encodeIndex(_ index: Int) -> String {
        precondition(index >= 0, "a tile index is not negative")
        var groups: [Int] = []
        var rest = index
        repeat {
            groups.append(rest % 1000)
            rest /= 1000
        } while rest > 0
        let digits = groups.reversed().map { group -> String in
            let text = String(group)
            return String(repeating: "0", count: 3 - text.count) + text
        }
        return digits.dropLast().map { "x" + $0 + "/" }.joined() + digits[digits.count - 1]
    }

    /// Parses a path below the prefix (`tile/0/x001/067.p/12`, `tile/entries/000`), strictly:
    /// no leading zeros in L or W, 3-digit segments, W in 1…255 after `.p/`.
    public static func parse(path: String) throws(TilePathError) -> Tile {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, parts[0] == "tile" else { throw TilePathError("a tile path begins with 'tile/'") }
        var width = fullWidth
        if parts.count >= 4, parts[parts.count - 2].hasSuffix(".p") {
            // `…/067.p/12`: the segment before the width ends in `.p`.
            let w = parts.removeLast()
            guard let value = decimal(w), value >= 1, value < fullWidth else {
                throw TilePathError("a partial tile's width is 1…255 without leading zeros, not '\(w.prefix(8))'")
            }
            width = value
            parts[parts.count - 1].removeLast(2)
        } else if parts.count >= 4, parts[parts.count - 1].hasSuffix(".p") {
            throw TilePathError("a partial tile path ends with '.p/' and its width")
        }
        let level: Int?
        if parts[1] == "entries" {
            level = nil
        } else {
            guard let value = decimal(parts[1]), value <= 63 else {
                throw TilePathError("the tile level is 0…63 without leading zeros, not '\(parts[1].prefix(8))'")
            }
            guard value <= maxLevel else { throw TilePathError("no tree this log can hold has tiles at level \(value)") }
            level = value
        }
        let segments = parts[2...]
        // Six segments (up to 10^18 - 1) cannot overflow; larger indexes name no tile of a 2^62-leaf tree.
        guard !segments.isEmpty, segments.count <= 6 else { throw TilePathError("the tile index has 1…6 path segments") }
        var index = 0
        for (position, segment) in segments.enumerated() {
            let last = position == segments.count - 1
            var digits = Substring(segment)
            if !last {
                guard digits.first == "x" else { throw TilePathError("every tile index segment but the last begins with 'x'") }
                digits = digits.dropFirst()
            }
            guard digits.utf8.count == 3, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(digits) else {
                throw TilePathError("a tile index segment is three decimal digits, not '\(segment.prefix(8))'")
            }
            index = index * 1000 + value
        }
        guard encodeIndex(index) == segments.joined(separator: "/") else {
            throw TilePathError("the tile index is not in its one canonical form (no leading 'x000/' segments)")
        }
        guard index < (MerkleTree.maxSize >> ((level ?? 0) * height + 8)) else {
            throw TilePathError("the tile index \(index) is beyond any tree this log can hold")
        }
        return Tile(level: level, index: index, width: width)
    }

    /// The width of tile `index` at `level` (nil = entry bundle) in a tree of `treeSize` leaves:
    /// 256 when full, 1…255 when it is the partial rightmost tile, nil when it does not exist.
    public static func width(level: Int?, index: Int, treeSize: Int) -> Int? {
        let nodes = treeSize >> ((level ?? 0) * height)   // complete nodes at this tile's tree level
        let full = nodes / fullWidth
        if index < full { return fullWidth }
        if index == full, nodes % fullWidth > 0 { return nodes % fullWidth }
        return nil
    }

    /// Every tile (hash tiles of all levels and entry bundles) a tree of `treeSize` leaves has
    /// in its rightmost column: the ones a new checkpoint makes servable.
    public static func partialTiles(treeSize: Int) -> [Tile] {
        var tiles: [Tile] = []
        var level = 0
        while level <= maxLevel, treeSize >> (level * height) > 0 {
            let nodes = treeSize >> (level * height)
            if nodes % fullWidth > 0 { tiles.append(Tile(level: level, index: nodes / fullWidth, width: nodes % fullWidth)) }
            level += 1
        }
        if treeSize % fullWidth > 0 { tiles.append(Tile(level: nil, index: treeSize / fullWidth, width: treeSize % fullWidth)) }
        return tiles
    }

    /// The tile's bytes: its hashes concatenated.
    public static func tileData(_ hashes: [[UInt8]]) -> [UInt8] {
        Array(hashes.joined())
    }

    /// Encodes an entry bundle: each entry as a big-endian uint16 length and its bytes.
    public static func encodeEntryBundle(_ entries: [[UInt8]]) throws(TilePathError) -> [UInt8] {
        guard entries.count <= fullWidth else { throw TilePathError("an entry bundle holds at most 256 entries, not \(entries.count)") }
        var out: [UInt8] = []
        for (position, entry) in entries.enumerated() {
            guard entry.count <= Int(UInt16.max) else {
                throw TilePathError("entry #\(position) has \(entry.count) bytes; an entry bundle holds entries up to 65535 bytes")
            }
            out.append(UInt8(entry.count >> 8))
            out.append(UInt8(entry.count & 0xFF))
            out.append(contentsOf: entry)
        }
        return out
    }

    /// Decodes an entry bundle, refusing truncated data and more than 256 entries.
    public static func decodeEntryBundle(_ bytes: [UInt8]) throws(TilePathError) -> [[UInt8]] {
        var entries: [[UInt8]] = []
        var at = 0
        while at < bytes.count {
            guard entries.count < fullWidth else { throw TilePathError("the entry bundle holds more than 256 entries") }
            guard at + 2 <= bytes.count else { throw TilePathError("the entry bundle ends inside a length prefix") }
            let length = Int(bytes[at]) << 8 | Int(bytes[at + 1])
            at += 2
            guard at + length <= bytes.count else { throw TilePathError("entry #\(entries.count) is cut short: \(length) bytes announced") }
            entries.append(Array(bytes[at..<(at + length)]))
            at += length
        }
        return entries
    }

    static func decimal(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 3, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            text.utf8.count == 1 || text.utf8.first != 0x30
        else { return nil }
        return Int(text)
    }
}

/// Why a tile path or entry bundle is not acceptable.
public struct TilePathError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
