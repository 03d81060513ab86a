import CausewayCore
import Testing

/// C2SP tlog-tiles paths, tile contents and entry bundles.
@Suite("tlog-tiles: paths, tile node ids, entry bundles")
struct MerkleTilesTests {
    @Test("index encoding as the spec's examples give it")
    func indexEncoding() {
        #expect(TlogTiles.encodeIndex(1_234_067) == "x001/x234/067")
        #expect(TlogTiles.encodeIndex(0) == "000")
        #expect(TlogTiles.encodeIndex(999) == "999")
        #expect(TlogTiles.encodeIndex(1000) == "x001/000")
    }

    @Test("paths round-trip", arguments: [
        ("tile/0/x001/x234/067", TlogTiles.Tile(level: 0, index: 1_234_067)),
        ("tile/1/000.p/17", TlogTiles.Tile(level: 1, index: 0, width: 17)),
        ("tile/entries/x001/067.p/1", TlogTiles.Tile(level: nil, index: 1067, width: 1)),
        ("tile/entries/272", TlogTiles.Tile(level: nil, index: 272)),
    ])
    func roundTrip(path: String, tile: TlogTiles.Tile) throws {
        #expect(try TlogTiles.parse(path: path) == tile)
        #expect(tile.path == path)
    }

    @Test("malformed paths are refused", arguments: [
        "tile/01/000", "tile/0/00", "tile/0/0000", "tile/0/001/002", "tile/0/x000/001", "tile/0/000.p/256", "tile/0/000.p/0",
        "tile/0/000.p/017", "tile/0/000.p", "tile/7/000", "tile/8/000", "tile/64/000", "tile/5/x999/000",
        "tile/0/x001/x000/x000/x000/x000/x000/000", "tile/0/x999/x999/x999/x999/x999/x999/x999/999", "tiles/0/000", "tile/0/", "tile/0/abc", "tile/entries/000.p/",
    ])
    func malformed(path: String) {
        #expect(throws: TilePathError.self) { try TlogTiles.parse(path: path) }
    }

    @Test("a tile at level L, index N, width W holds the level-8L nodes 256N ..< 256N+W")
    func nodeIDs() {
        let tile = TlogTiles.Tile(level: 1, index: 2, width: 3)
        #expect(tile.nodeIDs == [MerkleNodeID(level: 8, index: 512), MerkleNodeID(level: 8, index: 513), MerkleNodeID(level: 8, index: 514)])
        #expect(tile.leafRange == (512 * 256)..<(515 * 256))
    }

    @Test("the spec's example: a tree of 70,000 has 273 full level-0 tiles, partials of 112, 17 and 1")
    func widths() {
        #expect(TlogTiles.width(level: 0, index: 272, treeSize: 70_000) == 256)
        #expect(TlogTiles.width(level: 0, index: 273, treeSize: 70_000) == 112)
        #expect(TlogTiles.width(level: 0, index: 274, treeSize: 70_000) == nil)
        #expect(TlogTiles.width(level: 1, index: 0, treeSize: 70_000) == 256)
        #expect(TlogTiles.width(level: 1, index: 1, treeSize: 70_000) == 17)
        #expect(TlogTiles.width(level: 2, index: 0, treeSize: 70_000) == 1)
        #expect(TlogTiles.partialTiles(treeSize: 70_000).map(\.path) == ["tile/0/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1", "tile/entries/273.p/112"])
        // A tree of 256: one full level-0 tile and a partial level-1 tile of width 1.
        #expect(TlogTiles.partialTiles(treeSize: 256).map(\.path) == ["tile/1/000.p/1"])
    }

    @Test("a level-1 tile's hashes are the roots of full level-0 tiles")
    func levelOneHashes() async throws {
        let data = (0..<600).map { [UInt8(truncatingIfNeeded: $0), UInt8($0 >> 8)] }
        let tree = InMemoryMerkleTree(leafData: data)
        let tile = TlogTiles.Tile(level: 1, index: 0, width: TlogTiles.width(level: 1, index: 0, treeSize: 600)!)
        #expect(tile.width == 2)
        let hashes = try await tree.merkleNodes(tile.nodeIDs)
        for (position, id) in tile.nodeIDs.enumerated() {
            let alone = InMemoryMerkleTree(leafData: data[(256 * position)..<(256 * position + 256)])
            #expect(hashes[id] == (try await MerkleTree.root(size: 256, from: alone)), "hash \(position)")
        }
        #expect(TlogTiles.tileData(tile.nodeIDs.map { hashes[$0]! }).count == 64)
    }

    @Test("entry bundles: big-endian uint16 length prefixes, round trip, bounds")
    func entryBundles() throws {
        let entries: [[UInt8]] = [[], [0x41], Array(repeating: 0x42, count: 300)]
        let bytes = try TlogTiles.encodeEntryBundle(entries)
        #expect(Array(bytes.prefix(5)) == [0x00, 0x00, 0x00, 0x01, 0x41])
        #expect(Array(bytes[5..<7]) == [0x01, 0x2C])
        #expect(try TlogTiles.decodeEntryBundle(bytes) == entries)
        #expect(throws: TilePathError.self) { try TlogTiles.decodeEntryBundle(Array(bytes.dropLast())) }
        #expect(throws: TilePathError.self) { try TlogTiles.decodeEntryBundle([0x00]) }
        #expect(throws: TilePathError.self) { try TlogTiles.encodeEntryBundle([Array(repeating: 0, count: 65_536)]) }
        #expect(throws: TilePathError.self) { try TlogTiles.decodeEntryBundle(Array(repeating: 0, count: 2 * 257)) }
    }
}
