/// A signature over payload bytes by an AID's keys at a claimed establishment event: the CESR v1
/// `-F` TransIdxSigGroups group `-FAB` + prefix + `0A` sequence number + SAID + `-A##` signatures.
public struct KERIProof: Sendable, Hashable {
    /// The AID that signs.
    public let prefix: String
    /// The claimed establishment event's sequence number.
    public let sn: UInt64
    /// The claimed establishment event's SAID.
    public let said: String
    /// The indexed signatures (index into that event's `k`).
    public let signatures: [KERIIndexedSignature]

    public init(prefix: String, sn: UInt64, said: String, signatures: [KERIIndexedSignature]) {
        self.prefix = prefix
        self.sn = sn
        self.said = said
        self.signatures = signatures
    }

    /// Parses exactly one `-F` group; any trailing text is refused.
    public init(cesr text: String, limits: KERILimits = .default) throws(KERIError) {
        let bytes = Array(text.utf8)
        guard bytes.count <= limits.maxStreamBytes else { throw KERIError(.limitExceeded, "the proof has more than \(limits.maxStreamBytes) bytes") }
        let all = bytes[...]
        var position = 0
        do throws(KERIError) {
            guard bytes.first == UInt8(ascii: "-") else {
                throw KERIError(.malformedProof, "a proof starts with the count code -FAB")
            }
            let group = try CESRCounter.read(all, at: &position)
            guard group.code == "-F" else {
                throw KERIError(.malformedProof, "a proof is a '-F' TransIdxSigGroups group, not '\(group.code)'")
            }
            guard group.count == 1 else { throw KERIError(.malformedProof, "a proof holds exactly one signature group, not \(group.count)") }
            let pre = try CESRMatter.read(all, at: &position, allowed: [.blake3_256, .ed25519, .ed25519NonTransferable])
            guard pre.code == .blake3_256 else {
                throw KERIError(.basicPrefixUnsupported, "the proof's prefix is basic ('\(pre.code.rawValue)'); only self-addressing AIDs are supported")
            }
            let seq = try CESRMatter.read(all, at: &position, allowed: [.salt128])
            guard seq.raw.prefix(8).allSatisfy({ $0 == 0 }) else { throw KERIError(.malformedProof, "the proof's sequence number is beyond 2^64") }
            let sn = seq.raw.suffix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let said = try CESRMatter.read(all, at: &position, allowed: [.blake3_256])
            guard position < bytes.count, bytes[position] == UInt8(ascii: "-") else {
                throw KERIError(.malformedProof, "the proof's signatures must follow as an '-A' group")
            }
            let sigs = try CESRCounter.read(all, at: &position)
            guard sigs.code == "-A" else { throw KERIError(.malformedProof, "the proof's signatures must be an '-A' group, not '\(sigs.code)'") }
            guard sigs.count >= 1, sigs.count <= limits.maxSignaturesPerEvent else {
                throw KERIError(sigs.count == 0 ? .malformedProof : .limitExceeded,
                                "a proof carries 1…\(limits.maxSignaturesPerEvent) signatures, not \(sigs.count)")
            }
            var signatures: [KERIIndexedSignature] = []
            for _ in 0..<sigs.count { signatures.append(try KERIIndexedSignature.read(all, at: &position)) }
            guard position == bytes.count else { throw KERIError(.malformedProof, "\(bytes.count - position) characters follow the proof's signature group") }
            self.init(prefix: pre.qb64, sn: sn, said: said.qb64, signatures: signatures)
        } catch {
            guard error.code == .truncated || error.code == .malformedStream else { throw error }
            throw KERIError(.malformedProof, "the proof is not a CESR v1 '-F' group: \(error.message)")
        }
    }

    /// The proof as CESR v1 text.
    public var cesr: String {
        var sequence = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 { sequence[15 - index] = UInt8(truncatingIfNeeded: sn >> (8 * UInt64(index))) }
        return CESRCounter.text("-F", count: 1) + prefix + CESRMatter(code: .salt128, raw: sequence).qb64 + said
            + CESRCounter.text("-A", count: signatures.count) + signatures.map(\.qb64).joined()
    }
}

