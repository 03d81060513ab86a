public import CausewayCore

/// A KERI v1 key event (icp, rot or ixn) read from its exact bytes and checked on its own:
/// field list and order, canonical serialization, field forms, SAID, and for an inception the
/// self-addressing prefix. Whether it fits its KEL (sequence, prior, signatures, pre-rotation) is
/// checked by ``KERIKeyEventLog``.
public struct KERIEvent: Sendable, Hashable {
    /// The event types supported.
    public enum Ilk: String, Sendable, Hashable {
        /// Inception: the AID's first keys and next-key commitments.
        case inception = "icp"
        /// Rotation: new keys that expose the prior commitments, and new commitments.
        case rotation = "rot"
        /// Interaction: anchors data (seals) under the current keys.
        case interaction = "ixn"

        /// The fields of the event type in their required order (keripy `SerderKERI.Fields` v1.0).
        public var fields: [String] {
            switch self {
            case .inception: ["v", "t", "d", "i", "s", "kt", "k", "nt", "n", "bt", "b", "c", "a"]
            case .rotation: ["v", "t", "d", "i", "s", "p", "kt", "k", "nt", "n", "bt", "br", "ba", "a"]
            case .interaction: ["v", "t", "d", "i", "s", "p", "a"]
            }
        }

        /// Whether the event establishes keys.
        public var isEstablishment: Bool { self != .interaction }
    }

    /// The exact bytes (what was signed and hashed).
    public let raw: [UInt8]
    public let ilk: Ilk
    /// `d`: the event's SAID.
    public let said: String
    /// `i`: the AID.
    public let prefix: String
    /// `s`: the sequence number.
    public let sn: UInt64
    /// `p`: the prior event's SAID (nil for an inception).
    public let prior: String?
    /// `k`: the signing keys as qb64 (`D…`); empty for an interaction.
    public let keys: [String]
    /// The 32-byte raw keys, in the order of ``keys``.
    public let keyBytes: [[UInt8]]
    /// `kt`: the signing threshold (0 for an interaction).
    public let signingThreshold: Int
    /// `n`: the next-key digests (empty for an interaction).
    public let nextKeyDigests: [String]
    /// `nt`: the next threshold (0 for an interaction).
    public let nextThreshold: Int
    /// `c`: configuration traits of an inception (`EO`, `DND`).
    public let traits: [String]
    /// `a`: the anchored seals and data, as read.
    public let anchors: [JSONValue]

    /// The digest seals (`{"d":"E…"}`) among ``anchors``.
    public var anchoredDigests: [String] {
        anchors.compactMap { anchor in
            guard let object = anchor.objectValue, object.count == 1, let digest = object["d"]?.stringValue else { return nil }
            return digest
        }
    }

    /// The byte ranges of `d` (and of `i` for an inception) in a canonical v1 event with a
    /// three-letter ilk: `{"v":"KERI10JSONxxxxxx_","t":"icp","d":"` is 40 bytes.
    static let saidRange = 40..<84
    static let inceptionPrefixRange = 91..<135

