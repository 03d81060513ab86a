import ArgumentParser
import AsyncHTTPClient
import CausewayCore
import CausewayGateway
import CausewayTrust
import Foundation
import NIOCore
import NIOHTTP1

/// `causeway ledger watch`: a partner's own server audits a gateway's log. It keeps the last
/// checkpoint it verified in a state folder and accepts a new one only when it is signed by the
/// log's key and a consistency proof shows it extends the stored one.
struct LedgerWatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Audit a gateway's ledger: every new checkpoint must be signed and consistent with the last one seen.",
        discussion: """
            Fetches GET /v1/ledger/checkpoint, verifies the log's signature (--key VKEY, or --gateway-did DID with the \
            checkpoint origin as key name; the key is pinned in DIR on the first run), fetches the consistency proof \
            from the checkpoint stored in DIR and verifies it, then stores the new checkpoint (mode 0600, atomically). \
            A smaller tree (truncation), another root for the same size or a proof that does not verify (fork), or a \
            bad signature: a report naming both checkpoints, both kept in DIR/evidence, exit 1. \
            Exit 0 when consistent, 2 on usage or an unreachable gateway (with --interval, an unreachable gateway is \
            reported and tried again). Sends $CAUSEWAY_TOKEN as bearer token when set.
            """)

    @Option(name: .long, help: "The gateway's base URL, such as https://erp.acme.example.")
    var gateway: String

    @Option(name: .long, help: "The folder where the last verified checkpoint and the trusted key are kept.")
    var state: String

    @Option(name: .customLong("gateway-did"), help: "The gateway's did:key; its key signs checkpoints under their origin.")
    var gatewayDID: String?

    @Option(name: .long, help: "The log's verifier key (name+keyid+base64), instead of --gateway-did.")
    var key: String?

    @Flag(name: .long, help: "Check once and exit (the default).")
    var once = false

    @Option(name: .long, help: "Check every S seconds until a check fails.")
    var interval: Double?

    func validate() throws {
        if gatewayDID != nil, key != nil { throw ValidationError("give --gateway-did or --key, not both") }
        if once, interval != nil { throw ValidationError("give --once or --interval, not both") }
        if let interval, !(interval >= 0.1 && interval <= 86_400) { throw ValidationError("--interval must be 0.1 to 86400 seconds") }
        guard let url = URL(string: gateway), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
            throw ValidationError("--gateway must be an http(s) URL, such as https://erp.acme.example")
        }
    }

    func run() async throws {
        let watcher = try LedgerWatcher(gateway: gateway, state: state, gatewayDID: gatewayDID, key: key, token: GatewayClient.environmentToken())
        guard let interval else {
            let result = await watcher.check()
            if result.exitCode == 2 { throw CLIError(result.report) }
            print(result.report)
            if result.exitCode != 0 { throw ExitCode(result.exitCode) }
            return
        }
        while true {
            let result = await watcher.check()
            switch result.exitCode {
            case 0: print(result.report)
            case 2: FileHandle.standardError.write(Data("causeway: \(result.report); trying again in \(interval) s\n".utf8))
            default:
                print(result.report)
                throw ExitCode(result.exitCode)
            }
            try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
        }
    }
}

/// The watcher's state and one check; separate from the command so that a check's outcome is a value.
struct LedgerWatcher {
    struct Result {
        /// 0 consistent (or first run), 1 misbehaviour, 2 unusable or unreachable.
        let exitCode: Int32
        let report: String
    }

    let gateway: String
    let folder: String
    let token: String?
    /// The key given on the command line, if any: a vkey, or a DID whose note key takes the origin as name.
    let givenKey: NoteKey?
    let givenDID: DIDKey?

    var checkpointFile: String { "\(folder)/checkpoint" }
    var keyFile: String { "\(folder)/key" }

    init(gateway: String, state: String, gatewayDID: String?, key: String?, token: String?) throws(CLIError) {
        var base = gateway
        while base.hasSuffix("/") { base.removeLast() }
        self.gateway = base
        folder = state
        self.token = token
        do {
            givenKey = try key.map { (text) throws(NoteError) in try NoteKey(vkey: text) }
        } catch {
            throw CLIError("--key: \(error.message)")
        }
        if let givenKey, givenKey.kind != .ed25519 {
            throw CLIError("--key: \(givenKey.name) is a cosignature (witness) key; a log signs checkpoints with an Ed25519 (type 0x01) key")
        }
        do {
            givenDID = try gatewayDID.map { (text) throws(DIDKeyError) in try DIDKey(parsing: text) }
        } catch {
            throw CLIError("--gateway-did: \(error.message)")
        }
    }

