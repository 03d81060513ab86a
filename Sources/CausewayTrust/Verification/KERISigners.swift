public import CausewayCore
public import Crypto
import Foundation

/// A KERI decentralized identifier: `did:keri:AID` or `did:webs:HOST[:PATH…]:AID`.
///
/// The AID (a self-addressing `E…` prefix, 44 characters) is the last segment; for did:webs the
/// segments before it name where the AID's KEL is published (`https://HOST/PATH/AID/keri.cesr`).
public struct KERIDID: Sendable, Hashable {
    /// The DID as written.
    public let did: String
    /// The AID.
    public let aid: String
    /// For did:webs, the host (percent-decoded `%3A` → `:` for a port); nil for did:keri.
    public let host: String?
    /// For did:webs, the path segments between the host and the AID.
    public let path: [String]

    /// Parses `did:keri:AID` or `did:webs:HOST[:PATH]:AID`; nil for anything else.
    public init?(_ text: String) {
        guard text.utf8.count <= 512 else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, parts[0] == "did", let aid = parts.last, KERI.isAID(aid) else { return nil }
        switch parts[1] {
        case "keri":
            guard parts.count == 3 else { return nil }
            host = nil
            path = []
        case "webs":
            guard parts.count >= 4, !parts[2].isEmpty, parts[3..<(parts.count - 1)].allSatisfy({ !$0.isEmpty }) else { return nil }
            host = parts[2].replacingOccurrences(of: "%3A", with: ":").replacingOccurrences(of: "%3a", with: ":")
            path = Array(parts[3..<(parts.count - 1)])
        default:
            return nil
        }
        did = text
        self.aid = aid
    }

    /// Whether a verification method URL is a KERI one (`did:keri:…` or `did:webs:…`).
    public static func isKERIMethod(_ method: String) -> Bool {
        method.hasPrefix("did:keri:") || method.hasPrefix("did:webs:")
    }

    /// Whether a party's `did` is what a partner's role lists: the same text, or — when the
    /// listed entry is a bare AID — a did:keri or did:webs DID of that AID.
    public static func party(_ did: String, matches listed: String) -> Bool {
        if did.isExactly(listed) { return true }
        guard KERI.isAID(listed), let keri = KERIDID(did) else { return false }
        return keri.aid == listed
    }

    /// Whether `did` matches any of `listed` (see ``party(_:matches:)``).
    public static func party(_ did: String, matchesAnyOf listed: [String]) -> Bool {
        listed.contains { party(did, matches: $0) }
    }
}

/// What a KERI-signed eddsa-jcs-2022 proof claims: the signer's DID, AID and key, and the
/// establishment event (sn, SAID) it signs under — read from `verificationMethod`
/// (`DID#D…`) and the proof member `keriEvent` (`{"s": "<hex sn>", "d": "<SAID>"}`).
public struct KERISignerReference: Sendable, Hashable {
    /// The DID before `#`.
    public let did: String
    /// The AID (the DID's last segment).
    public let aid: String
    /// The signing key, qb64 (`D…`).
    public let key: String
    /// The claimed establishment event's sequence number.
    public let sn: UInt64
    /// The claimed establishment event's SAID.
    public let said: String

    enum Reading {
        case success((KERISignerReference, Curve25519.Signing.PublicKey))
        case failure(Finding)
    }

