public import CausewayCore

/// An agreement's place in its life, as the API and the dashboard show it.
public enum AgreementStatus: String, Sendable, Hashable, CaseIterable {
    /// Stored; no action has been tried yet.
    case accepted
    /// An action is being delivered.
    case delivering
    /// Every action is delivered.
    case delivered
    /// An action failed and waits for its next try.
    case retrying
    /// An action was rejected or ran out of attempts; an operator must look.
    case deadLetter = "dead_letter"
    /// Refused at intake (not verified or against policy).
    case rejected
    /// Ended by a cancellation: a cancellation whose actions are delivered, or a version whose
    /// actions a cancellation voided before any was tried.
    case cancelled
}

/// The state of one outbox entry.
public enum OutboxState: String, Sendable, Hashable, CaseIterable {
    case pending
    case inFlight = "in_flight"
    case delivered
    case deadLetter = "dead_letter"
    /// Never done and never to be: a cancellation overtook its agreement while no action of the
    /// chain could have been done (never tried, or only retryable or rejected attempts), so nothing is
    /// done in the legacy system (and no receipt is issued).
    case void
}

/// A verified agreement ready to be stored with its actions.
public struct IncomingAgreement: Sendable {
    public struct Action: Sendable {
        public let index: Int
        public let name: String
        public let target: String
        public let kind: String
        public let adapter: String
        /// The action's JSON (``LegacyAction/json``).
        public let action: JSONValue
        /// The provenance record's JSON, fixed at map time.
        public let provenance: JSONValue
        /// The receipt id allocated now, so that provenance and receipt name each other.
        public let receiptID: String

        public init(index: Int, name: String, target: String, kind: String, adapter: String, action: JSONValue, provenance: JSONValue,
                    receiptID: String) {
            self.index = index
            self.name = name
            self.target = target
            self.kind = kind
            self.adapter = adapter
            self.action = action
            self.provenance = provenance
            self.receiptID = receiptID
        }
    }

    public let digest: ContentDigest
    public let agreementID: String
    public let partner: String
    public let type: String
    /// The bytes exactly as received.
    public let document: [UInt8]
    /// The verification report's JSON.
    public let verification: JSONValue
    public let mappingID: String
    public let mappingVersion: String
    public let mappingDigest: ContentDigest
    public let total: String?
    public let currency: String?
    /// Milliseconds since the epoch.
    public let receivedAt: Int64
    public let actions: [Action]
    /// For a change or cancellation: its place in the agreement's chain; nil for a first version.
    public var revision: Revision?

    /// A change's or cancellation's place in its chain, checked by the store in the intake
    /// transaction: it must extend the latest accepted version of `amends`.
    public struct Revision: Sendable, Hashable {
        /// The original agreement's digest.
        public let amends: ContentDigest
        /// The version it follows (the cancelled version, for a cancellation).
        public let supersedes: ContentDigest
        /// Its own version number (2 or more).
        public let version: Int
        public let cancellation: Bool

        public init(amends: ContentDigest, supersedes: ContentDigest, version: Int, cancellation: Bool) {
            self.amends = amends
            self.supersedes = supersedes
            self.version = version
            self.cancellation = cancellation
        }

        /// The `revision` column: `change` or `cancellation`.
        public var kind: String { cancellation ? "cancellation" : "change" }
    }

    public init(digest: ContentDigest, agreementID: String, partner: String, type: String, document: [UInt8], verification: JSONValue,
                mappingID: String, mappingVersion: String, mappingDigest: ContentDigest, total: String?, currency: String?,
                receivedAt: Int64, actions: [Action], revision: Revision? = nil) {
        self.revision = revision
        self.digest = digest
        self.agreementID = agreementID
        self.partner = partner
        self.type = type
        self.document = document
        self.verification = verification
        self.mappingID = mappingID
        self.mappingVersion = mappingVersion
        self.mappingDigest = mappingDigest
        self.total = total
        self.currency = currency
        self.receivedAt = receivedAt
        self.actions = actions
    }
}

