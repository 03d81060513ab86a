import Crypto

/// The key state established by an inception or rotation: what signs for the AID from that event
/// until the next rotation.
public struct KERIKeyState: Sendable, Hashable {
    /// The AID.
    public let prefix: String
    /// The establishment event's sequence number.
    public let sn: UInt64
    /// The establishment event's SAID.
    public let said: String
    /// `icp` or `rot`.
    public let ilk: KERIEvent.Ilk
    /// The signing keys (`D…`).
    public let keys: [String]
    /// The 32-byte raw signing keys, in the order of ``keys``.
    public let keyBytes: [[UInt8]]
    /// `kt`: how many distinct keys must sign.
    public let signingThreshold: Int
    /// `n`: the digests committing to the next keys.
    public let nextKeyDigests: [String]
    /// `nt`: how many of the next keys must expose their commitment at the next rotation.
    public let nextThreshold: Int

    init(_ event: KERIEvent) {
        prefix = event.prefix
        sn = event.sn
        said = event.said
        ilk = event.ilk
        keys = event.keys
        keyBytes = event.keyBytes
        signingThreshold = event.signingThreshold
        nextKeyDigests = event.nextKeyDigests
        nextThreshold = event.nextThreshold
    }

    /// The index of a key (`D…`) in ``keys``.
    public func index(ofKey qb64: String) -> Int? { keys.firstIndex(of: qb64) }

    /// Whether `signature` (64 bytes) by the key at `index` verifies over `message`. Refuses
    /// small-order or non-canonical R and unreduced S, as the KEL validation does.
    public func verifies(_ signature: [UInt8], byKeyAt index: Int, over message: [UInt8]) -> Bool {
        guard index >= 0, index < keyBytes.count else { return false }
        return KERIKeyEventLog.ed25519Verify(key: keyBytes[index], signature: signature, message: message)
    }
}

/// How a second KEL of an AID relates to one already accepted.
public enum KERIKELComparison: Sendable, Hashable {
    /// The same events.
    case identical
    /// The other KEL has these events and `count` more after them: an update.
    case extended(by: Int)
    /// The other KEL is a strict prefix of this one, `count` events shorter: stale or withheld.
    case regressed(by: Int)
    /// The two KELs hold different events at this sequence number: duplicity.
    case forked(atSN: UInt64)
    /// The other KEL is of another AID.
    case differentPrefix
}

/// A fully validated key event log of one AID: every event passed, or none is kept.
///
/// Strict, unlike keripy: one bad event (a signature that does not verify, an index out of range,
/// a gap, a second event at a sequence number) rejects the whole stream.
///
/// ```swift
/// let kel = try KERIKeyEventLog(validating: Array(cesrBytes))
/// kel.latestState.keys           // the current signing keys
/// try kel.verify(proof: proof, payload: bytes, policy: .latestOnly)
/// ```
public struct KERIKeyEventLog: Sendable {
    /// The AID (the inception's SAID).
    public let prefix: String
    /// The events in order; `events[n].sn == n`.
    public private(set) var events: [KERIEvent]
    /// The controller signatures of each event, as attached.
    public private(set) var signatures: [[KERIIndexedSignature]]
    /// The key state of every establishment event, in order.
    public private(set) var establishmentStates: [KERIKeyState]
    /// The key state in force after the last event (that of the latest establishment event).
    public private(set) var latestState: KERIKeyState
    /// Whether the inception forbids interaction events (`EO`).
    public let establishmentOnly: Bool
    /// The limits the log was validated under (also applied to extensions).
    public let limits: KERILimits

    /// Validates a CESR v1 stream that starts with the AID's inception.
    public init(validating bytes: [UInt8], limits: KERILimits = .default) throws(KERIError) {
        try self.init(validating: CESRStream.messages(bytes, limits: limits), limits: limits)
    }