    /// Reads the reference from a proof; a finding names what is missing or malformed.
    static func read(method: String, proof: JSONObject, path: String) -> Reading {
        let at = path + "['verificationMethod']"
        let halves = method.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        guard halves.count == 2, let did = KERIDID(String(halves[0])) else {
            return .failure(Finding(.proofVerificationMethodInvalid,
                                    "a KERI 'verificationMethod' is did:keri:AID#D… or did:webs:HOST[:PATH]:AID#D… (the AID's current signing key)",
                                    path: at))
        }
        guard let matter = try? CESRMatter(qb64: String(halves[1])), matter.code == .ed25519 else {
            return .failure(Finding(.proofVerificationMethodInvalid,
                                    "the fragment of 'verificationMethod' must be the signing key's qb64, a transferable Ed25519 key 'D…'",
                                    path: at))
        }
        if Ed25519Encoding.problem(withPoint: matter.raw) != nil {
            return .failure(Finding(.didKeyWeak, "'verificationMethod' names a key that cannot sign (small order or non-canonical)", path: at))
        }
        guard let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: matter.raw) else {
            return .failure(Finding(.proofVerificationMethodInvalid, "the key in 'verificationMethod' is not an Ed25519 key", path: at))
        }
        let eventPath = path + "['keriEvent']"
        guard case .object(let event)? = proof["keriEvent"] else {
            return .failure(Finding(.keriEventMissing,
                                    "a KERI proof needs 'keriEvent': {\"s\": \"<hex sn>\", \"d\": \"<SAID>\"}, the establishment event it signs under",
                                    path: eventPath))
        }
        guard event.count == 2, let snText = event["s"]?.stringValue, let sn = KERISignerReference.hexNumber(snText) else {
            return .failure(Finding(.keriEventMissing,
                                    "'keriEvent' has exactly 's' (the sequence number, lowercase hex without leading zeros) and 'd'",
                                    path: eventPath + "['s']"))
        }
        guard let said = event["d"]?.stringValue, KERI.isAID(said) else {
            return .failure(Finding(.keriEventMissing, "'keriEvent.d' must be the event's SAID, 'E…' (44 characters)", path: eventPath + "['d']"))
        }
        return .success((KERISignerReference(did: did.did, aid: did.aid, key: matter.qb64, sn: sn, said: said), publicKey))
    }

    /// Strict lowercase hex without leading zeros, as KERI writes `s`.
    static func hexNumber(_ text: String) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 16, text == "0" || !text.hasPrefix("0"),
            text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { return nil }
        return UInt64(text, radix: 16)
    }

    /// The `keriEvent` proof member for a key state.
    public static func eventMember(sn: UInt64, said: String) -> JSONValue {
        .object(JSONObject([("s", .string(String(sn, radix: 16))), ("d", .string(said))]))
    }
}

/// Validated key event logs by AID, for the verifier. Synchronous and I/O-free: the caller (the
/// gateway's KEL cache, `causeway verify --kel`) fetched and validated them beforehand.
public protocol KERIKeyStateSource: Sendable {
    /// The validated KEL of `aid`, or nil when none is known.
    func keyEventLog(of aid: String) -> KERIKeyEventLog?
}

/// A fixed set of validated KELs.
public struct KERIKeyStates: KERIKeyStateSource {
    public var logs: [String: KERIKeyEventLog]

    public init(_ logs: [KERIKeyEventLog] = []) {
        self.logs = Dictionary(logs.map { ($0.prefix, $0) }, uniquingKeysWith: { _, last in last })
    }

    public func keyEventLog(of aid: String) -> KERIKeyEventLog? { logs[aid] }
}

/// The key state a KERI signer's proofs verified under: recorded in reports and provenance.
public struct KERIKeyStateUsed: Sendable, Hashable {
    public let aid: String
    public let sn: UInt64
    public let said: String
    /// The distinct keys (`D…`) that signed.
    public let keys: [String]

    public init(aid: String, sn: UInt64, said: String, keys: [String]) {
        self.aid = aid
        self.sn = sn
        self.said = said
        self.keys = keys
    }
}

