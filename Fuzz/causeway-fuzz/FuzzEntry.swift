// The fuzz target: read → canonicalize → verify, on arbitrary bytes; and, for inputs that begin
// with the byte 0x01, the verifier on an agreement built from the input with many proofs,
// previousProof references, delegation credentials and parties (issue 11, finding 1), checking
// that the work stays within the bounds of `VerificationLimits`.
//
// `scripts/fuzz` builds this with `-sanitize=fuzzer -DCAUSEWAY_FUZZING`, and `main` hands control to
// libFuzzer's driver. A plain build makes a replay tool instead: `causeway-fuzz FILE|DIR…` runs
// saved inputs (a corpus, or a crash reproducer) through the same function.
import CausewayCore
@_spi(Testing) import CausewayTrust
import Foundation

/// One input. Must never crash or hang, whatever the bytes.
func fuzzOne(_ bytes: [UInt8]) {
    if bytes.first == 0x01 {
        fuzzMany(Array(bytes.dropFirst()))
        return
    }
    let reader = JSONReader(limits: .init(maxBytes: 1 << 20, maxDepth: 64))
    guard let value = try? reader.read(bytes) else { return }
    // Canonical form is stable: canonicalizing the canonical text gives the same bytes.
    let canonical = JCS.canonicalize(value)
    guard let again = try? reader.read(canonical) else { fatalError("canonical output does not parse") }
    precondition(JCS.canonicalize(again) == canonical, "JCS is not idempotent")
    guard let agreement = try? Agreement(value) else { return }
    let report = AgreementVerifier().verify(agreement)
    _ = report.json
    if case .object(let object) = value, object["type"]?.stringValue == PurchaseAgreement.typeName {
        _ = PurchaseAgreement.check(object)
    }
}

/// Keys and a signed credential, made once.
enum ManyFixture {
    static func identity(_ seed: UInt8) -> SigningIdentity {
        guard let identity = try? SigningIdentity(seed: [UInt8](repeating: seed, count: 32)) else { fatalError("seed") }
        return identity
    }
    static let seller = identity(21)
    static let buyer = identity(22)
    static let agent = identity(23)
    static let now = Timestamp(epochSeconds: 1_795_167_300)  // 2026-11-20T09:35:00Z, just after the proofs
    static let credential: JSONObject = {
        let unsigned: JSONObject = [
            "type": "DelegationCredential", "v": 1, "id": "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001",
            "issuer": .string(seller.didKey.did), "agent": .string(agent.didKey.did),
            "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2027-01-01T00:00:00Z",
            "scope": ["roles": ["seller"], "maxTotal": ["amount": "50000.00", "currency": "EUR"]],
        ]
        guard let signed = try? EddsaJcs2022.addProof(to: unsigned, signer: seller, options: .init(created: "2026-01-01T00:00:00Z"))
        else { fatalError("credential") }
        return signed
    }()
}

/// Builds an agreement from the input — byte 0: proofs, 1: credentials, 2: parties (each up to
/// 40, so over the limits too), 3: flags; the rest chooses `previousProof` references — and
/// verifies it, checking the bounds on work and findings.
func fuzzMany(_ input: [UInt8]) {
    var bytes = input.makeIterator()
    func next() -> Int { Int(bytes.next() ?? 0) }
    let proofCount = next() % 41
    let credentialCount = next() % 41
    let partyCount = next() % 41
    let flags = next()
    let f = ManyFixture.self
    var document: JSONObject = [
        "type": "PurchaseAgreement", "id": "urn:uuid:11111111-2222-4333-8444-555555555555",
        "issued": .string(flags & 0x08 != 0 ? "2099-01-01T00:00:00Z" : "2026-11-20T09:30:00Z"), "currency": "EUR",
        "lines": [["sku": "A", "description": "Bearing", "quantity": "2", "unit": "pcs", "unitPrice": "7.85"]],
        "total": "15.70",
    ]
    var parties: JSONObject = ["buyer": ["id": .string(f.buyer.didKey.did)], "seller": ["id": .string(f.seller.didKey.did)]]
    for index in 0..<partyCount { parties["r\(index)"] = ["id": .string(ManyFixture.identity(UInt8(100 + index % 100)).didKey.did)] }
    document["parties"] = .object(parties)
    if flags & 0x01 != 0 { document["@context"] = ["https://w3id.org/a", "https://example.org/b"] }
    if credentialCount > 0 { document["delegations"] = .array(Array(repeating: .object(f.credential), count: credentialCount)) }
    // Genuine proofs by the agent (with the credential) and the buyer, then copies that differ
    // in id, previousProof or context (their signatures fail, but each is checked).
    let created = flags & 0x04 != 0 ? "2099-01-01T00:00:00Z" : "2026-11-20T09:31:00Z"
    var extra: [(String, JSONValue)] = [("delegation", .object(f.credential))]
    if flags & 0x02 != 0 { extra.append(("expires", "2020-01-01T00:00:00Z")) }
    guard var signed = try? EddsaJcs2022.addProof(to: document, signer: f.agent, options: .init(created: created, id: "urn:p:0", extraMembers: extra)),
        let withBuyer = try? EddsaJcs2022.addProof(to: signed, signer: f.buyer, options: .init(created: created, id: "urn:p:1"))
    else { fatalError("signing") }
    signed = withBuyer
    var proofs = signed["proof"]?.arrayValue ?? []
    while proofs.count < proofCount, case .object(var copy)? = proofs.last {
        copy["id"] = .string(flags & 0x20 != 0 ? "urn:p:1" : "urn:p:\(proofs.count)")
        let references = next() % 24  // over maxPreviousProofs at times
        if references > 0 {
            copy["previousProof"] = .array((0..<references).map { _ in .string("urn:p:\(next() % (proofCount + 2))") })
        }
        if flags & 0x10 != 0 { copy["@context"] = ["https://w3id.org/a"] }
        proofs.append(.object(copy))
    }
    signed["proof"] = .array(proofs)
    let limits = VerificationLimits.default
    let report = AgreementVerifier(limits: limits, now: f.now).verify(Agreement(signed))
    _ = report.json
    let work = report.work
    precondition(report.findings.count <= limits.maxFindings + 1, "findings not capped")
    precondition(work.signatureChecks <= limits.maxProofs + limits.maxDelegations * limits.maxDelegationProofs, "too many signature checks")
    precondition(work.documentHashes <= limits.maxProofs + 1 + limits.maxDelegations * (limits.maxDelegationProofs + 1), "too many hashes")
    precondition(work.credentialsRead <= limits.maxDelegations, "a credential read twice")
    precondition(work.scopeChecks <= limits.maxParties * limits.maxDelegations, "too many scope checks")
    // The genuine agent and buyer proofs verify unless the input made them stale or over a limit.
    if flags & 0x0E == 0, proofCount <= 2, credentialCount == 0, partyCount == 0 {
        precondition(report.verified, "a genuine agreement was refused: \(report.findings)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzOne(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if CAUSEWAY_FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@main
enum FuzzDriver {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzTestOneInput(data, size) })
    }
}
#else
@main
enum Replay {
    static func main() {
        var count = 0
        for argument in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("causeway-fuzz: \(argument): no such file\n".utf8))
                exit(2)
            }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []).sorted().map { argument + "/" + $0 }
                : [argument]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                fuzzOne(Array(data))
                count += 1
            }
        }
        print("replayed \(count) inputs without a crash")
    }
}
#endif