/// What intake made of an agreement.
public enum IntakeResult: Sendable, Hashable {
    /// New: stored with its outbox entries.
    case accepted
    /// The same digest was stored before; nothing changed.
    case known(AgreementStatus)
    /// The partner already has this business id with other content.
    case conflict(existing: ContentDigest)
    /// A change or cancellation for an agreement this partner does not have.
    case unknownAgreement
    /// A change or cancellation that does not extend the latest accepted version (someone else's
    /// change came first, or it skips a version): the current head of the chain.
    case stale(current: ContentDigest, version: Int)
    /// The agreement is cancelled: nothing follows a cancellation.
    case closed(cancellation: ContentDigest)
}

/// A list entry.
public struct AgreementSummary: Sendable, Hashable {
    public let digest: ContentDigest
    public let agreementID: String
    public let partner: String
    public let status: AgreementStatus
    public let total: String?
    public let currency: String?
    public let receivedAt: Int64
    /// The targets of its actions, in action order.
    public let targets: [String]
    /// Legacy references of delivered actions (`system:kind:id`).
    public let references: [String]
    /// The internal row number, for cursor paging.
    public let sequence: Int64
    /// The agreed delivery date as the document states it (`delivery.date`), if it does.
    public let deliveryDate: String?
    /// Its version in the agreement's chain: 1 for the original.
    public var version: Int = 1
    /// `change` or `cancellation`; nil for an original agreement.
    public var revision: String?
    /// The original agreement's digest (its own for an original).
    public var chain: ContentDigest?
    /// The version that replaced this one, once a later version is accepted.
    public var supersededBy: ContentDigest?
}

/// Filters and paging for ``AgreementStore/agreements(_:)``.
public struct AgreementQuery: Sendable {
    public var partner: String?
    public var status: AgreementStatus?
    /// Only entries older than this cursor (a previous page's last ``AgreementSummary/sequence``).
    public var before: Int64?
    public var limit: Int
    /// Only agreements with an action for this target.
    public var target: String?
    /// Only agreements received at or after this time (milliseconds since the epoch).
    public var receivedFrom: Int64?
    /// Only agreements received before this time (milliseconds since the epoch).
    public var receivedBefore: Int64?
    /// Only agreements whose business id or digest is this text, or one of whose legacy
    /// references has this id (e.g. a PO number) or is this text as listed (`system:kind:id`,
    /// e.g. `sqlite:erp_purchase_order:3`).
    public var search: String?
    /// Only each chain's latest version (what the dashboard lists: one row per agreement).
    public var currentOnly: Bool = false

    public init(partner: String? = nil, status: AgreementStatus? = nil, before: Int64? = nil, limit: Int = 50, target: String? = nil,
                receivedFrom: Int64? = nil, receivedBefore: Int64? = nil, search: String? = nil) {
        self.partner = partner
        self.status = status
        self.before = before
        self.limit = limit
        self.target = target
        self.receivedFrom = receivedFrom
        self.receivedBefore = receivedBefore
        self.search = search
    }
}

/// One outbox entry: an action of an agreement and its delivery state.
public struct OutboxEntry: Sendable, Hashable {
    public let id: Int64
    public let digest: ContentDigest
    public let agreementID: String
    public let partner: String
    public let actionIndex: Int
    public let name: String
    public let target: String
    public let kind: String
    public let adapter: String
    public let action: JSONValue
    public let provenance: JSONValue
    public let receiptID: String
    public let state: OutboxState
    /// Attempts made so far.
    public let attempts: Int
    /// Milliseconds since the epoch when it may be tried (again).
    public let nextAttemptAt: Int64
    /// The last outcome was unknown (or a lease expired): look the key up before delivering.
    public let needsLookup: Bool
    public let lastError: String?
    public let legacyReference: JSONValue?
    /// When the target committed (the delivered attempt's end), milliseconds since the epoch.
    public let deliveredAt: Int64?

