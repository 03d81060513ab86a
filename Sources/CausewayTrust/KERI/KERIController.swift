public import CausewayCore
public import Crypto

/// Builds KERI v1 event bodies with their SAIDs: compact JSON in keripy's field order, version
/// string sized to the body, `d` (and an inception's `i`) set to the Blake3-256 SAID.
public enum KERIEventBuilder {
    /// An inception of a self-addressing AID with Ed25519 keys `keys` (`D…`) and pre-rotated
    /// `nextKeyDigests` (each ``KERI/nextKeyDigest(ofKey:)`` of a next key).
    public static func inception(keys: [String], signingThreshold: Int, nextKeyDigests: [String], nextThreshold: Int,
                                 traits: [String] = []) -> [UInt8] {
        let members: [(String, JSONValue)] = [
            ("v", ""), ("t", "icp"), ("d", ""), ("i", ""), ("s", "0"),
            ("kt", .string(hex(signingThreshold))), ("k", .array(keys.map(JSONValue.string))),
            ("nt", .string(hex(nextThreshold))), ("n", .array(nextKeyDigests.map(JSONValue.string))),
            ("bt", "0"), ("b", []), ("c", .array(traits.map(JSONValue.string))), ("a", []),
        ]
        return saidify(members, dummyPrefix: true)
    }

    /// A rotation of `prefix` to `keys` at `sn`, after the event `prior`.
    public static func rotation(prefix: String, sn: UInt64, prior: String, keys: [String], signingThreshold: Int,
                                nextKeyDigests: [String], nextThreshold: Int, anchors: [JSONValue] = []) -> [UInt8] {
        let members: [(String, JSONValue)] = [
            ("v", ""), ("t", "rot"), ("d", ""), ("i", .string(prefix)), ("s", .string(String(sn, radix: 16))), ("p", .string(prior)),
            ("kt", .string(hex(signingThreshold))), ("k", .array(keys.map(JSONValue.string))),
            ("nt", .string(hex(nextThreshold))), ("n", .array(nextKeyDigests.map(JSONValue.string))),
            ("bt", "0"), ("br", []), ("ba", []), ("a", .array(anchors)),
        ]
        return saidify(members, dummyPrefix: false)
    }

    /// An interaction of `prefix` at `sn`, after `prior`, anchoring `anchors` (for example
    /// `{"d": KERI.digest(payload)}` digest seals).
    public static func interaction(prefix: String, sn: UInt64, prior: String, anchors: [JSONValue]) -> [UInt8] {
        let members: [(String, JSONValue)] = [
            ("v", ""), ("t", "ixn"), ("d", ""), ("i", .string(prefix)), ("s", .string(String(sn, radix: 16))), ("p", .string(prior)),
            ("a", .array(anchors)),
        ]
        return saidify(members, dummyPrefix: false)
    }

    /// A digest seal anchoring `payload`: `{"d": "E…"}`.
    public static func digestSeal(of payload: some Collection<UInt8>) -> JSONValue {
        .object(JSONObject([("d", .string(KERI.digest(payload)))]))
    }

    static func hex(_ value: Int) -> String { String(value, radix: 16) }

    static func saidify(_ members: [(String, JSONValue)], dummyPrefix: Bool) -> [UInt8] {
        var object = JSONObject(members)
        let dummy = JSONValue.string(String(repeating: "#", count: 44))
        object["d"] = dummy
        if dummyPrefix { object["i"] = dummy }
        object["v"] = "KERI10JSON000000_"
        let size = KERICanonicalJSON.bytes(.object(object)).count
        let sizeHex = String(size, radix: 16)
        object["v"] = .string("KERI10JSON" + String(repeating: "0", count: max(0, 6 - sizeHex.count)) + sizeHex + "_")
        let said = KERI.digest(KERICanonicalJSON.bytes(.object(object)))
        object["d"] = .string(said)
        if dummyPrefix { object["i"] = .string(said) }
        return KERICanonicalJSON.bytes(.object(object))
    }
}

/// The controller of one AID whose private keys this process holds: incepts, rotates to the
/// pre-rotated keys, interacts, and signs payloads as ``KERIProof``s. No I/O: the caller stores
/// ``log`` (``KERIKeyEventLog/cesr``) and the keys, the next keys apart from the current ones.
///
/// ```swift
/// var controller = try KERIController.incept(keys: [current], nextKeys: [next.publicKey])
/// let proof = try controller.sign(payload)                 // -F group under the inception
/// try controller.rotate(to: [next], nextKeys: [newNext.publicKey])
/// ```
public struct KERIController: Sendable {
    /// The AID's validated log, including every event this controller made.
    public private(set) var log: KERIKeyEventLog
    /// The current signing keys, in the order of the latest establishment event's `k`.
    public private(set) var keys: [Curve25519.Signing.PrivateKey]

    /// The AID.
    public var prefix: String { log.prefix }

