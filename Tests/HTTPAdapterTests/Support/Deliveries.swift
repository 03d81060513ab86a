import AdapterKit
import AdapterKitTesting
import CausewayCore
import CausewayMapping
import CausewayTesting
import Foundation
import HTTPAdapter
import Testing

/// The nordic-fasteners mapping's actions for its fixture agreements, each under a fresh digest.
enum NordicActions {
    static let partners = TestPaths.repository.appendingPathComponent("Mappings")
    static let folder = partners.appendingPathComponent("nordic-fasteners")
    /// The fixtures whose agreements map (the others are refused by assertions or lookups).
    static let mappable = ["delegated-agent", "kilograms", "multi-line", "one-line", "unicode-descriptions"]

    /// Action `index` (1: the UBL order, 2: the portal notification) for a fixture agreement.
    static func delivery(_ index: Int, fixture: String = "one-line", nonce: String = UUID().uuidString) throws -> Delivery {
        let partner = try PartnerConfiguration.load(folder: folder)
        let mapping = try partner.loadMappings()[0]
        let bytes = Array(try Data(contentsOf: folder.appendingPathComponent("fixtures/agreements/\(fixture).json")))
        let agreement = try Agreement(bytes: bytes)
        let digest = ContentDigest(of: agreement.digest.bytes + Array(nonce.utf8))
        let result = mapping.map(.object(agreement.document), context: MappingContext(digest: digest, partner: "nordic-fasteners"))
        let action = try #require(result.actions.first { $0.index == index }, "fixture \(fixture) maps to no action \(index)")
        return delivery(of: action, digest: digest, agreementID: agreement.id!, mapping: mapping, bytes: bytes)
    }

    static func delivery(of action: LegacyAction, digest: ContentDigest, agreementID: String, mapping: Mapping, bytes: [UInt8]) -> Delivery {
        let provenance = ProvenanceRecord(
            receiptID: "urn:uuid:\(UUID().uuidString.lowercased())", generated: "2026-11-22T10:00:00.000Z", action: action,
            adapter: "http", agreementID: agreementID, agreementType: "PurchaseAgreement", agreementDigest: digest, signers: [],
            plan: .init(partner: "nordic-fasteners", mapping: mapping.id, version: mapping.version, digest: mapping.digest,
                        actionIndex: action.index),
            gateway: "did:key:z6MkTest", software: "causeway-test")
        return Delivery(agreementDigest: digest, agreementID: agreementID, action: action, provenance: provenance, signedAgreement: bytes)
    }

    /// The same delivery with its XML action changed (same key and provenance plan).
    static func replacing(_ delivery: Delivery, with payload: LegacyAction.Payload) -> Delivery {
        let action = LegacyAction(index: delivery.action.index, name: delivery.action.name, target: delivery.action.target, payload: payload)
        let provenance = ProvenanceRecord(
            receiptID: delivery.provenance.receiptID, generated: delivery.provenance.generated, action: action, adapter: "http",
            agreementID: delivery.agreementID, agreementType: "PurchaseAgreement", agreementDigest: delivery.agreementDigest, signers: [],
            plan: delivery.provenance.plan, gateway: "did:key:z6MkTest", software: "causeway-test")
        return Delivery(agreementDigest: delivery.agreementDigest, agreementID: delivery.agreementID, action: action, provenance: provenance,
                        signedAgreement: delivery.signedAgreement)
    }
}

/// Made-up actions for the REST and SOAP tests.
enum SampleActions {
    static func rest(path: String = "/api/notes", capture: String? = "$.notificationId", headers: [(name: String, value: String)] = [],
                     nonce: String = UUID().uuidString) -> Delivery {
        let body: JSONValue = ["orderReference": "PO-1", "total": "1234.50", "quantity": "0.125", "lines": [["sku": "A-1", "position": 1]]]
        let action = LegacyAction(index: 2, name: "notify", target: "portal", payload: .http(HTTPRequestAction(
            method: "POST", path: path, headers: headers, body: body, captureReference: capture)))
        return AdapterConformance.sampleDelivery(action: action, nonce: nonce)
    }

    static func soap(version: String, action soapAction: String?, path: String = "/soap", nonce: String = UUID().uuidString) -> Delivery {
        let root = XMLElementNode(name: "m:SubmitOrder", namespaces: [("m", "urn:example:orders")], children: [
            .element(XMLElementNode(name: "m:Reference", children: [.text("PO-1 & <co>")])),
        ])
        let action = LegacyAction(index: 1, name: "submit", target: "soap", payload: .xml(XMLDocumentAction(
            root: root, soap: .init(version: version, action: soapAction), schema: nil, path: path)))
        return AdapterConformance.sampleDelivery(action: action, nonce: nonce)
    }
}

/// Adapters against a recording server; always shut down, also when the body throws.
enum TestAdapter {
    static func settings(_ server: RecordingServer, _ overrides: [String: String?]) throws -> AdapterSettings {
        var raw: [String: String] = [
            "base_url": server.baseURL, "lookup_path": "/lookup?idempotency_key={key}", "honours_idempotency_key": "true",
            "timeout": "5", "connect_timeout": "2",
        ]
        for (key, value) in overrides { raw[key] = value }
        return try HTTPTargetAdapter.descriptor.schema.validate(raw, prefix: "targets.test").get()
    }

    static func with<T>(_ server: RecordingServer, _ overrides: [String: String?] = [:], secrets: [String: String] = [:],
                        _ body: (HTTPTargetAdapter) async throws -> T) async throws -> T {
        let adapter = try HTTPTargetAdapter(settings: try settings(server, overrides), secrets: secrets, partnersFolder: NordicActions.partners)
        do {
            let result = try await body(adapter)
            await adapter.shutdown()
            return result
        } catch {
            await adapter.shutdown()
            throw error
        }
    }
}
