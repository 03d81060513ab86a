public import CausewayCore
public import CausewayTrust
public import Crypto
import Foundation

/// The gateway as the controller of a KERI AID (`causeway keys new --keri`): its current key is the
/// ordinary key file (`identity:`), the pre-rotated next key a second private file beside it, and
/// the AID's KEL a public CESR file beside them:
///
/// ```text
/// causeway-key.json          current signing key (0600) — what `identity:` names
/// causeway-key.next.json     the next key, committed by digest in the latest establishment event (0600)
/// causeway-key.kel.cesr      the KEL (public)
/// ```
///
/// Without the KEL file the gateway signs as its did:key, as before.
public struct GatewayKERIIdentity: Sendable {
    /// The AID's validated KEL.
    public let log: KERIKeyEventLog
    /// `did:keri:AID`, or `did:webs:HOST[:PATH]:AID` when `keri.webs` is set.
    public let did: String

    public var aid: String { log.prefix }

    /// The receipt signer: the DID and the latest establishment event.
    public var signer: ReceiptSigner.KERISigner { .init(did: did, state: log.latestState) }

    public init(log: KERIKeyEventLog, webs: String?) {
        self.log = log
        did = webs.map { "did:webs:\($0):\(log.prefix)" } ?? "did:keri:\(log.prefix)"
    }

    /// The next-key and KEL files of a key file: `NAME.next.json` and `NAME.kel.cesr` for `NAME.json`.
    public static func files(forKeyFile path: String) -> (next: String, kel: String) {
        let base = path.hasSuffix(".json") ? String(path.dropLast(5)) : path
        return (base + ".next.json", base + ".kel.cesr")
    }

    /// Loads the KEL beside the key file, if there is one, and checks that the key file holds the
    /// AID's current (single) signing key. Nil when the identity is a plain did:key.
    public static func load(keyFile: String, identity: SigningIdentity, webs: String?) throws(KERIIdentityError) -> GatewayKERIIdentity? {
        let kelPath = files(forKeyFile: keyFile).kel
        guard FileManager.default.fileExists(atPath: kelPath) else { return nil }
        guard let data = FileManager.default.contents(atPath: kelPath) else { throw KERIIdentityError("cannot read \(kelPath)") }
        let log: KERIKeyEventLog
        do {
            log = try KERIKeyEventLog(validating: Array(data))
        } catch {
            throw KERIIdentityError("\(kelPath) is not a valid KEL: \(error)")
        }
        let key = KERI.qb64(publicKey: Array(identity.privateKey.publicKey.rawRepresentation))
        guard log.latestState.keys == [key] else {
            throw KERIIdentityError(
                "the key file's key \(key) is not the current signing key of \(log.prefix) at sn \(log.latestState.sn) (\(log.latestState.keys.joined(separator: ", "))); "
                    + "an interrupted 'causeway keys rotate' leaves the new key in the .next.json file: run 'causeway keys rotate --resume'")
        }
        return GatewayKERIIdentity(log: log, webs: webs)
    }

    /// The did:webs DID document the KEL implies (a cache of it; `keri.cesr` is the authority).
    public var didDocument: JSONObject {
        let methods: [JSONValue] = log.latestState.keys.map { key in
            let raw = log.latestState.keyBytes[log.latestState.index(ofKey: key) ?? 0]
            return .object(JSONObject([
                ("id", .string("#" + key)), ("type", "JsonWebKey"), ("controller", .string(did)),
                ("publicKeyJwk", .object(JSONObject([("kid", .string(key)), ("kty", "OKP"), ("crv", "Ed25519"),
                                                      ("x", .string(Base64URL.encode(raw)))]))),
            ]))
        }
        let references = JSONValue.array(log.latestState.keys.map { .string("#" + $0) })
        return JSONObject([
            ("id", .string(did)), ("verificationMethod", .array(methods)), ("authentication", references),
            ("assertionMethod", references), ("alsoKnownAs", .array([.string("did:keri:" + aid)])),
        ])
    }

    /// `GET /v1/identity`: the DID, AID and key state.
    public var json: JSONObject {
        let state = log.latestState
        return JSONObject([
            ("did", .string(did)), ("aid", .string(aid)),
            ("keyState", .object(JSONObject([
                ("s", .string(String(state.sn, radix: 16))), ("d", .string(state.said)), ("keys", .array(state.keys.map(JSONValue.string))),
                ("kt", .string(String(state.signingThreshold, radix: 16))), ("n", .array(state.nextKeyDigests.map(JSONValue.string))),
                ("nt", .string(String(state.nextThreshold, radix: 16))),
            ]))),
            ("lastEvent", .object(JSONObject([("s", .string(String(log.lastSN, radix: 16))), ("d", .string(log.lastSAID))]))),
            ("kel", .string("/\(aid)/keri.cesr")),
        ])
    }
}

/// The gateway's KERI identity files are unusable; the message names the file and the fix.
public struct KERIIdentityError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Base64url without padding (JWK `x`).
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
