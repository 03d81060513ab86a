import AdapterKit
import AdapterKitTesting
import CausewayCore
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HTTPAdapter
import Testing

@Suite("HTTP adapter: XML documents and SOAP against a real HTTP server on loopback")
struct XMLAdapterTests {
    static let order = "urn:oasis:names:specification:ubl:schema:xsd:Order-2"
    static let cac = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    static let cbc = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

    /// Child elements by namespace URI and local name (FoundationXML's own lookup by URI misses them on Linux).
    static func children(of element: XMLElement, _ localName: String, _ uri: String) -> [XMLElement] {
        (element.children ?? []).compactMap { $0 as? XMLElement }.filter { $0.localName == localName && $0.uri == uri }
    }

    @Test("passes the adapter conformance suite (the nordic UBL order)")
    func conformance() async throws {
        let server = try RecordingServer()
        let failures = try await TestAdapter.with(server) { adapter in
            await AdapterConformance.run(adapter) { try! NordicActions.delivery(1) }
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test("the nordic UBL 2.1 order of every mappable fixture validates and reaches /orders with its namespaces",
          arguments: NordicActions.mappable)
    func nordicOrder(fixture: String) async throws {
        let server = try RecordingServer()
        let delivery = try NordicActions.delivery(1, fixture: fixture)
        let outcome = try await TestAdapter.with(server) { await $0.deliver(delivery) }
        #expect(outcome.outcomeClass == .delivered, "\(fixture): \(outcome)")
        #expect(outcome.reference?.id.hasPrefix("/orders/") == true, "\(outcome)")
        let request = try #require(try server.deliveries().first)
        #expect(request.path == "/orders" && request.header("Content-Type") == "application/xml; charset=utf-8")
        #expect(request.header("Idempotency-Key") == delivery.idempotencyKey)
        let document = try XMLDocument(xmlString: request.body, options: [])
        let root = try #require(document.rootElement())
        #expect(root.localName == "Order" && root.uri == Self.order)
        let id = try #require(Self.children(of: root, "ID", Self.cbc).first)
        #expect(id.stringValue == delivery.agreementID)
        let lines = Self.children(of: root, "OrderLine", Self.cac)
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { !Self.children(of: $0, "LineItem", Self.cac).isEmpty })
    }

    @Test("concurrent deliveries validate safely through the one guarded libxml2 validator")
    func concurrentValidation() async throws {
        let server = try RecordingServer()
        let deliveries = try (0..<16).map { try NordicActions.delivery(1, fixture: NordicActions.mappable[$0 % NordicActions.mappable.count]) }
        let outcomes = try await TestAdapter.with(server) { adapter in
            await withTaskGroup(of: DeliveryOutcome.self) { group in
                for delivery in deliveries { group.addTask { await adapter.deliver(delivery) } }
                return await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(outcomes.allSatisfy { $0.outcomeClass == .delivered }, "\(outcomes)")
        #expect(Set(outcomes.compactMap(\.reference)).count == 16)
        #expect(try server.deliveries().count == 16)
    }

    @Test("an invalid document is rejected with libxml2's line and message, values withheld, and nothing is sent")
    func invalidDocument() async throws {
        let server = try RecordingServer()
        let good = try NordicActions.delivery(1)
        guard case .xml(let xml) = good.action.payload else { Issue.record("not xml"); return }
        // IssueDate in a local format, and an element the schema does not know.
        let children = xml.root.children.map { child -> XMLChild in
            if case .element(let e) = child, e.name == "cbc:IssueDate" { return .element(XMLElementNode(name: e.name, children: [.text("15.11.2026")])) }
            return child
        }
        let broken = XMLDocumentAction(root: XMLElementNode(name: xml.root.name, namespaces: xml.root.namespaces, attributes: xml.root.attributes,
                                                            children: children), soap: nil, schema: xml.schema, path: xml.path)
        let delivery = NordicActions.replacing(good, with: .xml(broken))
        let outcome = try await TestAdapter.with(server) { await $0.deliver(delivery) }
        #expect(outcome.outcomeClass == .rejected, "\(outcome)")
        let reason = try #require(outcome.reason)
        #expect(reason.contains("schemas/UBL-Order-2.1-subset.xsd"), "\(reason)")
        #expect(reason.contains("line 2, /Order/cbc:IssueDate: Element '{\(Self.cbc)}IssueDate'"), "\(reason)")
        #expect(reason.contains("(value withheld) is not a valid value of the atomic type '{\(Self.cbc)}DateType'"), "\(reason)")
        #expect(!reason.contains("15.11.2026"), "the value is withheld: \(reason)")
        #expect(try server.requests().isEmpty)

        // Out of order: the schema's sequence names what it expected.
        let reordered = XMLDocumentAction(root: XMLElementNode(name: xml.root.name, namespaces: xml.root.namespaces,
                                                               children: Array(xml.root.children.reversed())),
                                          soap: nil, schema: xml.schema, path: xml.path)
        let second = try await TestAdapter.with(server) { await $0.deliver(NordicActions.replacing(good, with: .xml(reordered))) }
        #expect(second.outcomeClass == .rejected && second.reason?.contains("This element is not expected") == true, "\(second)")
        #expect(try server.requests().isEmpty)
    }

    @Test("a schema outside the partner folder or missing is rejected naming xml.schema")
    func schemaPaths() async throws {
        let server = try RecordingServer()
        let good = try NordicActions.delivery(1)
        guard case .xml(let xml) = good.action.payload else { Issue.record("not xml"); return }
        try await TestAdapter.with(server) { adapter in
            for schema in ["../stahlteile/partner.yaml", "/etc/passwd", "schemas/missing.xsd"] {
                let action = XMLDocumentAction(root: xml.root, soap: nil, schema: schema, path: xml.path)
                let outcome = await adapter.deliver(NordicActions.replacing(good, with: .xml(action)))
                #expect(outcome.outcomeClass == .rejected && outcome.reason?.hasPrefix("xml.schema:") == true, "\(schema): \(outcome)")
            }
        }
        #expect(try server.requests().isEmpty)
    }

    @Test("the mapping pins the schema's bytes: an action carries their digest, and one that does not match is rejected, nothing sent")
    func pinnedSchema() async throws {
        let server = try RecordingServer()
        let good = try NordicActions.delivery(1)
        guard case .xml(let xml) = good.action.payload, let schema = xml.schema else { Issue.record("not xml with a schema"); return }
        let bytes = Array(try Data(contentsOf: NordicActions.folder.appendingPathComponent(schema)))
        #expect(xml.schemaDigest == ContentDigest(of: bytes), "the loaded mapping records the schema's digest in the action")
        let stale = XMLDocumentAction(root: xml.root, soap: xml.soap, schema: schema, schemaDigest: ContentDigest(of: Array("another schema".utf8)),
                                      path: xml.path)
        try await TestAdapter.with(server) { adapter in
            let outcome = await adapter.deliver(NordicActions.replacing(good, with: .xml(stale)))
            #expect(outcome.outcomeClass == .rejected && outcome.reason?.contains("pinned") == true, "\(outcome)")
        }
        #expect(try server.requests().isEmpty)
    }

    @Test("SOAP 1.1 and 1.2 envelopes: SOAPAction header, action parameter, envelope namespaces")
    func soapEnvelopes() async throws {
        let server = try RecordingServer()
        try await TestAdapter.with(server) { adapter in
            let v11 = await adapter.deliver(SampleActions.soap(version: "1.1", action: "urn:example:orders#Submit"))
            #expect(v11.outcomeClass == .delivered, "\(v11)")
            let v12 = await adapter.deliver(SampleActions.soap(version: "1.2", action: "urn:example:orders#Submit"))
            #expect(v12.outcomeClass == .delivered, "\(v12)")
        }
        let requests = try server.deliveries()
        try #require(requests.count == 2)
        #expect(requests[0].header("SOAPAction") == "\"urn:example:orders#Submit\"")
        #expect(requests[0].header("Content-Type") == "text/xml; charset=utf-8")
        #expect(requests[1].header("SOAPAction") == nil)
        #expect(requests[1].header("Content-Type") == "application/soap+xml; charset=utf-8; action=\"urn:example:orders#Submit\"")
        for (request, uri) in zip(requests, ["http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"]) {
            let root = try #require(try XMLDocument(xmlString: request.body, options: []).rootElement())
            #expect(root.localName == "Envelope" && root.uri == uri)
            let body = try #require(Self.children(of: root, "Body", uri).first)
            let submit = try #require(Self.children(of: body, "SubmitOrder", "urn:example:orders").first)
            #expect(submit.stringValue == "PO-1 & <co>")
        }
    }

    @Test("SOAP faults of either version are rejected with their fault string")
    func soapFaults() async throws {
        let fault11 = """
            <?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>\
            <faultcode>s:Client</faultcode><faultstring>Unknown buyer party</faultstring></s:Fault></s:Body></s:Envelope>
            """
        let fault12 = """
            <?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault>\
            <env:Code><env:Value>env:Sender</env:Value></env:Code><env:Reason><env:Text xml:lang="en">Order total does not match its lines</env:Text>\
            </env:Reason></env:Fault></env:Body></env:Envelope>
            """
        let server = try RecordingServer(paths: [
            "/soap11": ["kind": "fixed", "status": 500, "content_type": "text/xml; charset=utf-8", "body": .string(fault11)],
            "/soap12": ["kind": "fixed", "status": 400, "content_type": "application/soap+xml", "body": .string(fault12)],
        ])
        try await TestAdapter.with(server) { adapter in
            let v11 = await adapter.deliver(SampleActions.soap(version: "1.1", action: nil, path: "/soap11"))
            #expect(v11.outcomeClass == .rejected, "\(v11)")
            #expect(v11.reason?.contains("SOAP fault [s:Client]: Unknown buyer party") == true, "\(v11)")
            let v12 = await adapter.deliver(SampleActions.soap(version: "1.2", action: nil, path: "/soap12"))
            #expect(v12.outcomeClass == .rejected, "\(v12)")
            #expect(v12.reason?.contains("SOAP fault [env:Sender]: Order total does not match its lines") == true, "\(v12)")
        }
        #expect(try server.deliveries().first?.header("SOAPAction") == "\"\"")
    }

    @Test("the nordic portal notification arrives with its Idempotency-Key; the notification id is the reference")
    func portalNotification() async throws {
        let server = try RecordingServer()
        let delivery = try NordicActions.delivery(2, fixture: "multi-line")
        let outcome = try await TestAdapter.with(server) { await $0.deliver(delivery) }
        #expect(outcome.outcomeClass == .delivered, "\(outcome)")
        #expect(outcome.reference?.id.hasPrefix("N-") == true && outcome.reference?.kind == "/api/v1/order-notifications", "\(outcome)")
        let request = try #require(try server.deliveries().first)
        #expect(request.path == "/api/v1/order-notifications")
        #expect(request.header("Idempotency-Key") == delivery.idempotencyKey && delivery.idempotencyKey.hasSuffix("/2"))
        #expect(request.header("X-Buyer") == "Konepaja Oy")
        guard case .http(let http) = delivery.action.payload else { Issue.record("not http"); return }
        #expect(Array(request.body.utf8) == JCS.canonicalize(try #require(http.body)))
        let body = try JSONReader().read(request.body)
        #expect(body["total"]?.stringValue == http.body?["total"]?.stringValue && body["total"]?.stringValue?.contains(".") == true)
    }
}
