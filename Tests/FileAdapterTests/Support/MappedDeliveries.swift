import AdapterKit
import CausewayCore
import CausewayMapping
import CausewayTesting
import Foundation
import Testing

/// Deliveries of real mapped actions: a partner's fixture agreement through its real mapping,
/// with a fresh digest per nonce (each nonce is a different agreement for the target).
enum MappedDeliveries {
    static func delivery(partner: String, fixture: String, actionIndex: Int, nonce: String) throws -> Delivery {
        let folder = TestPaths.repository.appendingPathComponent("Mappings/\(partner)")
        let mapping = try PartnerConfiguration.load(folder: folder).loadMappings()[0]
        let bytes = Array(try Data(contentsOf: folder.appendingPathComponent("fixtures/agreements/\(fixture).json")))
        let agreement = try Agreement(bytes: bytes)
        let digest = ContentDigest(of: agreement.digest.bytes + Array(nonce.utf8))
        let result = mapping.map(.object(agreement.document), context: MappingContext(digest: digest, partner: partner))
        let action = try #require(result.actions.first { $0.index == actionIndex }, "\(partner)/\(fixture) maps to no action \(actionIndex)")
        let provenance = ProvenanceRecord(
            receiptID: "urn:uuid:\(UUID().uuidString.lowercased())", generated: "2026-11-22T10:00:00.000Z", action: action,
            adapter: "file", agreementID: agreement.id!, agreementType: "PurchaseAgreement", agreementDigest: digest, signers: [],
            plan: .init(partner: partner, mapping: mapping.id, version: mapping.version, digest: mapping.digest, actionIndex: actionIndex),
            gateway: "did:key:z6MkTest", software: "causeway-test")
        return Delivery(agreementDigest: digest, agreementID: agreement.id!, action: action, provenance: provenance, signedAgreement: bytes)
    }

    /// The nordic-fasteners UBL order (action 1 of its mapping).
    static func ublOrder(fixture: String = "one-line", nonce: String) throws -> Delivery {
        try delivery(partner: "nordic-fasteners", fixture: fixture, actionIndex: 1, nonce: nonce)
    }

    /// The nordic-fasteners purchase order for the ERP (action 0).
    static func purchaseOrder(fixture: String = "one-line", nonce: String) throws -> Delivery {
        try delivery(partner: "nordic-fasteners", fixture: fixture, actionIndex: 0, nonce: nonce)
    }

    /// The stahlteile rows (action 0).
    static func rows(fixture: String = "multi-line", nonce: String) throws -> Delivery {
        try delivery(partner: "stahlteile", fixture: fixture, actionIndex: 0, nonce: nonce)
    }

    /// The same delivery with another action (same agreement and key index).
    static func with(_ action: LegacyAction, like delivery: Delivery) -> Delivery {
        Delivery(agreementDigest: delivery.agreementDigest, agreementID: delivery.agreementID, action: action,
                 provenance: delivery.provenance, signedAgreement: delivery.signedAgreement)
    }
}

/// The names in a folder, sorted (hidden temporary files included).
func listing(_ folder: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
}
