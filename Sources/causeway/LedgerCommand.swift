import ArgumentParser
import CausewayCore
import CausewayGateway
import CausewayStore
import CausewayTrust
import Foundation

struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger", abstract: "Inspect the receipt ledger.", subcommands: [Verify.self, LedgerWatch.self, LedgerWitnessKey.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the whole ledger: the hash chain, every receipt's signature, the Merkle tree against the stored nodes, "
                + "and the store against the last checkpoint kept outside it.",
            discussion: """
                The last checkpoint recorded outside the store (by default the checkpoint file the gateway keeps: \
                ledger.checkpoint_file, else <sqlite file>.checkpoint, or causeway-checkpoint for PostgreSQL; or --checkpoint FILE) \
                must be covered by the store's tree with the same root: a store that lost its last entries, or holds other ones, \
                is reported naming the missing entries. Exit 0 when the ledger is intact, 1 when it is not, 2 when the store or \
                a given checkpoint file cannot be read.
                """)

        @Option(name: .long, help: "The gateway configuration (for the store and the gateway's key).")
        var config: String = "causeway.yaml"

        @Option(name: .long, help: "A signed checkpoint of this ledger kept elsewhere (a watcher's or a partner's copy); default: the gateway's checkpoint file.")
        var checkpoint: String?

        func run() async throws {
            let configuration: GatewayConfiguration
            do { configuration = try ConfigurationLoader.load(path: config) } catch { throw CLIError(error.description) }
            let gatewayKey = try CLIInput.signingIdentity(keyFile: configuration.identity).didKey
            // A KERI gateway issues receipts as its AID; each is checked against its KEL at the event it names.
            let gatewayKERI = try CLIInput.gatewayKERI(keyFile: configuration.identity, webs: configuration.keri.webs)
            let gateway = gatewayKERI?.did ?? gatewayKey.did
            let external = try Self.externalCheckpoint(path: checkpoint ?? configuration.checkpointFile ?? Checkpointer.defaultFile(for: configuration.store),
                                                       given: checkpoint != nil, gateway: gatewayKey, origin: configuration.ledgerOrigin)
            let (entries, tree): ([JSONObject], TreeCheck)
            do {
                (entries, tree) = try await withStore(configuration.store) { store in
                    var all: [JSONObject] = []
                    while true {
                        let page = try await store.ledger(from: all.count, limit: 1000)
                        all += page
                        if page.count < 1000 { break }
                    }
                    return (all, try await TreeCheck.run(store: store, entries: all, gateway: gatewayKey))
                }
            } catch {
                throw CLIError("cannot read the ledger from \(configuration.store.redacted): \(error)")
            }
            var problems = LedgerChain.verify(entries).map(\.description)
            for (position, entry) in entries.enumerated() {
                for finding in ReceiptSigner.verify(entry, expectedIssuer: gateway, keyStates: gatewayKERI.map { KERIKeyStates([$0.log]) }) where finding.code.rawValue != "receipt.leaf_mismatch" {
                    problems.append("entry \(entry["ledger"]?["seq"]?.exactInt.map(String.init) ?? "#\(position)"): \(finding.code) — \(finding.message)")
                }
            }
            problems += tree.problems
            var checked = "chain, tree and signatures verified"
            switch external {
            case .none(let path):
                print("note: no checkpoint file at \(path) (the gateway writes it with its first checkpoint); deletion of the last entries cannot be checked")
            case .unreadable(let path, let reason):
                problems.append("checkpoint file \(path): \(reason)")
            case .checkpoint(let path, let opened, let time):
                let label = "the checkpoint of \(time) in \(path)"
                if let missing = TreeCheck.missing(checkpoint: opened.checkpoint, label: label, entries: entries.count, memory: tree.memory) {
                    problems.append(missing)
                } else {
                    checked += "; \(label) (\(opened.checkpoint.size) entries) is covered"
                }
            }
            if problems.isEmpty {
                print("ledger intact: \(entries.count) entries, \(checked) (issuer \(gateway))")
            } else {
                for problem in problems { print(problem) }
                throw ExitCode(1)
            }
        }

        enum External {
            case none(String)
            case unreadable(String, String)
            case checkpoint(String, SignedCheckpoint, String)
        }

        /// The checkpoint kept outside the store, verified against the gateway's key and origin.
        static func externalCheckpoint(path: String, given: Bool, gateway: DIDKey, origin: String) throws -> External {
            guard FileManager.default.fileExists(atPath: path) else {
                if given { throw CLIError("--checkpoint \(path): no such file") }
                return .none(path)
            }
            guard let data = FileManager.default.contents(atPath: path), data.count <= SignedNote.maxBytes else {
                if given { throw CLIError("--checkpoint \(path): cannot be read, or is larger than a checkpoint") }
                return .unreadable(path, "cannot be read, or is larger than a checkpoint")
            }
            do {
                let opened = try SignedCheckpoint(verifying: String(decoding: data, as: UTF8.self), logKey: gateway, expectedOrigin: origin)
                let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? nil
                let time = modified.map { Timestamp(epochSeconds: Int64($0.timeIntervalSince1970)).text } ?? "unknown time"
                return .checkpoint(path, opened, time)
            } catch {
                return .unreadable(path, "not a checkpoint signed by this gateway for the log '\(origin)': \(error.message)")
            }
        }
    }
}