    /// Validates messages that start with the AID's inception.
    public init(validating messages: [KERIMessage], limits: KERILimits = .default) throws(KERIError) {
        guard let first = messages.first else { throw KERIError(.emptyLog, "the stream holds no key event") }
        let inception = try KERIEvent(raw: first.raw, limits: limits).placed(sn: 0)
        guard inception.ilk == .inception else {
            throw KERIError(.notInception, "the first event must be an inception ('icp'), not '\(inception.ilk.rawValue)'", sn: inception.sn)
        }
        let state = KERIKeyState(inception)
        do throws(KERIError) {
            let indices = try KERIKeyEventLog.verifiedIndices(first.signatures, keys: state.keyBytes, message: first.raw)
            guard indices.count >= state.signingThreshold else {
                throw KERIError(.signingThresholdNotMet,
                                "\(indices.count) distinct key(s) signed the inception; 'kt' requires \(state.signingThreshold)")
            }
        } catch {
            throw error.at(sn: 0)
        }
        prefix = inception.prefix
        events = [inception]
        signatures = [first.signatures]
        establishmentStates = [state]
        latestState = state
        establishmentOnly = inception.traits.contains("EO")
        self.limits = limits
        try append(contentsOf: messages.dropFirst())
    }

    /// The sequence number of the last event.
    public var lastSN: UInt64 { UInt64(events.count - 1) }
    /// The SAID of the last event.
    public var lastSAID: String { events[events.count - 1].said }

    /// The key state of the establishment event at `sn`, or nil when there is none (no event, or an ixn).
    public func establishmentState(atSN sn: UInt64) -> KERIKeyState? {
        establishmentStates.first { $0.sn == sn }
    }

    /// The key state in force at `sn`: that of the latest establishment event at or before it.
    public func stateInForce(atSN sn: UInt64) -> KERIKeyState? {
        guard sn <= lastSN else { return nil }
        return establishmentStates.last { $0.sn <= sn }
    }

    /// The log as a CESR v1 stream: each event followed by one `-A` group of its signatures.
    public var cesr: [UInt8] {
        var out: [UInt8] = []
        for (event, sigs) in zip(events, signatures) { out += KERIMessage(raw: event.raw, signatures: sigs).cesr }
        return out
    }

    /// How `other` (a KEL of possibly the same AID) relates to this one; compares SAIDs by sn.
    public func comparison(with other: KERIKeyEventLog) -> KERIKELComparison {
        guard other.prefix == prefix else { return .differentPrefix }
        for (mine, theirs) in zip(events, other.events) where mine.said != theirs.said {
            return .forked(atSN: mine.sn)
        }
        if other.events.count == events.count { return .identical }
        return other.events.count > events.count ? .extended(by: other.events.count - events.count) : .regressed(by: events.count - other.events.count)
    }

    /// This log extended by the events of `bytes`, which may repeat any prefix of this log (a
    /// whole KEL as a party's server publishes it) or hold only new events. Repeated events must be
    /// identical (same SAID); a different event at a known sequence number is ``KERIError/Code/duplicity``.
    public func appending(_ bytes: [UInt8]) throws(KERIError) -> KERIKeyEventLog {
        var copy = self
        try copy.append(contentsOf: CESRStream.messages(bytes, limits: limits)[...])
        return copy
    }

    mutating func append(contentsOf messages: ArraySlice<KERIMessage>) throws(KERIError) {
        for message in messages {
            let event = try KERIEvent(raw: message.raw, limits: limits)
            do throws(KERIError) {
                try append(event, signatures: message.signatures)
            } catch {
                throw error.at(sn: event.sn)
            }
        }
    }

