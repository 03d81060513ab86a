import CausewayCore
import CausewayStore
import Foundation

/// Agreements with a life: the list shows one row per agreement (its latest version), an order's
/// page shows the chain of versions (Docs/dashboard.md).
extension Dashboard {
    /// The most versions an order's page shows in its timeline: the original, the latest ones and the
    /// one viewed (each costs the page a document and its receipts).
    static let timelineVersions = 40

    /// The list's rows for a query: each chain's latest version once. Without a search the store
    /// lists chain heads; a search (which may name any version by digest or business id, or a
    /// reference) is looked up over every version, each match shown as its chain's head, and the
    /// other filters then apply to that head — what the row shows.
    func orderRows(_ query: AgreementQuery) async throws -> (rows: [OrderRow], next: Int64?) {
        guard query.search != nil else {
            var heads = query
            heads.currentOnly = true
            let summaries = try await store.agreements(heads)
            return (try await summaries.asyncMap(row), summaries.count == query.limit ? summaries.last?.sequence : nil)
        }
        var matching = AgreementQuery(limit: 200, search: query.search)
        matching.currentOnly = false
        var seen = Set<ContentDigest>()
        var rows: [OrderRow] = []
        for summary in try await store.agreements(matching) {
            let chain = summary.chain ?? summary.digest
            guard seen.insert(chain).inserted else { continue }
            let head = summary.supersededBy == nil ? summary : (try await store.latestVersion(of: chain) ?? summary)
            guard query.partner.map({ $0 == head.partner }) ?? true, query.status.map({ $0 == head.status }) ?? true,
                query.target.map({ head.targets.contains($0) }) ?? true, query.receivedFrom.map({ head.receivedAt >= $0 }) ?? true,
                query.receivedBefore.map({ head.receivedAt < $0 }) ?? true, query.before.map({ head.sequence < $0 }) ?? true
            else { continue }
            rows.append(try await row(head))
        }
        rows.sort { $0.head.sequence > $1.head.sequence }
        return (Array(rows.prefix(query.limit)), nil)
    }

    /// A chain head as a list row: the original's business id, the terms in force.
    func row(_ head: AgreementSummary) async throws -> OrderRow {
        guard head.version > 1, let chain = head.chain else { return OrderRow(head: head, agreementID: head.agreementID, terms: head) }
        let versions = try await store.versions(of: chain)
        let terms = versions.last { $0.revision != "cancellation" } ?? head
        return OrderRow(head: head, agreementID: versions.first?.agreementID ?? head.agreementID, terms: terms)
    }

    /// The chain an agreement belongs to, for its page: nil for an agreement without later versions.
    func versionChain(of summary: AgreementSummary) async throws -> VersionChain? {
        let all = try await store.versions(of: summary.chain ?? summary.digest)
        guard all.count > 1, let original = all.first, let head = all.last else { return nil }
        // A long chain: the original, the latest versions and the one viewed.
        var shown = Set(all.suffix(Self.timelineVersions - 1).map(\.digest))
        shown.insert(original.digest)
        shown.insert(summary.digest)
        var documents: [ContentDigest: JSONValue] = [:]
        func document(_ digest: ContentDigest) async throws -> JSONValue? {
            if let known = documents[digest] { return known }
            guard let stored = try await store.agreement(digest: digest), !stored.document.isEmpty,
                let value = try? JSONReader(limits: .init(maxBytes: 64 << 20, maxDepth: 128)).read(stored.document)
            else { return nil }
            documents[digest] = value
            return value
        }
        var versions: [VersionChain.Version] = []
        for (index, version) in all.enumerated() where shown.contains(version.digest) {
            let previous = index > 0 ? all[index - 1] : nil
            let own = try await document(version.digest)
            var diff: TermsDiff?
            if version.revision == "change", let previous, let own, let before = try await document(previous.digest) {
                diff = TermsDiff(from: before, to: own)
            }
            versions.append(.init(summary: version, document: own, receipts: try await store.receipts(digest: version.digest), diff: diff,
                                  supersedes: previous))
        }
        return VersionChain(versions: versions, count: all.count, original: original, head: head)
    }

    /// What the chain shows on a page, for live updates: each version's status.
    func chainFingerprint(_ summary: AgreementSummary) async throws -> String {
        guard summary.version > 1 || summary.supersededBy != nil else { return "" }
        return try await store.versions(of: summary.chain ?? summary.digest).map { "\($0.version):\($0.status.rawValue)" }.joined(separator: ",")
    }
}

extension Sequence {
    /// `map` with an async, throwing transform, in order.
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