    /// Reads and checks one event.
    public init(raw: [UInt8], limits: KERILimits = .default) throws(KERIError) {
        let value: JSONValue
        do {
            value = try JSONReader(limits: .init(maxBytes: max(raw.count, 1), maxDepth: 16)).read(raw)
        } catch {
            throw KERIError(.invalidJSON, "the event body is not strict JSON: \(error)")
        }
        guard let object = value.objectValue else { throw KERIError(.invalidJSON, "the event body is not a JSON object") }
        guard let ilkText = object["t"]?.stringValue else { throw KERIError(.fieldList, "the event has no string 't' (event type)") }
        guard let ilk = Ilk(rawValue: ilkText) else {
            if ilkText == "dip" || ilkText == "drt" {
                throw KERIError(.delegationUnsupported, "event type '\(ilkText)' is a delegated event; delegation is not supported")
            }
            throw KERIError(.unsupportedIlk, "event type '\(ilkText)' is not supported (icp, rot, ixn are)")
        }
        guard object.keys == ilk.fields else {
            throw KERIError(.fieldList, "a '\(ilk.rawValue)' event must have exactly the fields \(ilk.fields.joined(separator: ",")) in this order; it has \(object.keys.joined(separator: ","))")
        }
        guard KERICanonicalJSON.bytes(value) == raw else {
            throw KERIError(.nonCanonical, "the event is not in compact canonical JSON (no spaces, minimal escaping, UTF-8)")
        }
        let sizeHex = String(raw.count, radix: 16)
        let expectedVersion = "KERI10JSON" + String(repeating: "0", count: max(0, 6 - sizeHex.count)) + sizeHex + "_"
        guard object["v"]?.stringValue == expectedVersion else {
            throw KERIError(.badVersionSize, "'v' must be \"\(expectedVersion)\" for an event of \(raw.count) bytes")
        }
        self.raw = raw
        self.ilk = ilk
        let sn = try KERIEvent.hexNumber(object, "s", maxDigits: 16)
        self.sn = UInt64(sn)
        said = try KERIEvent.digestField(object, "d")
        let prefixText = try KERIEvent.stringField(object, "i")
        let prefixMatter: CESRMatter
        do {
            prefixMatter = try CESRMatter(qb64: prefixText)
        } catch {
            throw KERIError(.invalidField, "'i' is not a qb64 prefix: \(error.message)")
        }
        switch prefixMatter.code {
        case .blake3_256: break
        case .ed25519, .ed25519NonTransferable:
            throw KERIError(.basicPrefixUnsupported, "'i' is a basic prefix ('\(prefixMatter.code.rawValue)'); only self-addressing prefixes ('E') are supported")
        default:
            throw KERIError(.invalidField, "'i' is not a self-addressing prefix")
        }
        prefix = prefixText
        prior = ilk == .inception ? nil : try KERIEvent.digestField(object, "p")
        guard let anchors = object["a"]?.arrayValue else { throw KERIError(.invalidField, "'a' must be a list") }
        self.anchors = anchors

        if ilk.isEstablishment {
            guard object["kt"]?.arrayValue == nil, object["nt"]?.arrayValue == nil else {
                throw KERIError(.weightedThresholdUnsupported, "weighted thresholds ('kt'/'nt' as lists of fractions) are not supported")
            }
            let keyList = try KERIEvent.stringList(object, "k", limit: limits.maxKeysPerEvent)
            var raws: [[UInt8]] = []
            for key in keyList {
                let matter: CESRMatter
                do {
                    matter = try CESRMatter(qb64: key)
                } catch {
                    throw KERIError(error.code == .unsupportedCode ? .unsupportedKeyType : error.code, "'k': \(error.message)")
                }
                guard matter.code == .ed25519 else {
                    throw KERIError(.unsupportedKeyType, "'k' holds a '\(matter.code.rawValue)' key; only transferable Ed25519 keys ('D') are supported")
                }
                if let problem = Ed25519Encoding.problem(withPoint: matter.raw) {
                    throw KERIError(.weakKey, "'k' holds a key that is \(problem == .smallOrder ? "a point of small order" : "not canonically encoded"); signatures by it prove nothing")
                }
                raws.append(matter.raw)
            }
            guard Set(keyList).count == keyList.count else { throw KERIError(.thresholdOutOfRange, "'k' lists a key twice") }
            let next = try KERIEvent.stringList(object, "n", limit: limits.maxKeysPerEvent)
            for digest in next {
                do {
                    _ = try CESRMatter(qb64: digest)
                } catch {
                    throw KERIError(error.code, "'n': \(error.message)")
                }
                guard digest.utf8.first == UInt8(ascii: "E") else {
                    throw KERIError(.unsupportedDigest, "'n' holds a digest that is not Blake3-256 ('E')")
                }
            }
            guard Set(next).count == next.count else { throw KERIError(.thresholdOutOfRange, "'n' lists a digest twice") }
            let kt = try KERIEvent.hexNumber(object, "kt", maxDigits: 4)
            let nt = try KERIEvent.hexNumber(object, "nt", maxDigits: 4)
            guard kt >= 1, kt <= keyList.count else {
                throw KERIError(.thresholdOutOfRange, "'kt' is \(kt) for \(keyList.count) keys; it must be 1…\(keyList.count)")
            }
            guard nt <= next.count, nt >= 1 || next.isEmpty else {
                throw KERIError(.thresholdOutOfRange, "'nt' is \(nt) for \(next.count) next-key digests; it must be 1…\(next.count) (0 only with no next keys)")
            }
            guard object["bt"]?.stringValue == "0" else {
                throw KERIError(.witnessesUnsupported, "'bt' must be \"0\": witnesses are not supported")
            }
            let witnessFields = ilk == .inception ? ["b"] : ["br", "ba"]
            for field in witnessFields {
                guard let list = object[field]?.arrayValue, list.isEmpty else {
                    throw KERIError(.witnessesUnsupported, "'\(field)' must be []: witnesses are not supported")
                }
            }
            keys = keyList
            keyBytes = raws
            signingThreshold = kt
            nextKeyDigests = next
            nextThreshold = nt
        } else {
            keys = []
            keyBytes = []
            signingThreshold = 0
            nextKeyDigests = []
            nextThreshold = 0
        }
        if ilk == .inception {
            let config = try KERIEvent.stringList(object, "c", limit: 8)
            for trait in config where trait != "EO" && trait != "DND" {
                throw KERIError(.unsupportedTrait, "configuration trait '\(trait)' is not supported (EO and DND are)")
            }
            traits = config
            guard sn == 0 else { throw KERIError(.sequenceGap, "an inception must have 's' \"0\"") }
        } else {
            traits = []
        }
        try checkSAID()
    }

