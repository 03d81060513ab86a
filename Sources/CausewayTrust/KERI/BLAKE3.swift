/// BLAKE3 in its default hash mode with a 32-byte output, written from the BLAKE3 specification
/// (O'Connor, Aumasson, Neves, Wilcox-O'Hearn, 2020): 1024-byte chunks of 64-byte blocks, a binary
/// tree of parent nodes whose left subtree is the largest power of two of chunks, seven rounds of
/// the ChaCha-style G function per compression.
///
/// KERI uses it for every event's SAID, for self-addressing prefixes and for the pre-rotation
/// commitments (`E…` digests). Keyed hashing, key derivation and extended output are not provided.
///
/// ```swift
/// BLAKE3.hash(Array("abc".utf8))  // 32 bytes, 6437b3ac…
/// ```
public enum BLAKE3 {
    /// The output size in bytes.
    public static let outputByteCount = 32

    static let iv: [UInt32] = [
        0x6A09_E667, 0xBB67_AE85, 0x3C6E_F372, 0xA54F_F53A, 0x510E_527F, 0x9B05_688C, 0x1F83_D9AB, 0x5BE0_CD19,
    ]
    static let permutation: [Int] = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]
    /// The message word order of each of the 7 rounds: round r reads block[schedule[16 r + i]],
    /// the permutation applied r times (so no round copies the message).
    static let schedule: [Int] = {
        var order = Array(0..<16)
        var table: [Int] = []
        for _ in 0..<7 {
            table += order
            order = permutation.map { order[$0] }
        }
        return table
    }()
    static let chunkStart: UInt32 = 1
    static let chunkEnd: UInt32 = 2
    static let parent: UInt32 = 4
    static let root: UInt32 = 8
    static let chunkLength = 1024
    static let blockLength = 64

    /// The 32-byte BLAKE3 hash of `input`.
    public static func hash(_ input: some Collection<UInt8>) -> [UInt8] {
        let bytes = Array(input)
        return bytes.withUnsafeBufferPointer { buffer in
            let words = rootWords(buffer)
            var out = [UInt8](repeating: 0, count: outputByteCount)
            for index in 0..<8 {
                let word = words[index]
                out[index * 4] = UInt8(truncatingIfNeeded: word)
                out[index * 4 + 1] = UInt8(truncatingIfNeeded: word >> 8)
                out[index * 4 + 2] = UInt8(truncatingIfNeeded: word >> 16)
                out[index * 4 + 3] = UInt8(truncatingIfNeeded: word >> 24)
            }
            return out
        }
    }

    /// The first 8 words of the root node's output.
    static func rootWords(_ input: UnsafeBufferPointer<UInt8>) -> [UInt32] {
        if input.count <= chunkLength { return chunk(input, counter: 0, isRoot: true) }
        let leftLength = leftSubtreeLength(input.count)
        let left = subtree(UnsafeBufferPointer(rebasing: input[0..<leftLength]), counter: 0)
        let right = subtree(UnsafeBufferPointer(rebasing: input[leftLength...]), counter: UInt64(leftLength / chunkLength))
        return parentNode(left, right, isRoot: true)
    }

    /// The chaining value of a non-root subtree starting at chunk `counter`.
    static func subtree(_ input: UnsafeBufferPointer<UInt8>, counter: UInt64) -> [UInt32] {
        if input.count <= chunkLength { return chunk(input, counter: counter, isRoot: false) }
        let leftLength = leftSubtreeLength(input.count)
        let left = subtree(UnsafeBufferPointer(rebasing: input[0..<leftLength]), counter: counter)
        let right = subtree(UnsafeBufferPointer(rebasing: input[leftLength...]),
                            counter: counter + UInt64(leftLength / chunkLength))
        return parentNode(left, right, isRoot: false)
    }

    /// The largest power-of-two number of whole chunks that leaves at least one byte on the right.
    static func leftSubtreeLength(_ length: Int) -> Int {
        let fullChunks = (length - 1) / chunkLength  // ≥ 1 because length > chunkLength
        var power = 1
        while power * 2 <= fullChunks { power *= 2 }
        return power * chunkLength
    }

    static func parentNode(_ left: [UInt32], _ right: [UInt32], isRoot: Bool) -> [UInt32] {
        compress(chainingValue: iv, block: left + right, counter: 0, blockLength: UInt32(blockLength),
                 flags: parent | (isRoot ? root : 0))
    }

    /// Compresses one chunk (at most 1024 bytes, possibly empty) to its chaining value.
    static func chunk(_ input: UnsafeBufferPointer<UInt8>, counter: UInt64, isRoot: Bool) -> [UInt32] {
        var cv = iv
        let blockCount = max(1, (input.count + blockLength - 1) / blockLength)
        var block = [UInt32](repeating: 0, count: 16)
        for blockIndex in 0..<blockCount {
            let start = blockIndex * blockLength
            let length = min(blockLength, input.count - start)
            for word in 0..<16 { block[word] = 0 }
            for offset in 0..<length {
                block[offset >> 2] |= UInt32(input[start + offset]) << (UInt32(offset & 3) * 8)
            }
            var flags: UInt32 = 0
            if blockIndex == 0 { flags |= chunkStart }
            if blockIndex == blockCount - 1 { flags |= chunkEnd | (isRoot ? root : 0) }
            cv = compress(chainingValue: cv, block: block, counter: counter, blockLength: UInt32(length), flags: flags)
        }
        return cv
    }

    /// The compression function; returns the first 8 output words (the chaining value).
    static func compress(chainingValue cv: [UInt32], block: [UInt32], counter: UInt64, blockLength: UInt32, flags: UInt32) -> [UInt32] {
        var s0 = cv[0], s1 = cv[1], s2 = cv[2], s3 = cv[3], s4 = cv[4], s5 = cv[5], s6 = cv[6], s7 = cv[7]
        var s8 = iv[0], s9 = iv[1], s10 = iv[2], s11 = iv[3]
        var s12 = UInt32(truncatingIfNeeded: counter), s13 = UInt32(truncatingIfNeeded: counter >> 32)
        var s14 = blockLength, s15 = flags

        @inline(__always) func g(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32, _ d: inout UInt32, _ x: UInt32, _ y: UInt32) {
            a = a &+ b &+ x
            d = (d ^ a).rotatedRight(16)
            c = c &+ d
            b = (b ^ c).rotatedRight(12)
            a = a &+ b &+ y
            d = (d ^ a).rotatedRight(8)
            c = c &+ d
            b = (b ^ c).rotatedRight(7)
        }

        schedule.withUnsafeBufferPointer { order in
            block.withUnsafeBufferPointer { words in
                for round in 0..<7 {
                    let o = 16 * round
                    @inline(__always) func m(_ i: Int) -> UInt32 { words[order[o + i]] }
                    g(&s0, &s4, &s8, &s12, m(0), m(1))
                    g(&s1, &s5, &s9, &s13, m(2), m(3))
                    g(&s2, &s6, &s10, &s14, m(4), m(5))
                    g(&s3, &s7, &s11, &s15, m(6), m(7))
                    g(&s0, &s5, &s10, &s15, m(8), m(9))
                    g(&s1, &s6, &s11, &s12, m(10), m(11))
                    g(&s2, &s7, &s8, &s13, m(12), m(13))
                    g(&s3, &s4, &s9, &s14, m(14), m(15))
                }
            }
        }
        return [s0 ^ s8, s1 ^ s9, s2 ^ s10, s3 ^ s11, s4 ^ s12, s5 ^ s13, s6 ^ s14, s7 ^ s15]
    }
}

extension UInt32 {
    @inline(__always) fileprivate func rotatedRight(_ count: UInt32) -> UInt32 {
        (self >> count) | (self << (32 - count))
    }
}