/// Which key states a signature may claim.
///
/// KERI events carry no time: a signature by a rotated-out key that claims the old establishment
/// event is byte-identical to an honest signature made before the rotation. So by default only the
/// latest establishment event counts; older ones need evidence (see ``KERIHistoricalEvidence``).
public struct KERIKeyStatePolicy: Sendable, Hashable, CustomStringConvertible {
    private enum Kind: String { case latestOnly = "latest-only", historical }
    private let kind: Kind

    /// The claimed establishment event must be the latest one of the KEL (the default).
    public static let latestOnly = KERIKeyStatePolicy(kind: .latestOnly)
    /// An older establishment event is accepted with evidence that the payload was signed while it
    /// was current: the payload's Blake3-256 digest anchored as a seal `{"d":"E…"}` in an event at
    /// or after the claimed one, or the verifier's own record (``KERIHistoricalEvidence``).
    public static let historical = KERIKeyStatePolicy(kind: .historical)

    /// The policy named `latest-only` or `historical`.
    public init?(name: String) {
        guard let kind = Kind(rawValue: name) else { return nil }
        self.kind = kind
    }

    private init(kind: Kind) { self.kind = kind }

    /// `latest-only` or `historical`.
    public var name: String { kind.rawValue }
    public var description: String { kind.rawValue }
}

/// Evidence, held by the verifier, that a signature under an older key state was made while that
/// state was current.
public struct KERIHistoricalEvidence: Sendable, Hashable {
    /// The verifier saw and verified this signature (first seen) while the claimed establishment
    /// event was the latest one of the KEL it held (for example a stored receipt or agreement).
    public var recordedWhileLatest: Bool

    public init(recordedWhileLatest: Bool = false) { self.recordedWhileLatest = recordedWhileLatest }

    /// No evidence beyond the KEL itself.
    public static let none = KERIHistoricalEvidence()
}

/// A proof that verified, and the key state it verified under.
public struct KERIProofVerification: Sendable, Hashable {
    /// The key state of the claimed establishment event.
    public let state: KERIKeyState
    /// The distinct key indices whose signatures verified (at least the state's `kt`).
    public let verifiedIndices: [Int]
    /// The signing keys (`D…`) of ``verifiedIndices``.
    public var verifiedKeys: [String] { verifiedIndices.map { state.keys[$0] } }
    /// Whether the claimed event is the latest establishment event of the KEL.
    public let isLatest: Bool
    /// The sequence number of the first event at or after the claimed one that anchors the
    /// payload's digest, if any.
    public let anchoredAtSN: UInt64?
}

extension KERIKeyEventLog {
    /// The key state a proof claims: its AID must be this KEL's, its (sn, SAID) an event of the
    /// KEL, and that event an establishment event.
    public func claimedState(of proof: KERIProof) throws(KERIError) -> KERIKeyState {
        guard proof.prefix == prefix else { throw KERIError(.aidMismatch, "the proof is by \(proof.prefix), not by this KEL's AID \(prefix)") }
        guard proof.sn <= lastSN else {
            throw KERIError(.unknownEvent, "the proof claims sn \(proof.sn), but the KEL ends at sn \(lastSN)")
        }
        let event = events[Int(proof.sn)]
        guard event.said == proof.said else {
            throw KERIError(.unknownEvent, "the proof claims SAID \(proof.said) at sn \(proof.sn), but the KEL's event there is \(event.said)")
        }
        guard let state = establishmentState(atSN: proof.sn) else {
            throw KERIError(.notEstablishment, "the proof claims sn \(proof.sn), an interaction event; key states are established by icp and rot")
        }
        return state
    }