    /// The trusted key for a checkpoint of `origin`: the pinned one, checked against what was given.
    func trustedKey(origin: String) throws(CLIError) -> NoteKey {
        let pinned: NoteKey?
        do {
            pinned = try PrivateFile.read(keyFile, maxBytes: 4096).map { try NoteKey(vkey: String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) }
        } catch {
            throw CLIError("\(keyFile): \(error) (the state folder is damaged; start a new one with another --state)")
        }
        var given = givenKey
        if given == nil, let givenDID {
            do { given = try NoteKey(name: origin, didKey: givenDID) } catch { throw CLIError("--gateway-did: \(error.message)") }
        }
        switch (pinned, given) {
        case (let pinned?, let given?) where pinned != given:
            throw CLIError("\(keyFile) trusts \(pinned.vkey), not the key given (\(given.vkey)); a log's key does not change silently. "
                + "Use another --state folder to watch with another key")
        case (let pinned?, _): return pinned
        case (nil, let given?): return given
        case (nil, nil): throw CLIError("no key to check the log's signature: give --gateway-did DID or --key VKEY on the first run")
        }
    }

    /// The checkpoint stored by the last successful check, if any.
    func stored() throws(CLIError) -> (note: String, checkpoint: Checkpoint)? {
        do {
            guard let bytes = try PrivateFile.read(checkpointFile, maxBytes: SignedNote.maxBytes) else { return nil }
            let note = try SignedNote(parsing: bytes)
            return (note.formatted, try Checkpoint(parsing: note.text))
        } catch {
            throw CLIError("\(checkpointFile): \(error) (the state folder is damaged; start a new one with another --state)")
        }
    }

    /// One check: fetch, verify the signature, prove consistency with the stored checkpoint, store.
    func check() async -> Result {
        do {
            return try await checkOrThrow()
        } catch let error as CLIError {
            return Result(exitCode: 2, report: error.message)
        } catch {
            return Result(exitCode: 2, report: "\(error)")
        }
    }

    func checkOrThrow() async throws -> Result {
        let old = try stored()
        let (status, text) = try await fetch("/v1/ledger/checkpoint")
        // 409 ledger.no_checkpoint: the gateway has signed none yet.
        let none = status == 409 && text.contains("ledger.no_checkpoint")
        if none, let old {
            return try misbehaviour("TRUNCATED", old: old, new: nil, text: nil,
                                    why: "the gateway has no checkpoint at all, but \(old.checkpoint.size) entries were checkpointed before: its log was emptied or replaced")
        }
        if none { return Result(exitCode: 0, report: "no checkpoint yet at \(gateway) (nothing stored)") }
        guard status == 200 else {
            throw CLIError("\(gateway)/v1/ledger/checkpoint answered \(status): \(text.prefix(200))"
                + (status == 401 || status == 403 ? " (set CAUSEWAY_TOKEN to a token the gateway accepts)" : ""))
        }

        // The signature, under the log's key.
        let note: SignedNote
        let checkpoint: Checkpoint
        do {
            note = try SignedNote(parsing: text)
            checkpoint = try Checkpoint(parsing: note.text)
        } catch {
            return try misbehaviour("BAD CHECKPOINT", old: old, new: nil, text: text, why: "the gateway's checkpoint is not a signed checkpoint note: \(error)")
        }
        if let old, old.checkpoint.origin != checkpoint.origin {
            return try misbehaviour("WRONG LOG", old: old, new: checkpoint, text: text,
                                    why: "the checkpoint is for the log '\(checkpoint.origin)', but this state folder watches '\(old.checkpoint.origin)'")
        }
        let key = try trustedKey(origin: checkpoint.origin)
        do {
            try note.verify(with: [key], requiring: [key])
        } catch {
            return try misbehaviour("BAD SIGNATURE", old: old, new: checkpoint, text: text, why: "the checkpoint's signature does not verify under \(key.vkey): \(error.message)")
        }

        guard let old else {
            try save(note: note.formatted, key: key)
            return Result(exitCode: 0, report: "first checkpoint of \(checkpoint.origin): size \(checkpoint.size), root \(Base64.encode(checkpoint.rootHash)); "
                + "signed by \(key.vkey); stored in \(folder) and checked against from now on")
        }
        if checkpoint.size < old.checkpoint.size {
            return try misbehaviour("TRUNCATED", old: old, new: checkpoint, text: text,
                                    why: "the gateway's tree has \(checkpoint.size) entries, fewer than the \(old.checkpoint.size) of the checkpoint stored: "
                                        + "entries \(checkpoint.size)…\(old.checkpoint.size - 1) were removed (a log never shrinks)")
        }
        var proof: [[UInt8]] = []
        if checkpoint.size > old.checkpoint.size, old.checkpoint.size > 0 {
            let path = "/v1/ledger/proof/consistency?from=\(old.checkpoint.size)&to=\(checkpoint.size)"
            let (proofStatus, proofText) = try await fetch(path)
            guard proofStatus == 200 else {
                return try misbehaviour("NO PROOF", old: old, new: checkpoint, text: text,
                                        why: "the gateway answered \(proofStatus) to \(path): it cannot show that its tree extends the stored one (\(proofText.prefix(200)))")
            }
            guard let hashes = Self.proofHashes(proofText) else {
                return try misbehaviour("BAD PROOF", old: old, new: checkpoint, text: text, why: "\(path) did not answer a JSON proof of base64 hashes")
            }
            proof = hashes
        }
        do {
            try MerkleTree.verifyConsistency(oldSize: old.checkpoint.size, newSize: checkpoint.size, oldRoot: old.checkpoint.rootHash,
                                             newRoot: checkpoint.rootHash, proof: proof)
        } catch {
            return try misbehaviour("FORK", old: old, new: checkpoint, text: text,
                                    why: checkpoint.size == old.checkpoint.size
                                        ? "two different roots for the same \(checkpoint.size) entries, both signed by the log"
                                        : "the consistency proof from \(old.checkpoint.size) to \(checkpoint.size) does not verify: \(error.message)")
        }
        if checkpoint.size == old.checkpoint.size {
            return Result(exitCode: 0, report: "unchanged: \(checkpoint.origin) size \(checkpoint.size), root \(Base64.encode(checkpoint.rootHash))")
        }
        try save(note: note.formatted, key: key)
        return Result(exitCode: 0, report: "consistent: \(checkpoint.origin) grew from \(old.checkpoint.size) to \(checkpoint.size) entries, "
            + "root \(Base64.encode(checkpoint.rootHash)); stored")
    }

