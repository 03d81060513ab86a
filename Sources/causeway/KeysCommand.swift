import ArgumentParser
import CausewayGateway
import CausewayTrust
import Crypto
import Foundation

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, rotate and inspect Ed25519 key files.",
        subcommands: [New.self, Rotate.self, Show.self])

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new Ed25519 private key file (mode 0600) and print its did:key (or, with --keri, its did:keri).",
            discussion: """
                The file format is described in Docs/agreement-format.md ("Key files"). An existing file is never overwritten.
                With --keri the key incepts a KERI AID whose next key is pre-rotated: NAME.next.json holds the next private \
                key (0600) and NAME.kel.cesr the AID's key event log; 'causeway keys rotate' rotates to the next key \
                (Docs/keri.md, "In the gateway").
                """)

        @Option(name: .long, help: "Where to write the key file.")
        var out: String = "causeway-key.json"

        @Flag(name: .long, help: "Incept a KERI AID with a pre-rotated next key.")
        var keri = false

        func run() throws {
            let identity = SigningIdentity()
            guard keri else {
                do {
                    try identity.writeKeyFile(to: out)
                } catch {
                    throw CLIError(error.message)
                }
                print(identity.didKey.did)
                return
            }
            let files = GatewayKERIIdentity.files(forKeyFile: out)
            for path in [out, files.next, files.kel] where FileManager.default.fileExists(atPath: path) {
                throw CLIError("\(path) already exists; key files are never overwritten")
            }
            let next = SigningIdentity()
            let controller: KERIController
            do {
                controller = try KERIController.incept(keys: [identity.privateKey], nextKeys: [next.privateKey.publicKey])
            } catch {
                throw CLIError("the inception failed: \(error)")
            }
            do {
                try next.writeKeyFile(to: files.next)
                try PrivateFile.write(controller.log.cesr, to: files.kel)
                try identity.writeKeyFile(to: out)
            } catch {
                throw CLIError("\(error)")
            }
            print("did:keri:" + controller.prefix)
            print("key: \(out) (\(controller.log.latestState.keys[0]))")
            print("next key: \(files.next) (keep it apart; it is needed only to rotate)")
            print("KEL: \(files.kel)")
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate a KERI key file to its pre-rotated next key and commit a new next key.",
            discussion: """
                The KEL gets a rotation event signed by the next key; the key file then holds that key and NAME.next.json a \
                new next key. Restart the gateway to sign with the new key; receipts signed before stay valid. Each step \
                is written whole (new next key, KEL, key file, next key file), and --resume finishes a rotation that was \
                interrupted between them.
                """)

        @Argument(help: "A key file made by 'causeway keys new --keri'.")
        var file: String

        @Flag(name: .long, help: "Finish an interrupted rotation instead of starting a new one.")
        var resume = false

        func run() throws {
            let files = GatewayKERIIdentity.files(forKeyFile: file)
            let pending = files.next + ".new"
            let log = try CLIInput.keyEventLog(files.kel)
            if resume {
                try Self.finish(file: file, next: files.next, pending: pending, log: log)
                print("resumed: \(file) holds the key of \(log.prefix) at sn \(log.latestState.sn)")
                return
            }
            let current = try CLIInput.signingIdentity(keyFile: file)
            let next = try CLIInput.signingIdentity(keyFile: files.next)
            guard !FileManager.default.fileExists(atPath: pending) else {
                throw CLIError("\(pending) exists: an earlier rotation was interrupted; run 'causeway keys rotate --resume \(file)'")
            }
            var controller: KERIController
            do {
                controller = try KERIController(log: log, keys: [current.privateKey])
            } catch {
                throw CLIError("\(file) is not the current key of \(files.kel): \(error); if a rotation was interrupted, use --resume")
            }
            let newNext = SigningIdentity()
            do {
                try controller.rotate(to: [next.privateKey], nextKeys: [newNext.privateKey.publicKey])
            } catch {
                throw CLIError("\(files.next) does not hold the key committed as next in \(files.kel): \(error)")
            }
            do {
                try PrivateFile.write(Array(newNext.keyFileContents().utf8), to: pending)
                try PrivateFile.write(controller.log.cesr, to: files.kel)
            } catch {
                throw CLIError("\(error)")
            }
            try Self.finish(file: file, next: files.next, pending: pending, log: controller.log)
            print("did:keri:" + controller.prefix)
            print("rotated to sn \(controller.log.latestState.sn) (\(controller.log.latestState.said)); key \(controller.log.latestState.keys[0])")
        }

        /// After the KEL is written: the key file takes the next key, the next file the pending one.
        static func finish(file: String, next: String, pending: String, log: KERIKeyEventLog) throws(CLIError) {
            let latest = log.latestState
            let current = try CLIInput.signingIdentity(keyFile: file)
            if KERI.qb64(publicKey: Array(current.privateKey.publicKey.rawRepresentation)) != latest.keys[0] {
                let promoted = try CLIInput.signingIdentity(keyFile: next)
                guard KERI.qb64(publicKey: Array(promoted.privateKey.publicKey.rawRepresentation)) == latest.keys[0] else {
                    throw CLIError("neither \(file) nor \(next) holds the current key of \(log.prefix) at sn \(latest.sn); the rotation cannot be finished")
                }
                do { try PrivateFile.write(Array(promoted.keyFileContents().utf8), to: file) } catch { throw CLIError("\(error)") }
            }
            guard FileManager.default.fileExists(atPath: pending) else { return }
            let committed = try CLIInput.signingIdentity(keyFile: pending)
            let digest = KERI.nextKeyDigest(ofKey: KERI.qb64(publicKey: Array(committed.privateKey.publicKey.rawRepresentation)))
            guard latest.nextKeyDigests.contains(digest) else {
                throw CLIError("\(pending) is not the next key committed at sn \(latest.sn); keep it and ask for help")
            }
            guard rename(pending, next) == 0 else { throw CLIError("cannot rename \(pending) to \(next)") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the did:key and verification method of a key file.")

        @Argument(help: "A key file made by 'causeway keys new'.")
        var file: String

        func run() throws {
            let identity = try CLIInput.signingIdentity(keyFile: file)
            print(identity.didKey.did)
            print(identity.didKey.verificationMethod)
            let kel = GatewayKERIIdentity.files(forKeyFile: file).kel
            if FileManager.default.fileExists(atPath: kel) {
                let log = try CLIInput.keyEventLog(kel)
                print("did:keri:\(log.prefix) (sn \(log.latestState.sn), \(log.latestState.said))")
            }
        }
    }
}

extension CLIInput {
    /// A validated KEL from a CESR file.
    static func keyEventLog(_ path: String) throws(CLIError) -> KERIKeyEventLog {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("\(path): cannot read the KEL") }
        do {
            return try KERIKeyEventLog(validating: Array(data))
        } catch {
            throw CLIError("\(path): not a valid KEL: \(error)")
        }
    }

    /// The gateway's KERI identity when its key file has a KEL beside it.
    static func gatewayKERI(keyFile: String, webs: String?) throws(CLIError) -> GatewayKERIIdentity? {
        let identity = try signingIdentity(keyFile: keyFile)
        do {
            return try GatewayKERIIdentity.load(keyFile: keyFile, identity: identity, webs: webs)
        } catch {
            throw CLIError(error.message)
        }
    }
}