    public init(id: Int64, digest: ContentDigest, agreementID: String, partner: String, actionIndex: Int, name: String, target: String,
                kind: String, adapter: String, action: JSONValue, provenance: JSONValue, receiptID: String, state: OutboxState, attempts: Int,
                nextAttemptAt: Int64, needsLookup: Bool, lastError: String?, legacyReference: JSONValue?, deliveredAt: Int64?) {
        self.id = id
        self.digest = digest
        self.agreementID = agreementID
        self.partner = partner
        self.actionIndex = actionIndex
        self.name = name
        self.target = target
        self.kind = kind
        self.adapter = adapter
        self.action = action
        self.provenance = provenance
        self.receiptID = receiptID
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.needsLookup = needsLookup
        self.lastError = lastError
        self.legacyReference = legacyReference
        self.deliveredAt = deliveredAt
    }
}

/// Which entries a worker wants.
public struct ClaimRequest: Sendable {
    public let worker: String
    public let limit: Int
    /// Milliseconds since the epoch.
    public let now: Int64
    /// How long the claim holds before another worker may take the entry.
    public let leaseMilliseconds: Int64
    /// Targets not to claim for now (their circuit is open).
    public let excludingTargets: Set<String>

    public init(worker: String, limit: Int, now: Int64, leaseMilliseconds: Int64, excludingTargets: Set<String> = []) {
        self.worker = worker
        self.limit = limit
        self.now = now
        self.leaseMilliseconds = leaseMilliseconds
        self.excludingTargets = excludingTargets
    }
}

/// One finished attempt and where it leaves the entry.
public struct AttemptRecord: Sendable {
    public enum Next: Sendable, Hashable {
        /// Committed; the legacy reference.
        case delivered(reference: JSONValue)
        /// Try again at this time; `lookupFirst` after an unknown outcome.
        case retry(at: Int64, lookupFirst: Bool)
        /// Stop: dead letter with the reason.
        case deadLetter(reason: String)
    }

    public let entryID: Int64
    public let worker: String
    public let startedAt: Int64
    public let finishedAt: Int64
    /// `delivered`, `retryable`, `rejected`, `unknown`, or `found` (settled by a lookup).
    public let outcome: String
    public let detail: String?
    public let next: Next

    /// The attempt committed its action (a receipt follows).
    public var delivers: Bool {
        if case .delivered = next { return true }
        return false
    }

    public init(entryID: Int64, worker: String, startedAt: Int64, finishedAt: Int64, outcome: String, detail: String?, next: Next) {
        self.entryID = entryID
        self.worker = worker
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.detail = detail
        self.next = next
    }
}

/// A stored attempt.
public struct AttemptSummary: Sendable, Hashable {
    public let entryID: Int64
    public let number: Int
    public let startedAt: Int64
    public let finishedAt: Int64
    public let outcome: String
    public let detail: String?
}

/// Everything about one agreement.
public struct StoredAgreement: Sendable {
    public let summary: AgreementSummary
    public let document: [UInt8]
    public let verification: JSONValue
    public let mappingID: String
    public let mappingVersion: String
    public let mappingDigest: ContentDigest
    public let entries: [OutboxEntry]
    public let attempts: [AttemptSummary]
}

/// The end of the ledger.
public struct LedgerHead: Sendable, Hashable {
    public let sequence: Int
    public let leaf: ContentDigest

    public init(sequence: Int, leaf: ContentDigest) {
        self.sequence = sequence
        self.leaf = leaf
    }
}

/// Signs the receipts of a batch's delivered attempts inside its transaction
/// (``AgreementStore/finishBatch(_:issuing:)``): given the ledger's head (nil: empty) and the
/// positions of the delivered attempts in the batch, their receipts in ledger order.
public typealias ReceiptIssuing = @Sendable (_ head: LedgerHead?, _ delivered: [Int]) throws -> [LedgerAppend]

/// What ``AgreementStore/finishBatch(_:issuing:)`` recorded: for each attempt, whether its
/// worker still held the entry (as ``AgreementStore/finishBatch(_:)``), and the receipts appended.
public struct FinishedBatch: Sendable {
    public let recorded: [Bool]
    public let receipts: [LedgerAppend]

    public init(recorded: [Bool], receipts: [LedgerAppend]) {
        self.recorded = recorded
        self.receipts = receipts
    }

