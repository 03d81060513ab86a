public import AsyncHTTPClient
public import CausewayCore
public import CausewayStore
public import CausewayTrust
public import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// The gateway's key state of KERI signers: the latest validated KEL per AID, kept in the store
/// (first seen; extensions only) and in memory for the verifier, which reads it synchronously.
///
/// Updates come from the partner folders (`kel/AID.cesr`, at start), from `POST /v1/kel` (a
/// party's server pushes its rotation) and from did:webs resolution (`https://HOST/PATH/AID/keri.cesr`),
/// on a schedule and when a proof names an establishment event the gateway does not know yet.
/// Every offer is validated in full before the store sees it; a regression is refused, a fork is
/// refused and recorded as duplicity (metric `causeway_keri_duplicity_total`).
public final class KERIKeyStateKeeper: KERIKeyStateSource, Sendable {
    public struct Configuration: Sendable {
        /// Largest KEL accepted from any source (bytes). Default 256 KiB.
        public var maxKELBytes: Int = 256 << 10
        /// How long a did:webs fetch may take. Default 5 s.
        public var resolveTimeoutSeconds: Int64 = 5
        /// How often every did:webs signer the partners name is resolved again (seconds; 0 = never). Default 300.
        public var refreshIntervalSeconds: Double = 300
        /// Resolve did:webs over plain HTTP when the host is loopback (tests only). Default false.
        public var allowInsecureLoopback: Bool = false
        /// Fewest seconds between two on-demand resolutions of one DID. Default 10.
        public var minimumResolveIntervalSeconds: Double = 10

        public init() {}
    }

    /// What became of an offered KEL.
    public enum Offer: Sendable {
        /// Validated and stored (first seen, or an extension), or identical to what is held.
        case accepted(KELUpdateOutcome, KERIKeyEventLog)
        /// Validated, but a regression or a fork of the held KEL: refused.
        case refused(KELUpdateOutcome, KERIKeyEventLog)
        /// Not a valid KEL.
        case invalid(KERIError)
        /// A valid KEL of an AID outside `admitting`; not stored.
        case notAdmitted(String)
    }

    public let configuration: Configuration
    let store: any AgreementStore
    let metrics: GatewayMetrics?
    let logger: Logger
    let client: HTTPClient
    let logs = Mutex<[String: KERIKeyEventLog]>([:])
    let lastResolved = Mutex<[String: Double]>([:])
    /// The did:webs DIDs a partner names exactly: the only ones resolved on demand, so an
    /// agreement cannot make the gateway fetch from a host of its choosing.
    let resolvable = Mutex<Set<String>>([])

    /// Sets the did:webs DIDs that may be resolved on demand (those partners name exactly).
    public func allowResolving(_ dids: [String]) { resolvable.withLock { $0 = Set(dids) } }

    public init(store: any AgreementStore, configuration: Configuration = .init(), metrics: GatewayMetrics? = nil,
                client: HTTPClient = .shared, logger: Logger = Logger(label: "causeway.keri")) {
        self.store = store
        self.configuration = configuration
        self.metrics = metrics
        self.client = client
        self.logger = logger
    }

    public func keyEventLog(of aid: String) -> KERIKeyEventLog? { logs.withLock { $0[aid] } }

    /// Every AID held.
    public var aids: [String] { logs.withLock { $0.keys.sorted() } }

    /// Validates `bytes` and offers the KEL to the store; the cache follows the store's verdict.
    /// With `admitting`, a KEL of another AID is not stored.
    public func offer(_ bytes: [UInt8], source: String, admitting: Set<String>? = nil, using other: (any AgreementStore)? = nil) async throws -> Offer {
        guard bytes.count <= configuration.maxKELBytes else {
            return .invalid(KERIError(.limitExceeded, "the KEL has \(bytes.count) bytes; at most \(configuration.maxKELBytes) are accepted"))
        }
        let kel: KERIKeyEventLog
        do {
            kel = try KERIKeyEventLog(validating: bytes)
        } catch {
            metrics?.increment("causeway_keri_kel_invalid_total")
            return .invalid(error)
        }
        if let admitting, !admitting.contains(kel.prefix) { return .notAdmitted(kel.prefix) }
        let now = WallClock.milliseconds()
        let outcome = try await (other ?? store).offerKeyEventLog(StoredKEL(aid: kel.prefix, cesr: kel.cesr, saids: kel.events.map(\.said), source: source,
                                                                 firstSeen: now, updatedAt: now))
        switch outcome {
        case .stored, .extended:
            logs.withLock { $0[kel.prefix] = kel }
            metrics?.increment("causeway_keri_kel_updates_total")
            logger.info("KEL accepted", metadata: ["keri.aid": .string(kel.prefix), "keri.sn": .stringConvertible(kel.lastSN),
                                                   "keri.source": .string(source)])
            return .accepted(outcome, kel)
        case .identical:
            if keyEventLog(of: kel.prefix) == nil { logs.withLock { $0[kel.prefix] = kel } }
            return .accepted(outcome, kel)
        case .regressed:
            metrics?.increment("causeway_keri_kel_regressions_total")
            return .refused(outcome, kel)
        case .forked(let sn):
            metrics?.increment("causeway_keri_duplicity_total")
            logger.warning("KERI duplicity: a different event at a known sequence number",
                           metadata: ["keri.aid": .string(kel.prefix), "keri.sn": .stringConvertible(sn), "keri.source": .string(source)])
            return .refused(outcome, kel)
        }
    }