    /// Checks `d` (and for an inception `i`) against the Blake3-256 of the event with those
    /// values replaced by 44 `#`.
    func checkSAID() throws(KERIError) {
        var dummied = raw
        for index in KERIEvent.saidRange { dummied[index] = UInt8(ascii: "#") }
        if ilk == .inception {
            for index in KERIEvent.inceptionPrefixRange { dummied[index] = UInt8(ascii: "#") }
        }
        let computed = KERI.digest(dummied)
        guard computed == said else {
            throw KERIError(.saidMismatch, "'d' is \(said) but the event's Blake3-256 SAID is \(computed)")
        }
        if ilk == .inception, prefix != said {
            throw KERIError(.prefixMismatch, "the inception's 'i' must be its SAID \(said) (self-addressing prefix)")
        }
    }

    static func stringField(_ object: JSONObject, _ name: String) throws(KERIError) -> String {
        guard let text = object[name]?.stringValue else { throw KERIError(.invalidField, "'\(name)' must be a string") }
        return text
    }

    static func digestField(_ object: JSONObject, _ name: String) throws(KERIError) -> String {
        let text = try stringField(object, name)
        let matter: CESRMatter
        do {
            matter = try CESRMatter(qb64: text)
        } catch {
            throw KERIError(error.code == .unsupportedCode ? .invalidField : error.code, "'\(name)': \(error.message)")
        }
        guard matter.code == .blake3_256 else { throw KERIError(.unsupportedDigest, "'\(name)' must be a Blake3-256 digest ('E…')") }
        return text
    }

    static func stringList(_ object: JSONObject, _ name: String, limit: Int) throws(KERIError) -> [String] {
        guard let list = object[name]?.arrayValue else { throw KERIError(.invalidField, "'\(name)' must be a list of strings") }
        guard list.count <= limit else { throw KERIError(.limitExceeded, "'\(name)' has \(list.count) entries; the limit is \(limit)") }
        var out: [String] = []
        for item in list {
            guard let text = item.stringValue else { throw KERIError(.invalidField, "'\(name)' must be a list of strings") }
            out.append(text)
        }
        return out
    }

    /// A lowercase hex number without leading zeros.
    static func hexNumber(_ object: JSONObject, _ name: String, maxDigits: Int) throws(KERIError) -> Int {
        guard let text = object[name]?.stringValue else { throw KERIError(.invalidField, "'\(name)' must be a hex string") }
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= maxDigits,
            bytes.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }),
            bytes.count == 1 || bytes[0] != UInt8(ascii: "0"),
            let value = UInt64(text, radix: 16), value <= UInt64(Int.max)
        else {
            throw KERIError(.invalidField, "'\(name)' must be lowercase hex without leading zeros, at most \(maxDigits) digits")
        }
        return Int(value)
    }
}

/// The compact JSON that keripy signs: `json.dumps(sad, separators=(",", ":"), ensure_ascii=False)`.
/// Member order as given; only `"`, `\` and control characters are escaped (`\b \f \n \r \t`,
/// others as `\u00xx`); everything else is written as UTF-8.
public enum KERICanonicalJSON {
    /// The canonical bytes of a value.
    public static func bytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        write(value, into: &out)
        return out
    }

    static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out += Array("null".utf8)
        case .bool(let flag): out += Array((flag ? "true" : "false").utf8)
        case .number(let number):
            if number == number.rounded(), abs(number) < 9_007_199_254_740_992 {
                out += Array(String(Int64(number)).utf8)
            } else {
                out += Array(ECMAScriptNumber.format(number).utf8)
            }
        case .string(let text): writeString(text, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (index, member) in object.members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