    /// The hashes of a consistency proof answer: the first member that is a list of base64 hashes.
    static func proofHashes(_ text: String) -> [[UInt8]]? {
        guard let json = try? JSONReader().read(Array(text.utf8)), let object = json.objectValue else { return nil }
        for name in ["proof", "hashes", "consistency"] {
            guard let list = object[name]?.arrayValue, list.count <= MerkleTree.maxProofLength else { continue }
            let hashes = list.compactMap { $0.stringValue.flatMap { Base64.decodeCanonical($0) } }
            return hashes.count == list.count ? hashes : nil
        }
        return nil
    }

    func save(note: String, key: NoteKey) throws(CLIError) {
        do {
            try PrivateFile.write(Array((key.vkey + "\n").utf8), to: keyFile)
            try PrivateFile.write(Array(note.utf8), to: checkpointFile)
        } catch {
            throw CLIError("cannot store the checkpoint in \(folder): \(error)")
        }
    }

    /// The report of a failed check (exit 1); both checkpoints are kept in DIR/evidence.
    func misbehaviour(_ what: String, old: (note: String, checkpoint: Checkpoint)?, new: Checkpoint?, text: String?, why: String) throws -> Result {
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        var kept: [String] = []
        if let old {
            kept.append("\(folder)/evidence/\(stamp)-stored.checkpoint")
            try PrivateFile.write(Array(old.note.utf8), to: kept[kept.count - 1])
        }
        if let text {
            kept.append("\(folder)/evidence/\(stamp)-gateway.checkpoint")
            try PrivateFile.write(Array(text.utf8.prefix(SignedNote.maxBytes)), to: kept[kept.count - 1])
        }
        func line(_ checkpoint: Checkpoint?) -> String {
            checkpoint.map { "size \($0.size), root \(Base64.encode($0.rootHash))" } ?? "none"
        }
        let report = """
            ledger watch: \(what) — \(old?.checkpoint.origin ?? new?.origin ?? gateway) at \(gateway)
              stored checkpoint:  \(line(old?.checkpoint))
              gateway checkpoint: \(line(new))
              \(why)
              kept as evidence: \(kept.isEmpty ? "nothing" : kept.joined(separator: ", "))
              the stored checkpoint is unchanged
            """
        return Result(exitCode: 1, report: report)
    }

    /// GETs a path of the gateway as text; an unreachable gateway is a usage error (exit 2).
    func fetch(_ path: String) async throws(CLIError) -> (Int, String) {
        var request = HTTPClientRequest(url: gateway + path)
        request.headers.add(name: "User-Agent", value: "causeway-ledger-watch")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        do {
            let response = try await GatewayClient.client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: SignedNote.maxBytes + 4096)
            return (Int(response.status.code), String(buffer: body))
        } catch {
            throw CLIError("cannot reach the gateway at \(SecretRedaction.redacted(url: gateway + path)): \(error)")
        }
    }
}
