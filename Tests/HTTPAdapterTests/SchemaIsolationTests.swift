import CausewayCore
import CausewayTesting
import Foundation
@testable import HTTPAdapter
import Testing

/// libxml2 may read nothing but the partner folder: no network, no other files, no DTDs or
/// entities, and a schema's bytes are pinned when first read.
@Suite("XML Schema validation is confined to the partner folder")
struct SchemaIsolationTests {
    static let main = "urn:causeway:test"

    /// `root/partner/` with the given files; returns (root, partner folder).
    static func folder(_ files: [String: String]) throws -> (URL, URL) {
        let root = try CommandRunner.temporaryDirectory("xsd-isolation")
        let partner = root.appendingPathComponent("partner")
        try FileManager.default.createDirectory(at: partner, withIntermediateDirectories: true)
        for (name, text) in files {
            let url = name.hasPrefix("/") ? URL(fileURLWithPath: root.path + name) : partner.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        return (root, partner)
    }

    static func schema(_ inner: String = "", type: String = "xs:string") -> String {
        """
        <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="\(main)" elementFormDefault="qualified">
          \(inner)
          <xs:element name="a" type="\(type)"/>
        </xs:schema>
        """
    }

    static let document = "<a xmlns=\"\(main)\">x</a>"

    static func unusable(_ result: XMLSchemaValidator.Result) -> String? {
        if case .unusableSchema(let why) = result { return why }
        return nil
    }

    @Test("an xs:import of an http URL is refused and the server is never contacted")
    func importOverNetwork() throws {
        let server = try RecordingServer()
        let location = "\(server.baseURL)/x.xsd"
        let (_, partner) = try Self.folder(["s.xsd": Self.schema("<xs:import namespace=\"urn:x\" schemaLocation=\"\(location)\"/>")])
        let result = XMLSchemaValidator().validate(Self.document, schemaURL: partner.appendingPathComponent("s.xsd"), within: partner)
        let why = try #require(Self.unusable(result), "\(result)")
        #expect(why.contains(location) && why.contains("inside the partner folder"), "\(why)")
        #expect(try server.requests().isEmpty, "libxml2 contacted the server")
    }

    @Test("an xs:include of a file outside the partner folder is refused, by path, by ../ and through a symbolic link",
          arguments: ["../outside.xsd", "../../../../../../etc/passwd", "link.xsd"])
    func includeOutside(location: String) throws {
        let (root, partner) = try Self.folder([
            "s.xsd": Self.schema("<xs:include schemaLocation=\"\(location)\"/>"),
            "/outside.xsd": "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" targetNamespace=\"\(Self.main)\"><xs:element name=\"b\" type=\"xs:string\"/></xs:schema>",
        ])
        try FileManager.default.createSymbolicLink(atPath: partner.appendingPathComponent("link.xsd").path,
                                                   withDestinationPath: root.appendingPathComponent("outside.xsd").path)
        let result = XMLSchemaValidator().validate(Self.document, schemaURL: partner.appendingPathComponent("s.xsd"), within: partner)
        let why = try #require(Self.unusable(result), "\(result)")
        #expect(why.contains("inside the partner folder"), "\(why)")
    }

    @Test("an xs:include inside the partner folder still works")
    func includeInside() throws {
        let (_, partner) = try Self.folder([
            "s.xsd": Self.schema("<xs:include schemaLocation=\"common/b.xsd\"/>"),
            "common/b.xsd": "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" targetNamespace=\"\(Self.main)\"><xs:element name=\"b\" type=\"xs:string\"/></xs:schema>",
        ])
        let validator = XMLSchemaValidator()
        #expect(validator.validate(Self.document, schemaURL: partner.appendingPathComponent("s.xsd"), within: partner) == .valid)
        #expect(validator.validate("<b xmlns=\"\(Self.main)\">y</b>", schemaURL: partner.appendingPathComponent("s.xsd"), within: partner) == .valid)
    }

    @Test("a document or schema with a DOCTYPE (external entity, DTD) is refused and nothing is fetched")
    func doctype() throws {
        let server = try RecordingServer()
        let (_, partner) = try Self.folder(["s.xsd": Self.schema(),
                                            "dtd.xsd": "<!DOCTYPE xs:schema SYSTEM \"\(server.baseURL)/schema.dtd\">\n" + Self.schema()])
        let validator = XMLSchemaValidator()
        let hostile = "<!DOCTYPE a [<!ENTITY e SYSTEM \"\(server.baseURL)/entity\"><!ENTITY f SYSTEM \"file:///etc/hostname\">]><a xmlns=\"\(Self.main)\">&e;&f;</a>"
        let result = validator.validate(hostile, schemaURL: partner.appendingPathComponent("s.xsd"), within: partner)
        guard case .invalid(let problems) = result else { Issue.record("accepted: \(result)"); return }
        #expect(problems.contains { $0.message.contains("DOCTYPE") }, "\(problems)")
        let schema = validator.validate(Self.document, schemaURL: partner.appendingPathComponent("dtd.xsd"), within: partner)
        #expect(Self.unusable(schema)?.contains("DOCTYPE") == true, "\(schema)")
        // A SOAP answer with an external entity is not read as a fault.
        let fault = "<!DOCTYPE s:Envelope [<!ENTITY e SYSTEM \"\(server.baseURL)/fault\">]><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>&e;</faultstring></s:Fault></s:Body></s:Envelope>"
        #expect(validator.soapFault(in: Array(fault.utf8)) == nil)
        #expect(try server.requests().isEmpty, "libxml2 contacted the server")
    }

    @Test("the schema's bytes are read once and pinned: a pinned digest that differs is refused, a later edit on disk is not used")
    func pinned() throws {
        let original = Self.schema()
        let (_, partner) = try Self.folder(["s.xsd": original])
        let url = partner.appendingPathComponent("s.xsd")
        let wrong = ContentDigest(of: Array("another schema".utf8))
        let refused = XMLSchemaValidator().validate(Self.document, schemaURL: url, within: partner, pinned: wrong)
        #expect(Self.unusable(refused)?.contains("pinned") == true, "\(refused)")
        let validator = XMLSchemaValidator()
        let right = ContentDigest(of: Array(original.utf8))
        #expect(validator.validate(Self.document, schemaURL: url, within: partner, pinned: right) == .valid)
        // Edited on disk to demand an integer: the validator keeps the bytes it read.
        try Data(Self.schema(type: "xs:int").utf8).write(to: url)
        #expect(validator.validate(Self.document, schemaURL: url, within: partner, pinned: right) == .valid)
    }
}