    /// A controller for an existing log whose current keys are `keys` (checked against its latest state).
    public init(log: KERIKeyEventLog, keys: [Curve25519.Signing.PrivateKey]) throws(KERIError) {
        let qb64s = keys.map { KERI.qb64(publicKey: Array($0.publicKey.rawRepresentation)) }
        guard qb64s == log.latestState.keys else {
            throw KERIError(.invalidField, "the private keys are not the current keys of \(log.prefix) at sn \(log.latestState.sn)")
        }
        self.log = log
        self.keys = keys
    }

    /// Incepts a new AID with `keys` signing (threshold `signingThreshold`, default all) and
    /// commitments to `nextKeys` (threshold `nextThreshold`, default all).
    public static func incept(keys: [Curve25519.Signing.PrivateKey], nextKeys: [Curve25519.Signing.PublicKey],
                              signingThreshold: Int? = nil, nextThreshold: Int? = nil,
                              establishmentOnly: Bool = false) throws(KERIError) -> KERIController {
        let current = keys.map { KERI.qb64(publicKey: Array($0.publicKey.rawRepresentation)) }
        let next = nextKeys.map { KERI.nextKeyDigest(ofKey: KERI.qb64(publicKey: Array($0.rawRepresentation))) }
        let raw = KERIEventBuilder.inception(keys: current, signingThreshold: signingThreshold ?? keys.count, nextKeyDigests: next,
                                             nextThreshold: nextThreshold ?? nextKeys.count, traits: establishmentOnly ? ["EO"] : [])
        let signatures = try sign(raw, with: keys, ondices: keys.indices.map { $0 })
        let log = try KERIKeyEventLog(validating: [KERIMessage(raw: raw, signatures: signatures)])
        return try KERIController(log: log, keys: keys)
    }

    /// Rotates to `newKeys`, which must be the keys committed as next (all of them, or at least
    /// the prior `nt`), and commits to `nextKeys`. Returns the signed rotation message.
    @discardableResult
    public mutating func rotate(to newKeys: [Curve25519.Signing.PrivateKey], nextKeys: [Curve25519.Signing.PublicKey],
                                signingThreshold: Int? = nil, nextThreshold: Int? = nil,
                                anchors: [JSONValue] = []) throws(KERIError) -> KERIMessage {
        let prior = log.latestState
        let current = newKeys.map { KERI.qb64(publicKey: Array($0.publicKey.rawRepresentation)) }
        // Each new key signs with its index in the new list and its ondex in the prior `n`.
        let ondices = current.map { prior.nextKeyDigests.firstIndex(of: KERI.nextKeyDigest(ofKey: $0)) }
        let next = nextKeys.map { KERI.nextKeyDigest(ofKey: KERI.qb64(publicKey: Array($0.rawRepresentation))) }
        let raw = KERIEventBuilder.rotation(prefix: prefix, sn: log.lastSN + 1, prior: log.lastSAID, keys: current,
                                            signingThreshold: signingThreshold ?? newKeys.count, nextKeyDigests: next,
                                            nextThreshold: nextThreshold ?? nextKeys.count, anchors: anchors)
        let message = KERIMessage(raw: raw, signatures: try KERIController.sign(raw, with: newKeys, ondices: ondices))
        var extended = log
        try extended.append(contentsOf: [message][...])
        log = extended
        keys = newKeys
        return message
    }

    /// Anchors `anchors` in an interaction event signed by the current keys. Returns the message.
    @discardableResult
    public mutating func interact(anchors: [JSONValue]) throws(KERIError) -> KERIMessage {
        let raw = KERIEventBuilder.interaction(prefix: prefix, sn: log.lastSN + 1, prior: log.lastSAID, anchors: anchors)
        let message = KERIMessage(raw: raw, signatures: try KERIController.sign(raw, with: keys, ondices: keys.indices.map { $0 }))
        var extended = log
        try extended.append(contentsOf: [message][...])
        log = extended
        return message
    }

    /// Signs `payload` with every current key, under the latest establishment event.
    public func sign(_ payload: [UInt8]) throws(KERIError) -> KERIProof {
        let state = log.latestState
        let signatures = try KERIController.sign(payload, with: keys, ondices: keys.indices.map { $0 })
        return KERIProof(prefix: prefix, sn: state.sn, said: state.said, signatures: signatures)
    }

    static func sign(_ message: [UInt8], with keys: [Curve25519.Signing.PrivateKey], ondices: [Int?]) throws(KERIError) -> [KERIIndexedSignature] {
        var out: [KERIIndexedSignature] = []
        for (index, key) in keys.enumerated() {
            guard let signature = try? key.signature(for: message) else {
                throw KERIError(.invalidSignature, "Ed25519 signing with key \(index) failed")
            }
            out.append(KERIIndexedSignature(raw: Array(signature), index: index, ondex: ondices[index]))
        }
        return out
    }
}