/// The ledger's Merkle tree rebuilt from the stored receipts and compared with what the store
/// keeps: every stored node, the tree size, and the store's own latest checkpoint.
struct TreeCheck: Sendable {
    let memory: InMemoryMerkleTree
    let problems: [String]

    static func run(store: any AgreementStore, entries: [JSONObject], gateway: DIDKey) async throws -> TreeCheck {
        let memory = InMemoryMerkleTree(leafData: entries.map { JCS.canonicalize(.object($0)) })
        var problems: [String] = []
        let size = try await store.treeSize()
        if size != entries.count {
            problems.append("tree: the stored tree has \(size) leaves but the ledger \(entries.count) entries")
        }
        // Every node of the rebuilt tree against the stored one, a page of ids per query.
        var wrongLeaves: [Int] = []
        var wrongNodes = 0
        var absent = 0
        for (level, hashes) in memory.levels.enumerated() {
            var start = 0
            while start < hashes.count {
                let ids = (start..<min(start + 2000, hashes.count)).map { MerkleNodeID(level: level, index: $0) }
                let stored = try await store.merkleNodes(ids)
                for id in ids {
                    guard let hash = stored[id] else { absent += 1; continue }
                    if hash != hashes[id.index] {
                        if level == 0 { wrongLeaves.append(id.index) } else { wrongNodes += 1 }
                    }
                }
                start += 2000
            }
        }
        if !wrongLeaves.isEmpty {
            problems.append("tree: the stored leaf hash of entries \(Self.list(wrongLeaves)) is not the hash of the stored receipt (an edited receipt or leaf)")
        }
        if wrongNodes > 0 { problems.append("tree: \(wrongNodes) stored interior nodes differ from the tree rebuilt from the receipts") }
        if absent > 0, size == entries.count { problems.append("tree: \(absent) nodes of the tree are missing from the store") }
        if let latest = try await store.latestCheckpoint() {
            let label = "the store's latest checkpoint (\(Timestamp(epochSeconds: latest.createdAt / 1000).text))"
            do {
                let opened = try SignedCheckpoint(verifying: latest.note, logKey: gateway)
                if let missing = missing(checkpoint: opened.checkpoint, label: label, entries: entries.count, memory: memory) {
                    problems.append(missing)
                }
            } catch {
                problems.append("\(label) is not signed by this gateway: \(error.message)")
            }
        }
        return TreeCheck(memory: memory, problems: problems)
    }

    /// What is wrong when the ledger does not contain a checkpoint's tree, naming the missing entries.
    static func missing(checkpoint: Checkpoint, label: String, entries: Int, memory: InMemoryMerkleTree) -> String? {
        if checkpoint.size > entries {
            let range = entries == checkpoint.size - 1 ? "entry \(entries) is" : "entries \(entries)…\(checkpoint.size - 1) are"
            return "\(range) missing: \(label) covers \(checkpoint.size) entries, the store has \(entries)"
        }
        let root = LedgerTree.root(size: checkpoint.size, frontier: Dictionary(uniqueKeysWithValues: LedgerTree.frontier(size: checkpoint.size).compactMap { id in
            memory.node(id).map { (id, $0) }
        }))
        if root != checkpoint.rootHash {
            return "the store's first \(checkpoint.size) entries are not those \(label) signed (its root differs): entries were edited, replaced or reordered"
        }
        return nil
    }

    /// `3, 7, 9` or `3, 7, 9 and 12 more`.
    static func list(_ indexes: [Int]) -> String {
        let shown = indexes.prefix(10).map(String.init).joined(separator: ", ")
        return indexes.count > 10 ? "\(shown) and \(indexes.count - 10) more" : shown
    }
}