    /// Loads the stored KELs into memory (validated again: the store is not trusted to be intact).
    /// Returns a problem for each that does not validate.
    public func loadStored(using other: (any AgreementStore)? = nil) async throws -> [String] {
        var problems: [String] = []
        for stored in try await (other ?? store).keyEventLogs() {
            do {
                let kel = try KERIKeyEventLog(validating: stored.cesr)
                guard kel.prefix == stored.aid else { throw KERIError(.prefixMismatch, "the stored KEL is of \(kel.prefix)") }
                logs.withLock { $0[kel.prefix] = kel }
            } catch {
                problems.append("keri: the stored KEL of \(stored.aid) is not valid: \(error)")
            }
        }
        return problems
    }

    /// Offers every `kel/*.cesr` of the partner folders (source `partner:<name>`). A file named
    /// `AID.cesr` must hold that AID's KEL. Returns a problem for each file refused.
    public func loadPartnerFolders(_ folders: [(name: String, folder: URL)], using other: (any AgreementStore)? = nil) async throws -> [String] {
        var problems: [String] = []
        for (name, folder) in folders {
            let directory = folder.appendingPathComponent("kel")
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            for file in files.sorted() where file.hasSuffix(".cesr") {
                let path = directory.appendingPathComponent(file).path
                guard let data = FileManager.default.contents(atPath: path) else {
                    problems.append("partners: \(path): unreadable")
                    continue
                }
                switch try await offer(Array(data), source: "partner:" + name, using: other) {
                case .accepted(_, let kel) where file == kel.prefix + ".cesr" || !KERI.isAID(String(file.dropLast(5))):
                    continue
                case .accepted(_, let kel):
                    problems.append("partners: \(path) holds the KEL of \(kel.prefix); name the file \(kel.prefix).cesr")
                case .refused:
                    // The store holds a longer KEL (a rotation pushed since): the folder's is simply
                    // older. A fork is recorded as duplicity (dashboard, metric, log) by ``offer``;
                    // the first-seen KEL stays in force and the gateway serves the other partners.
                    continue
                case .invalid(let error):
                    problems.append("partners: \(path) is not a valid KEL: \(error)")
                case .notAdmitted:
                    continue
                }
            }
        }
        return problems
    }

    // MARK: did:webs

    /// The URL of a did:webs DID's KEL: `https://HOST/PATH/AID/keri.cesr` (http for a loopback
    /// host when ``Configuration/allowInsecureLoopback`` is set).
    public func kelURL(of did: KERIDID) -> String? {
        guard let host = did.host else { return nil }
        let bare = host.split(separator: ":").first.map(String.init) ?? host
        let loopback = bare == "127.0.0.1" || bare == "localhost" || bare == "[::1]"
        let scheme = loopback && configuration.allowInsecureLoopback ? "http" : "https"
        return ([scheme + "://" + host] + did.path + [did.aid, "keri.cesr"]).joined(separator: "/")
    }

    /// Fetches a did:webs DID's KEL and offers it (source `did:webs`). Returns true when the held
    /// KEL changed. At most one resolution per DID per ``Configuration/minimumResolveIntervalSeconds``
    /// unless `force`.
    @discardableResult
    public func resolve(_ did: KERIDID, force: Bool = false) async -> Bool {
        guard let url = kelURL(of: did) else { return false }
        let now = Date().timeIntervalSince1970
        let due = lastResolved.withLock { last -> Bool in
            if !force, let previous = last[did.did], now - previous < configuration.minimumResolveIntervalSeconds { return false }
            last[did.did] = now
            return true
        }
        guard due else { return false }
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: "application/cesr")
            request.headers.add(name: "User-Agent", value: "causeway")
            let response = try await client.execute(request, timeout: .seconds(configuration.resolveTimeoutSeconds))
            let body = try await response.body.collect(upTo: configuration.maxKELBytes)
            guard response.status.code == 200 else {
                logger.warning("did:webs resolution failed", metadata: ["keri.did": .string(did.did), "http.status": .stringConvertible(response.status.code)])
                return false
            }
            metrics?.increment("causeway_keri_resolutions_total")
            let before = keyEventLog(of: did.aid)?.lastSAID
            switch try await offer(Array(buffer: body), source: "did:webs") {
            case .accepted(_, let kel) where kel.prefix == did.aid:
                return before != kel.lastSAID
            case .accepted(_, let kel):
                logger.warning("did:webs served another AID's KEL", metadata: ["keri.did": .string(did.did), "keri.aid": .string(kel.prefix)])
                return false
            case .refused, .invalid, .notAdmitted:
                return false
            }
        } catch {
            logger.warning("did:webs resolution failed", metadata: ["keri.did": .string(did.did), "error": .string("\(error)")])
            return false
        }
    }

    /// After a failed verification: resolves the did:webs parties whose proofs named an unknown
    /// AID or establishment event — only DIDs a partner names exactly (``allowResolving(_:)``).
    /// Returns true when a KEL changed (then verify once more).
    public func refreshAfter(_ report: VerificationReport, agreement: Agreement) async -> Bool {
        let wanted: Set<FindingCode> = [.keriAIDUnknown, .keriEventUnknown]
        guard report.errors.contains(where: { wanted.contains($0.code) }) else { return false }
        var changed = false
        for party in agreement.parties {
            guard let id = party.id, let did = KERIDID(id), did.host != nil, resolvable.withLock({ $0.contains(id) }) else { continue }
            if await resolve(did) { changed = true }
        }
        return changed
    }

    /// Resolves every did:webs DID in `dids` (the partners' roles), for the refresh schedule.
    public func refresh(_ dids: [String]) async {
        for text in dids {
            if let did = KERIDID(text), did.host != nil { await resolve(did, force: true) }
        }
    }
}
