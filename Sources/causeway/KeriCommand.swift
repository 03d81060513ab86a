import ArgumentParser
import CausewayCore
import CausewayTrust
import Foundation

/// `causeway keri …`: check KERI key event logs and proofs offline.
struct KeriCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keri",
        abstract: "Validate KERI key event logs (CESR v1) and proofs by AID key state.",
        discussion: """
            Exit codes: 0 valid, 1 not valid (including a stream that does not parse), 2 unreadable file or usage. \
            Supported: single-controller, witness-less AIDs with Ed25519 keys, numeric thresholds and \
            pre-rotation (see Docs/keri.md).
            """,
        subcommands: [KeriVerifyKEL.self, KeriState.self, KeriVerifyProof.self])
}

/// Reads and validates a KEL file; unreadable files exit 2, invalid streams exit 1.
enum KeriInput {
    /// With `jsonVerdict` (`valid` or `verified`), a refusal is also printed as JSON on standard output.
    static func kel(_ path: String, jsonVerdict: String? = nil) throws -> KERIKeyEventLog {
        let bytes = try CLIInput.bytes(path)
        do throws(KERIError) {
            return try KERIKeyEventLog(validating: bytes)
        } catch {
            if let jsonVerdict { printRefusal(error, verdict: jsonVerdict, prefix: "KEL not valid: ") }
            CLIInput.printError("causeway: \(path): KEL not valid: \(error)")
            throw ExitCode(1)
        }
    }

    static func printRefusal(_ error: KERIError, verdict: String, prefix: String = "") {
        var object: JSONObject = [verdict: false, "code": .string(error.code.rawValue), "error": .string(prefix + error.message)]
        if let sn = error.sn { object["sn"] = .number(Double(sn)) }
        print(JSONWriter.string(.object(object), style: .pretty))
    }

    static func stateJSON(_ state: KERIKeyState) -> JSONValue {
        [
            "sn": .number(Double(state.sn)), "said": .string(state.said), "ilk": .string(state.ilk.rawValue),
            "keys": .array(state.keys.map(JSONValue.string)), "kt": .number(Double(state.signingThreshold)),
            "nextKeyDigests": .array(state.nextKeyDigests.map(JSONValue.string)), "nt": .number(Double(state.nextThreshold)),
        ]
    }

    static func printState(_ state: KERIKeyState) {
        print("  establishment sn \(state.sn) (\(state.ilk.rawValue))  said \(state.said)")
        print("  kt \(state.signingThreshold)  keys")
        for (index, key) in state.keys.enumerated() { print("    [\(index)] \(key)") }
        print("  nt \(state.nextThreshold)  next key digests")
        for (index, digest) in state.nextKeyDigests.enumerated() { print("    [\(index)] \(digest)") }
    }
}

struct KeriVerifyKEL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-kel",
        abstract: "Validate a KEL (CESR v1 stream): every event must pass, or the KEL is refused.",
        discussion: "Exit 0 valid, 1 not valid (the error names the event and the reason), 2 unreadable file.")

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    @Argument(help: "The KEL file (CESR v1), or - for standard input.")
    var file: String

    func run() throws {
        let kel = try KeriInput.kel(file, jsonVerdict: json ? "valid" : nil)
        if json {
            let value: JSONValue = [
                "valid": true, "aid": .string(kel.prefix), "events": .number(Double(kel.events.count)),
                "lastSN": .number(Double(kel.lastSN)), "lastSAID": .string(kel.lastSAID),
                "latestEstablishment": KeriInput.stateJSON(kel.latestState),
            ]
            print(JSONWriter.string(value, style: .pretty))
        } else {
            print("\(file): valid KEL of \(kel.prefix), \(kel.events.count) event(s), last sn \(kel.lastSN)")
            KeriInput.printState(kel.latestState)
        }
    }
}

