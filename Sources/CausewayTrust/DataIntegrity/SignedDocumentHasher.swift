import CausewayCore
import Crypto

/// The hashes of the forms of one document that its proofs sign, each computed at most once.
///
/// A proof signs the document without `proof`; a proof with its own `@context` signs it with that
/// context in place of the document's; a chained proof (`previousProof`) signs it with `proof` set
/// to the proofs it names. Before issue 11 each proof re-canonicalized the whole document for
/// these, so many proofs multiplied the work by the body size. Here the body is canonicalized
/// member by member once, and each distinct form (context, chain) is hashed once by streaming
/// those bytes with the replaced members spliced in at their JCS position.
struct SignedDocumentHasher {
    /// A form of the document: the proof's `@context` (canonical bytes) when it replaces the
    /// document's, and the indices of the proofs a chain names.
    struct Form: Hashable {
        var context: [UInt8]?
        var chain: [Int]?
    }

    /// The document's `@context`, measured once.
    struct Context {
        /// JCS of the whole value.
        let bytes: [UInt8]
        /// JCS of each entry (one entry when the value is not an array).
        let entries: [[UInt8]]
    }

    let document: JSONObject
    private var body: [UInt8]?
    private var cache: [Form: [UInt8]] = [:]
    /// Members other than `proof` and `@context`, as canonical `"name":value` bytes in JCS order.
    private var members: [(key: String, bytes: [UInt8])]?
    private var measuredContext = false
    private var context: Context?

    init(document: JSONObject, canonicalBody: [UInt8]?) {
        self.document = document
        body = canonicalBody
    }

    /// The document's `@context`, or `nil` when it has none or it is over the limits
    /// (`isContextTooLarge` tells which).
    mutating func documentContext(limits: VerificationLimits) -> (context: Context?, tooLarge: Bool) {
        guard let value = document["@context"] else { return (nil, false) }
        if !measuredContext {
            measuredContext = true
            let entries = value.arrayValue ?? [value]
            if entries.count <= limits.maxContextEntries {
                let bytes = JCS.canonicalize(value)
                if bytes.count <= limits.maxContextBytes {
                    context = Context(bytes: bytes, entries: entries.map(JCS.canonicalize))
                }
            }
        }
        return (context, context == nil)
    }

    /// SHA-256 of the form. `proofBytes[i]` is JCS of proof `i`, for the chain.
    mutating func hash(_ form: Form, proofBytes: [[UInt8]?], work: inout VerificationWork) -> [UInt8] {
        if let hit = cache[form] { return hit }
        let digest: [UInt8]
        if form.context == nil, form.chain == nil {
            let bytes = body ?? JCS.canonicalize(.object(document.removing("proof")))
            body = bytes
            work.documentHashes += 1
            work.hashedBytes += bytes.count
            digest = Array(SHA256.hash(data: bytes))
        } else {
            digest = hashVariant(form, proofBytes: proofBytes, work: &work)
        }
        cache[form] = digest
        return digest
    }

    private mutating func hashVariant(_ form: Form, proofBytes: [[UInt8]?], work: inout VerificationWork) -> [UInt8] {
        if members == nil {
            var list: [(key: String, bytes: [UInt8])] = []
            list.reserveCapacity(document.count)
            for (key, value) in document where !key.isExactly("proof") && !key.isExactly("@context") {
                let single = JCS.canonicalize(.object(JSONObject([(key, value)])))
                list.append((key, Array(single.dropFirst().dropLast())))
            }
            list.sort { JCS.precedes($0.key, $1.key) }
            members = list
        }
        // The members this form replaces or adds, in JCS order ("@context" precedes "proof").
        var extras: [(key: String, bytes: [UInt8])] = []
        let contextValue = form.context ?? document["@context"].map(JCS.canonicalize)
        if let contextValue { extras.append(("@context", Array("\"@context\":".utf8) + contextValue)) }
        if let chain = form.chain {
            var bytes = Array("\"proof\":[".utf8)
            for (position, index) in chain.enumerated() {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes += proofBytes[index] ?? []
            }
            bytes.append(UInt8(ascii: "]"))
            extras.append(("proof", bytes))
        }
        var sha = SHA256()
        var count = 0
        var first = true
        func emit(_ bytes: [UInt8]) {
            if !first {
                sha.update(data: [UInt8(ascii: ",")])
                count += 1
            }
            first = false
            sha.update(data: bytes)
            count += bytes.count
        }
        sha.update(data: [UInt8(ascii: "{")])
        var next = 0
        for member in members ?? [] {
            while next < extras.count, JCS.precedes(extras[next].key, member.key) {
                emit(extras[next].bytes)
                next += 1
            }
            emit(member.bytes)
        }
        while next < extras.count {
            emit(extras[next].bytes)
            next += 1
        }
        sha.update(data: [UInt8(ascii: "}")])
        work.documentHashes += 1
        work.hashedBytes += count + 2
        return Array(sha.finalize())
    }
}