/// Checks the verified KERI proofs of one signer (a party DID) against its AID's key state.
enum KERISignerCheck {
    /// The key state used when the proofs satisfy it, else the findings that say why not.
    ///
    /// Proofs are grouped by the establishment event they claim; a group is accepted when that
    /// event is in the KEL (and an establishment event), the policy allows it (latest-only: it is
    /// the latest; historical: older states need `anchored` — the KEL anchors a digest seal of the
    /// signed content at or after the event), every key is one of the event's keys, and the
    /// distinct key indices reach its `kt`. `acceptingAnyEstablishment` skips the policy (any
    /// establishment event of the KEL; the gateway's own receipts, dated by the ledger).
    static func evaluate(_ proofs: [ProofCheck], did: String, aid: String, keyStates: (any KERIKeyStateSource)?,
                         policy: KERIKeyStatePolicy, anchoredDigest: String?, path: String,
                         acceptingAnyEstablishment: Bool = false) -> (KERIKeyStateUsed?, [Finding])
    {
        guard let kel = keyStates?.keyEventLog(of: aid) else {
            return (nil, [Finding(.keriAIDUnknown,
                                  "no key event log is known for \(aid) (\(did)); its server publishes it (did:webs, POST /v1/kel) or the partner folder holds kel/\(aid).cesr",
                                  path: path)])
        }
        var findings: [Finding] = []
        var groups: [(sn: UInt64, said: String, proofs: [(ProofCheck, KERISignerReference)])] = []
        for check in proofs {
            guard let reference = check.keri else { continue }
            if let index = groups.firstIndex(where: { $0.sn == reference.sn && $0.said == reference.said }) {
                groups[index].proofs.append((check, reference))
            } else {
                groups.append((reference.sn, reference.said, [(check, reference)]))
            }
        }
        for group in groups {
            let at = group.proofs[0].0.path + "['keriEvent']"
            let state: KERIKeyState
            do {
                state = acceptingAnyEstablishment
                    ? try kel.claimedState(of: KERIProof(prefix: aid, sn: group.sn, said: group.said, signatures: []))
                    : try kel.keyState(sn: group.sn, said: group.said, policy: policy, anchoredDigest: anchoredDigest)
            } catch {
                switch error.code {
                case .staleKeyState:
                    findings.append(Finding(.keriKeyStateStale,
                                            "the proof signs under establishment event sn \(group.sn) of \(aid), but the latest is sn \(kel.latestState.sn); the partner's policy is latest-only, so rotated-out keys are refused",
                                            path: at))
                case .noHistoricalEvidence:
                    findings.append(Finding(.keriHistoricalUnproven,
                                            "the proof signs under the older establishment event sn \(group.sn) of \(aid); policy historical needs the agreement's digest (\(anchoredDigest ?? "?")) anchored in the KEL at or after it",
                                            path: at))
                case .notEstablishment:
                    findings.append(Finding(.keriEventUnknown,
                                            "the proof names sn \(group.sn) of \(aid), an interaction event; proofs sign under an establishment event (icp or rot)",
                                            path: at))
                default:
                    findings.append(Finding(.keriEventUnknown,
                                            "the proof names establishment event sn \(group.sn) (\(group.said)) of \(aid), which is not in its key event log (it ends at sn \(kel.lastSN)); a newer KEL may be needed",
                                            path: at))
                }
                continue
            }
            var indices = Set<Int>()
            var keyProblem = false
            for (check, reference) in group.proofs {
                guard let index = state.index(ofKey: reference.key) else {
                    findings.append(Finding(.keriKeyNotInEvent,
                                            "the key \(reference.key) is not a signing key of \(aid) at sn \(state.sn)",
                                            path: check.path + "['verificationMethod']"))
                    keyProblem = true
                    continue
                }
                indices.insert(index)
            }
            if keyProblem { continue }
            guard indices.count >= state.signingThreshold else {
                findings.append(Finding(.keriThresholdNotMet,
                                        "\(indices.count) distinct key(s) of \(aid) signed; its establishment event sn \(state.sn) requires \(state.signingThreshold) ('kt')",
                                        path: at))
                continue
            }
            let sorted = indices.sorted()
            return (KERIKeyStateUsed(aid: aid, sn: state.sn, said: state.said, keys: sorted.map { state.keys[$0] }), [])
        }
        return (nil, findings)
    }
}

/// Signing eddsa-jcs-2022 proofs as a KERI signer.
public enum KERISigning {
    /// Adds one proof per key (`keys[i]` must be the event's `k[i]` for some i) naming `did` and
    /// the establishment event `state`.
    public static func addProofs(to document: JSONObject, did: String, state: KERIKeyState, keys: [Curve25519.Signing.PrivateKey],
                                 created: String?) throws(ProofCreationError) -> JSONObject
    {
        var signed = document
        for key in keys {
            let qb64 = KERI.qb64(publicKey: Array(key.publicKey.rawRepresentation))
            guard state.index(ofKey: qb64) != nil else {
                throw ProofCreationError(message: "the key \(qb64) is not a signing key of \(state.prefix) at sn \(state.sn)")
            }
            let options = EddsaJcs2022.ProofOptions(created: created,
                                                    extraMembers: [("keriEvent", KERISignerReference.eventMember(sn: state.sn, said: state.said))],
                                                    verificationMethod: did + "#" + qb64)
            signed = try EddsaJcs2022.addProof(to: signed, signer: SigningIdentity(privateKey: key), options: options)
        }
        return signed
    }
}

extension FindingCode {
    /// A KERI proof lacks `keriEvent`, or it is malformed.
    public static let keriEventMissing: FindingCode = "keri.proof.event_missing"
    /// No validated key event log is known for the signer's AID.
    public static let keriAIDUnknown: FindingCode = "keri.aid_unknown"
    /// The claimed establishment event is not in the known KEL (or is an interaction).
    public static let keriEventUnknown: FindingCode = "keri.event_unknown"
    /// The claimed establishment event is not the latest, under the latest-only policy.
    public static let keriKeyStateStale: FindingCode = "keri.key_state_stale"
    /// An older establishment event without the evidence the historical policy asks for.
    public static let keriHistoricalUnproven: FindingCode = "keri.historical_unproven"
    /// The proof's key is not a signing key of the claimed establishment event.
    public static let keriKeyNotInEvent: FindingCode = "keri.key_not_in_event"
    /// Fewer distinct keys signed than the establishment event's `kt`.
    public static let keriThresholdNotMet: FindingCode = "keri.threshold_not_met"
}