    /// `issue`'s receipts for the attempts at the `delivered` positions, refused unless there is
    /// one per attempt, for its entry, in order (both stores, under the ledger's lock).
    static func receipts(_ issue: ReceiptIssuing, after head: LedgerHead?, delivered: [Int], of attempts: [AttemptRecord]) throws
        -> [LedgerAppend]
    {
        let receipts = try issue(head, delivered)
        guard receipts.count == delivered.count, zip(receipts, delivered).allSatisfy({ $0.entryID == attempts[$1].entryID }) else {
            throw StoreError("the receipts issued do not match the delivered attempts")
        }
        return receipts
    }
}

/// A signed receipt to append at a ledger position.
public struct LedgerAppend: Sendable {
    public let entryID: Int64
    public let receiptID: String
    public let digest: ContentDigest
    public let sequence: Int
    public let previous: ContentDigest
    public let leaf: ContentDigest
    public let receipt: JSONObject
    /// The entry's leaf hash in the Merkle tree: SHA-256(0x00 ‖ JCS(the signed receipt, proof
    /// included)). Not the chain's `leaf`, which leaves the proof out.
    public let treeLeaf: [UInt8]
    /// The signed receipt as the stores keep it: its canonical (JCS) text, the bytes the tree's
    /// leaf hashes, so that the receipt is written out once for both.
    public let text: String

    /// - Parameter canonical: JCS of `receipt`, when the caller has it; computed when nil.
    public init(entryID: Int64, receiptID: String, digest: ContentDigest, sequence: Int, previous: ContentDigest, leaf: ContentDigest,
                receipt: JSONObject, canonical: [UInt8]? = nil) {
        self.entryID = entryID
        self.receiptID = receiptID
        self.digest = digest
        self.sequence = sequence
        self.previous = previous
        self.leaf = leaf
        self.receipt = receipt
        let bytes = canonical ?? JCS.canonicalize(.object(receipt))
        self.treeLeaf = MerkleHash.leaf(bytes)
        self.text = String(decoding: bytes, as: UTF8.self)
    }
}

/// A signed checkpoint as the store keeps it: the tree size and root it commits to and the whole
/// C2SP signed note (body and signature lines) as it was published.
public struct StoredCheckpoint: Sendable, Hashable {
    /// The number of leaves the checkpoint covers.
    public let size: Int
    /// The tree's root hash at `size` (32 bytes).
    public let root: [UInt8]
    /// The signed note, exactly as served at `GET /v1/ledger/checkpoint`.
    public let note: String
    /// When it was signed, milliseconds since the epoch.
    public let createdAt: Int64

    public init(size: Int, root: [UInt8], note: String, createdAt: Int64) {
        self.size = size
        self.root = root
        self.note = note
        self.createdAt = createdAt
    }
}

/// A store operation that cannot be done, with the reason.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// How an agreement's status follows from its entries.
enum StatusRule {
    /// The status a new agreement is stored with; `void`: a cancellation voided its chain.
    static func initial(_ agreement: IncomingAgreement, void: Bool = false) -> AgreementStatus {
        if void { return .cancelled }
        if agreement.actions.isEmpty { return agreement.revision?.cancellation == true ? .cancelled : .delivered }
        return .accepted
    }

    /// The stored statuses a claim moves to `delivering` (as ``status(of:cancellation:)`` does
    /// for an entry in flight; a dead letter stays one), as SQL for both stores' claims.
    static let claimMovesSQL = "('accepted', 'retrying')"

    /// - Parameter cancellation: the agreement is a cancellation (done means `cancelled`).
    static func status(of states: [(state: OutboxState, attempts: Int)], cancellation: Bool = false) -> AgreementStatus {
        if states.isEmpty { return cancellation ? .cancelled : .delivered }
        if states.contains(where: { $0.state == .deadLetter }) { return .deadLetter }
        if states.allSatisfy({ $0.state == .delivered || $0.state == .void }) {
            return cancellation || states.contains(where: { $0.state == .void }) ? .cancelled : .delivered
        }
        if states.contains(where: { $0.state == .inFlight }) { return .delivering }
        if states.contains(where: { $0.state == .pending && $0.attempts > 0 }) { return .retrying }
        if states.contains(where: { $0.state == .delivered }) { return .delivering }
        return .accepted
    }
}