    mutating func append(_ event: KERIEvent, signatures sigs: [KERIIndexedSignature]) throws(KERIError) {
        if event.sn <= lastSN {
            let known = events[Int(event.sn)]
            guard known.said == event.said else {
                throw KERIError(.duplicity, "two different events at sn \(event.sn): \(known.said) and \(event.said)")
            }
            return  // the same event again
        }
        guard event.sn == lastSN + 1 else {
            throw KERIError(.sequenceGap, "event sn \(event.sn) follows sn \(lastSN); sn \(lastSN + 1) is missing")
        }
        guard events.count < limits.maxEvents else { throw KERIError(.limitExceeded, "the KEL has more than \(limits.maxEvents) events") }
        guard event.prefix == prefix else { throw KERIError(.prefixMismatch, "'i' is \(event.prefix), not the KEL's AID \(prefix)") }
        switch event.ilk {
        case .inception:
            throw KERIError(.notInception, "an inception can only be the first event")
        case .rotation:
            guard event.prior == lastSAID else { throw KERIError(.priorMismatch, "'p' is not the SAID of event sn \(lastSN) (\(lastSAID))") }
            let prior = latestState
            guard !prior.nextKeyDigests.isEmpty else {
                throw KERIError(.abandoned, "the AID is abandoned: establishment event sn \(prior.sn) committed to no next keys")
            }
            let indices = try KERIKeyEventLog.verifiedIndices(sigs, keys: event.keyBytes, message: event.raw)
            guard indices.count >= event.signingThreshold else {
                throw KERIError(.signingThresholdNotMet,
                                "\(indices.count) distinct new key(s) signed the rotation; its 'kt' requires \(event.signingThreshold)")
            }
            // The pre-rotation commitment: each verified signature with an ondex exposes the prior
            // next-key digest at that ondex when Blake3(qb64 text of the signing key) equals it.
            var exposed = Set<Int>()
            for signature in sigs where indices.contains(signature.index) {
                guard let ondex = signature.ondex, ondex < prior.nextKeyDigests.count else { continue }
                if KERI.nextKeyDigest(ofKey: event.keys[signature.index]) == prior.nextKeyDigests[ondex] { exposed.insert(ondex) }
            }
            guard exposed.count >= prior.nextThreshold else {
                throw KERIError(.preRotationViolated,
                                "the rotation's signing keys expose \(exposed.count) of the next-key digests committed at sn \(prior.sn); 'nt' there requires \(prior.nextThreshold)")
            }
            let state = KERIKeyState(event)
            establishmentStates.append(state)
            latestState = state
        case .interaction:
            guard event.prior == lastSAID else { throw KERIError(.priorMismatch, "'p' is not the SAID of event sn \(lastSN) (\(lastSAID))") }
            guard !establishmentOnly else {
                throw KERIError(.establishmentOnly, "the inception's 'c' has \"EO\" (establishment only): interaction events are not allowed")
            }
            let indices = try KERIKeyEventLog.verifiedIndices(sigs, keys: latestState.keyBytes, message: event.raw)
            guard indices.count >= latestState.signingThreshold else {
                throw KERIError(.signingThresholdNotMet,
                                "\(indices.count) distinct current key(s) signed the interaction; 'kt' at sn \(latestState.sn) requires \(latestState.signingThreshold)")
            }
        }
        events.append(event)
        signatures.append(sigs)
    }

    /// The distinct key indices whose signatures verify over `message`. Strict: every attached
    /// signature must name a key (index < count) and verify; a repeated index counts once.
    static func verifiedIndices(_ signatures: [KERIIndexedSignature], keys: [[UInt8]], message: [UInt8]) throws(KERIError) -> Set<Int> {
        var verified = Set<Int>()
        for signature in signatures {
            guard signature.index < keys.count else {
                throw KERIError(.invalidSignature, "a signature has index \(signature.index), but there are only \(keys.count) key(s)")
            }
            guard ed25519Verify(key: keys[signature.index], signature: signature.raw, message: message) else {
                throw KERIError(.invalidSignature, "the signature with index \(signature.index) does not verify under key \(signature.index)")
            }
            verified.insert(signature.index)
        }
        return verified
    }

    /// Ed25519 verification that also refuses small-order or non-canonical R and unreduced S.
    static func ed25519Verify(key: [UInt8], signature: [UInt8], message: [UInt8]) -> Bool {
        guard signature.count == 64, Ed25519Encoding.problem(withPoint: signature[0..<32]) == nil,
            Ed25519Encoding.isReducedScalar(signature[32..<64]),
            let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key)
        else { return false }
        return publicKey.isValidSignature(signature, for: message)
    }
}

extension KERIEvent {
    /// Checks that the first event is at sn 0 (so a stream starting with a later event is named).
    func placed(sn expected: UInt64) throws(KERIError) -> KERIEvent {
        guard sn == expected else {
            throw KERIError(.notInception, "the KEL must start at sn \(expected) with an inception; its first event has sn \(sn)", sn: sn)
        }
        return self
    }
}
