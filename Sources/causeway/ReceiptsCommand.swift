import ArgumentParser
import CausewayCore
import CausewayTrust
import Foundation

/// `causeway receipts …`: work with receipt bundles a party received.
struct ReceiptsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipts",
        abstract: "Check receipt bundles offline.",
        subcommands: [ReceiptsVerifyCommand.self]
    )
}

/// `causeway receipts verify BUNDLE [--gateway-did DID]`.
struct ReceiptsVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a receipt bundle offline: the receipt's signature, its inclusion proof, the checkpoint's signature.",
        discussion: """
            A bundle is what GET /v1/receipts/{id}/bundle returns (Docs/ledger.md, "Receipt bundle"). The check needs no \
            network: the receipt's eddsa-jcs-2022 signature, its leaf hash (SHA-256 of 0x00 and the JCS of the signed \
            receipt), the RFC 9162 inclusion proof to the checkpoint's root, and the checkpoint's C2SP signature by the \
            gateway's key under the log's origin.
            Pass --gateway-did with the gateway DID you trust; without it the receipt's own issuer is used (a warning says so).
            With --witness keys and --cosignatures N, N of those witnesses must have cosigned the checkpoint (C2SP cosignature/v1).
            Exit 0 valid, 1 not valid (every finding printed), 2 unreadable file or usage.
            """)

    @Option(name: .customLong("gateway-did"), help: "The gateway's did:key that must have signed the receipt and the checkpoint.")
    var gatewayDID: String?

    @Option(name: .customLong("witness"), help: ArgumentHelp("A witness's C2SP cosignature key (vkey 'name+keyid+base64', type 0x04); repeatable.", valueName: "VKEY"))
    var witnessKeys: [String] = []

    @Option(name: .long, help: "How many of the --witness keys must have cosigned the checkpoint.")
    var cosignatures: Int = 0

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    @Option(name: .customLong("gateway-kel"), help: "A KERI gateway's KEL (CESR; its GET /AID/keri.cesr): receipts are checked at the event they name.")
    var gatewayKEL: String?

    @Argument(help: "The bundle file, or - for standard input.")
    var bundle: String

    func validate() throws {
        _ = try witnesses()
        guard cosignatures >= 0, cosignatures <= witnessKeys.count else {
            throw ValidationError("--cosignatures must be between 0 and the number of --witness keys (\(witnessKeys.count))")
        }
        if let gatewayDID, KERIDID(gatewayDID) == nil {
            do {
                _ = try DIDKey(parsing: gatewayDID)
            } catch {
                throw ValidationError("--gateway-did must be an Ed25519 did:key or a KERI DID (with --gateway-kel): \(error.message)")
            }
        }
    }

    /// The --witness keys, each a cosignature/v1 verifier key.
    func witnesses() throws -> [NoteKey] {
        var keys: [NoteKey] = []
        for text in witnessKeys {
            let key: NoteKey
            do {
                key = try NoteKey(vkey: text)
            } catch {
                throw ValidationError("--witness \(text.prefix(40)): \(error.message)")
            }
            guard key.kind == .cosignatureV1 else {
                throw ValidationError("--witness \(key.name): a witness key has signature type 0x04 (cosignature/v1), not 0x01")
            }
            keys.append(key)
        }
        return keys
    }

    func run() throws {
        let parsed: ReceiptBundle
        do {
            parsed = try ReceiptBundle(bytes: try CLIInput.bytes(bundle))
        } catch let error as CLIError {
            throw error
        } catch let error as ReceiptBundleError {
            throw CLIError("\(bundle): \(error.message)")
        }
        let kel = try gatewayKEL.map { path throws(CLIError) in try CLIInput.keyEventLog(path) }
        let result = parsed.verify(gatewayDID: gatewayDID, witnesses: try witnesses(), requiredCosignatures: cosignatures, gatewayKEL: kel)
        if json {
            let findings: [JSONValue] = result.findings.map { finding in
                var object: JSONObject = ["code": .string(finding.code.rawValue), "severity": .string(finding.severity.rawValue),
                                          "message": .string(finding.message)]
                if let path = finding.path { object["path"] = .string(path) }
                return .object(object)
            }
            var object: JSONObject = [
                "file": .string(bundle), "valid": .bool(result.isValid), "index": .number(Double(parsed.index)),
                "leafHash": .string(Base64.encode(result.leafHash)), "findings": .array(findings),
            ]
            if let checkpoint = result.checkpoint {
                object["checkpoint"] = ["origin": .string(checkpoint.origin), "size": .number(Double(checkpoint.size)),
                                        "root": .string(Base64.encode(checkpoint.rootHash))]
            }
            if let did = result.gatewayDID { object["gateway"] = .string(did) }
            object["cosignatures"] = .array(result.signatures.filter { $0.key.kind == .cosignatureV1 }.map { signature in
                ["witness": .string(signature.key.name), "time": .number(Double(signature.timestamp ?? 0))]
            })
            print(JSONWriter.string(.object(object), style: .pretty))
        } else {
            print("\(bundle): \(result.isValid ? "valid" : "NOT VALID")")
            print("  receipt  \(parsed.receipt["id"]?.stringValue ?? "?")")
            print("  leaf     \(parsed.index)  \(Base64.encode(result.leafHash))")
            if let checkpoint = result.checkpoint {
                print("  log      \(checkpoint.origin)  size \(checkpoint.size)  root \(Base64.encode(checkpoint.rootHash))")
            }
            if let did = result.gatewayDID { print("  gateway  \(did)") }
            for signature in result.signatures where signature.key.kind == .cosignatureV1 {
                print("  witness  \(signature.key.name) cosigned at \(signature.timestamp.map(String.init) ?? "?")")
            }
            for finding in result.findings { print("  \(finding)") }
        }
        if !result.isValid { throw ExitCode(1) }
    }
}