/// Attempts of one time bucket, for one partner and target (the dashboard's overview charts).
public struct ActivityBucket: Sendable, Hashable {
    /// The bucket's start, milliseconds since the epoch (a multiple of the bucket width).
    public let start: Int64
    public let partner: String
    public let target: String
    /// Attempts finished in the bucket.
    public let attempts: Int
    /// Of those, how many committed (`delivered`, or `found` by a lookup).
    public let delivered: Int
    /// Of those, how many did not commit (retryable, rejected, unknown).
    public let failed: Int
    /// Sum over the committed attempts of (attempt end − agreement received), in milliseconds:
    /// divided by ``delivered`` it is the mean intake-to-commit latency.
    public let latencyMilliseconds: Int64

    public init(start: Int64, partner: String, target: String, attempts: Int, delivered: Int, failed: Int, latencyMilliseconds: Int64) {
        self.start = start
        self.partner = partner
        self.target = target
        self.attempts = attempts
        self.delivered = delivered
        self.failed = failed
        self.latencyMilliseconds = latencyMilliseconds
    }
}

/// The SQL that both stores share for the dashboard's list filters and overview.
enum DashboardSQL {
    /// Attempt outcomes that count as committed.
    static let committed = "('delivered', 'found')"
}

/// The SQL both stores share for agreements' chains (changes and cancellations).
enum ChainSQL {
    /// The SQL condition (on an outbox row named `o`) that holds when its action may have been done
    /// in the target: it is in flight or delivered, the target must be asked first (`needs_lookup`), or
    /// an attempt ended in anything but `retryable` or `rejected` (an `unknown` may have committed).
    /// A cancellation voids its chain only when no entry is possibly done.
    static let possiblyDone = """
        (o.state NOT IN ('pending', 'dead_letter') OR o.needs_lookup = 1
         OR EXISTS (SELECT 1 FROM attempts t WHERE t.outbox_id = o.id AND t.outcome NOT IN ('retryable', 'rejected')))
        """

    /// The SQL condition (on an outbox row named `outbox`) that holds while an entry must wait:
    /// for the version its agreement supersedes (versions are delivered in order), and — within a
    /// change or cancellation — for the actions before it in the mapping (so a later action, such as
    /// telling the supplier, never runs ahead of an earlier one, such as the ERP, that refused).
    ///
    /// Only a change or cancellation can wait (only they have `supersedes`), so the condition is one
    /// lookup of the entry's agreement by digest, and the rest only for revisions. Written so that
    /// PostgreSQL plans it as a nested-loop anti-join along the claim's index: written as two
    /// `EXISTS` over joins, it hashed the first over every agreement (6.5 ms a claim at 5,000).
    static let entryMustWait = """
        (EXISTS (SELECT 1 FROM agreements w WHERE w.digest = outbox.digest AND w.revision IS NOT NULL
                 AND (EXISTS (SELECT 1 FROM agreements p WHERE p.digest = w.supersedes AND p.status NOT IN ('delivered', 'cancelled'))
                      OR EXISTS (SELECT 1 FROM outbox e WHERE e.digest = outbox.digest AND e.action_index < outbox.action_index
                                 AND e.state NOT IN ('delivered', 'void')))))
        """
}

/// The outbox's work-queue indexes, the same in both stores (migration 10). Each covers only the
/// rows one hot query reads, so that none of them grows with the delivered history: the claim's
/// due entries (`pending` by time, `in_flight` by lease) and the receipt issuer's delivered
/// entries still without a receipt. They replace `outbox_due (state, next_attempt_at)`, whose
/// `delivered` part grew with every agreement ever delivered and which the receipt query could
/// not use at all (it scanned the outbox: 7 ms at 4,000 rows, on every issuer round).
enum WorkQueueSQL {
    static let indexes = [
        "DROP INDEX IF EXISTS outbox_due",
        "CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE state = 'pending'",
        "CREATE INDEX outbox_leased ON outbox (lease_until) WHERE state = 'in_flight'",
        "CREATE INDEX outbox_awaiting_receipt ON outbox (id) WHERE state = 'delivered' AND receipt_seq IS NULL",
    ]
}