struct KeriState: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Print the key state (SAID, keys, thresholds, next-key digests) of a valid KEL.",
        discussion: """
            Without --sn: the latest establishment event. With --sn N: the key state in force at event N \
            (that of the latest establishment event at or before N). Exit 0, 1 when the KEL is not valid or \
            has no event N, 2 unreadable file or usage.
            """)

    @Option(name: .long, help: "The sequence number of the event whose key state to print.")
    var sn: UInt64?

    @Flag(name: .long, help: "Print the state as JSON.")
    var json = false

    @Argument(help: "The KEL file (CESR v1), or - for standard input.")
    var file: String

    func run() throws {
        let kel = try KeriInput.kel(file, jsonVerdict: json ? "valid" : nil)
        let state: KERIKeyState
        if let sn {
            guard let found = kel.stateInForce(atSN: sn) else {
                CLIInput.printError("causeway: \(file): the KEL has no event sn \(sn); it ends at sn \(kel.lastSN)")
                throw ExitCode(1)
            }
            state = found
        } else {
            state = kel.latestState
        }
        if json {
            var object = KeriInput.stateJSON(state).objectValue ?? JSONObject()
            object["aid"] = .string(kel.prefix)
            object["latest"] = .bool(state.sn == kel.latestState.sn)
            print(JSONWriter.string(.object(object), style: .pretty))
        } else {
            print("aid \(kel.prefix)\(state.sn == kel.latestState.sn ? "  (latest key state)" : "")")
            KeriInput.printState(state)
        }
    }
}

struct KeriVerifyProof: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-proof",
        abstract: "Verify a -F signature group over payload bytes against the key state of a KEL.",
        discussion: """
            The proof names (AID, sn, SAID) of an establishment event and carries indexed Ed25519 signatures; \
            distinct verified key indices must reach that event's kt. Policy latest-only (default): the event \
            must be the KEL's latest establishment event. Policy historical: an older one is accepted when the \
            payload's Blake3-256 digest is anchored in the KEL at or after it. \
            Exit 0 verified, 1 not verified (or KEL/proof not valid), 2 unreadable file or usage.
            """)

    @Option(name: .long, help: "The KEL file (CESR v1).")
    var kel: String

    @Option(name: .long, help: "The file holding the signed bytes.")
    var payload: String

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(
        "The proof: CESR text (-FAB…), or @FILE to read it from a file.", valueName: "CESR"))
    var proof: String

    @Option(name: .long, help: "latest-only (default) or historical.")
    var policy: String = "latest-only"

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if KERIKeyStatePolicy(name: policy) == nil { throw ValidationError("--policy is latest-only or historical, not '\(policy)'") }
    }

    func run() throws {
        let policy = KERIKeyStatePolicy(name: policy) ?? .latestOnly
        let payloadBytes = try CLIInput.bytes(payload)
        let proofText: String
        if proof.hasPrefix("@") {
            proofText = String(decoding: try CLIInput.bytes(String(proof.dropFirst())), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            proofText = proof
        }
        let log = try KeriInput.kel(kel, jsonVerdict: json ? "verified" : nil)
        do throws(KERIError) {
            let parsed = try KERIProof(cesr: proofText)
            let result = try log.verify(proof: parsed, payload: payloadBytes, policy: policy)
            if json {
                var object = KeriInput.stateJSON(result.state).objectValue ?? JSONObject()
                object["verified"] = true
                object["aid"] = .string(log.prefix)
                object["policy"] = .string(policy.name)
                object["latest"] = .bool(result.isLatest)
                object["signedBy"] = .array(result.verifiedKeys.map(JSONValue.string))
                if let anchored = result.anchoredAtSN { object["anchoredAtSN"] = .number(Double(anchored)) }
                print(JSONWriter.string(.object(object), style: .pretty))
            } else {
                print("verified: \(result.verifiedIndices.count) of \(result.state.keys.count) key(s) of \(log.prefix) at establishment sn \(result.state.sn) (policy \(policy.name))")
                if let anchored = result.anchoredAtSN { print("  payload digest anchored at sn \(anchored)") }
            }
        } catch {
            if json { KeriInput.printRefusal(error, verdict: "verified") }
            CLIInput.printError("causeway: proof not verified: \(error)")
            throw ExitCode(1)
        }
    }
}