    /// Verifies the proof's signatures over `payload` under the claimed key state, without policy:
    /// every signature must name a key of that state and verify; distinct indices must reach `kt`.
    public func verifySignatures(of proof: KERIProof, payload: [UInt8]) throws(KERIError) -> KERIProofVerification {
        let state = try claimedState(of: proof)
        guard proof.signatures.count <= limits.maxSignaturesPerEvent else {
            throw KERIError(.limitExceeded, "more than \(limits.maxSignaturesPerEvent) signatures")
        }
        let indices = try KERIKeyEventLog.verifiedIndices(proof.signatures, keys: state.keyBytes, message: payload)
        guard indices.count >= state.signingThreshold else {
            throw KERIError(.signingThresholdNotMet,
                            "\(indices.count) distinct key(s) signed; 'kt' of the establishment event sn \(state.sn) requires \(state.signingThreshold)")
        }
        return KERIProofVerification(state: state, verifiedIndices: indices.sorted(), isLatest: state.sn == latestState.sn,
                                     anchoredAtSN: anchoringSN(ofDigest: KERI.digest(payload), atOrAfter: state.sn))
    }

    /// Verifies a proof over `payload` under a key-state policy.
    ///
    /// - Throws: ``KERIError`` naming why: the claim (``KERIError/Code/aidMismatch``,
    ///   ``KERIError/Code/unknownEvent``, ``KERIError/Code/notEstablishment``), the signatures
    ///   (``KERIError/Code/invalidSignature``, ``KERIError/Code/signingThresholdNotMet``) or the policy
    ///   (``KERIError/Code/staleKeyState``, ``KERIError/Code/noHistoricalEvidence``).
    public func verify(proof: KERIProof, payload: [UInt8], policy: KERIKeyStatePolicy = .latestOnly,
                       evidence: KERIHistoricalEvidence = .none) throws(KERIError) -> KERIProofVerification {
        let result = try verifySignatures(of: proof, payload: payload)
        try check(result.state, policy: policy, anchored: result.anchoredAtSN != nil, evidence: evidence)
        return result
    }

    /// The key state of the establishment event (sn, SAID), if `policy` allows signing under it —
    /// for signatures that are not `-F` groups (for example `eddsa-jcs-2022` proofs that name a key
    /// of the AID and the event). `anchoredDigest` is the Blake3-256 qb64 (``KERI/digest(_:)``) of
    /// what was signed, looked up as a seal in events at or after the claimed one (historical policy).
    public func keyState(sn: UInt64, said: String, policy: KERIKeyStatePolicy = .latestOnly, anchoredDigest: String? = nil,
                         evidence: KERIHistoricalEvidence = .none) throws(KERIError) -> KERIKeyState {
        let state = try claimedState(of: KERIProof(prefix: prefix, sn: sn, said: said, signatures: []))
        let anchored = anchoredDigest.flatMap { anchoringSN(ofDigest: $0, atOrAfter: sn) } != nil
        try check(state, policy: policy, anchored: anchored, evidence: evidence)
        return state
    }

    /// The first event at or after `sn` whose `a` holds the digest seal `{"d": digest}`.
    public func anchoringSN(ofDigest digest: String, atOrAfter sn: UInt64) -> UInt64? {
        guard sn <= lastSN else { return nil }
        return events[Int(sn)...].first { $0.anchoredDigests.contains(digest) }?.sn
    }

    func check(_ state: KERIKeyState, policy: KERIKeyStatePolicy, anchored: Bool, evidence: KERIHistoricalEvidence) throws(KERIError) {
        if state.sn == latestState.sn { return }
        if policy == .latestOnly {
            throw KERIError(.staleKeyState,
                            "the signature claims establishment event sn \(state.sn), but the latest is sn \(latestState.sn) (\(latestState.said)); policy latest-only")
        }
        guard anchored || evidence.recordedWhileLatest else {
            throw KERIError(.noHistoricalEvidence,
                            "the signature claims the older establishment event sn \(state.sn); policy historical needs the signed digest anchored in the KEL at or after it, or a first-seen record")
        }
    }
}
