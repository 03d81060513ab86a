import CLibXML2
import Foundation
import Synchronization

/// XML Schema (XSD) validation and small XML reads through libxml2.
///
/// Compiled schemas are cached by path for the validator's lifetime. libxml2's parser and
/// validation contexts (and its per-thread error hooks) are not safe to share between threads,
/// so every libxml2 call of a validator runs under its one lock; validation of a purchase order
/// takes well under a millisecond, so the lock is never a bottleneck.
final class XMLSchemaValidator: Sendable {
    /// One problem libxml2 reported: the line in the validated document, the element's path
    /// (`/Order/cac:OrderLine[2]/cbc:ID`) when known, and libxml2's message with values withheld.
    struct Problem: Sendable, Hashable, CustomStringConvertible {
        let line: Int
        let path: String?
        let message: String

        var description: String { "line \(line)" + (path.map { ", \($0)" } ?? "") + ": " + message }
    }

    enum Result: Sendable, Hashable {
        case valid
        /// The document does not conform (or is not well-formed).
        case invalid([Problem])
        /// The schema itself cannot be read or compiled.
        case unusableSchema(String)
    }

    /// Compiled schemas by absolute path. `xmlSchemaPtr` is not Sendable; the Mutex owns them and
    /// only hands them to libxml2 under the lock.
    private let schemas = Mutex<[String: OpaquePointer]>([:])

    init() { xmlInitParser() }

    deinit {
        schemas.withLock { cache in
            for schema in cache.values { xmlSchemaFree(schema) }
            cache.removeAll()
        }
    }

    /// Validates `document` (UTF-8 XML text) against the XSD at `schemaURL`.
    func validate(_ document: String, schemaURL: URL) -> Result {
        let path = schemaURL.standardizedFileURL.path
        return schemas.withLock { cache -> Result in
            let schema: OpaquePointer
            if let cached = cache[path] {
                schema = cached
            } else {
                let sink = ErrorSink()
                let box = Unmanaged.passUnretained(sink).toOpaque()
                guard let parser = xmlSchemaNewParserCtxt(path) else { return .unusableSchema("cannot open the schema") }
                xmlSchemaSetParserStructuredErrors(parser, errorSinkCallback, box)
                let parsed = xmlSchemaParse(parser)
                xmlSchemaFreeParserCtxt(parser)
                guard let parsed else {
                    return .unusableSchema(sink.problems.first.map { "libxml2: \($0.message)" } ?? "libxml2 cannot compile it")
                }
                withExtendedLifetime(sink) {}
                cache[path] = parsed
                schema = parsed
            }

            let sink = ErrorSink()
            let box = Unmanaged.passUnretained(sink).toOpaque()
            return withExtendedLifetime(sink) { () -> Result in
                guard let doc = Self.parse(document, sink: box) else {
                    return .invalid(sink.problems.isEmpty ? [Problem(line: 0, path: nil, message: "not well-formed XML")] : sink.problems)
                }
                defer { xmlFreeDoc(doc) }
                guard let context = xmlSchemaNewValidCtxt(schema) else { return .unusableSchema("libxml2 cannot make a validation context") }
                defer { xmlSchemaFreeValidCtxt(context) }
                xmlSchemaSetValidStructuredErrors(context, errorSinkCallback, box)
                let code = xmlSchemaValidateDoc(context, doc)
                if code == 0 { return .valid }
                return .invalid(sink.problems.isEmpty ? [Problem(line: 0, path: nil, message: "libxml2 error \(code)")] : sink.problems)
            }
        }
    }

    /// The fault of a SOAP 1.1 or 1.2 envelope (`faultstring`, or the first `Reason/Text`), or
    /// nil when `body` is not a SOAP envelope with a Fault.
    func soapFault(in body: [UInt8]) -> (code: String?, message: String)? {
        guard !body.isEmpty, let text = String(validating: body, as: UTF8.self) else { return nil }
        return schemas.withLock { _ -> (code: String?, message: String)? in
            let sink = ErrorSink()
            let box = Unmanaged.passUnretained(sink).toOpaque()
            return withExtendedLifetime(sink) { () -> (code: String?, message: String)? in
                guard let doc = Self.parse(text, sink: box) else { return nil }
                defer { xmlFreeDoc(doc) }
                guard let envelope = xmlDocGetRootElement(doc), XMLNode.isSOAP(envelope, "Envelope"),
                    let soapBody = XMLNode.children(of: envelope).first(where: { XMLNode.isSOAP($0, "Body") }),
                    let fault = XMLNode.children(of: soapBody).first(where: { XMLNode.isSOAP($0, "Fault") })
                else { return nil }
                let parts = XMLNode.children(of: fault)
                // SOAP 1.1: unqualified faultcode / faultstring.
                if let string = parts.first(where: { XMLNode.localName($0) == "faultstring" }) {
                    let code = parts.first(where: { XMLNode.localName($0) == "faultcode" }).map(XMLNode.text)
                    return (code, XMLNode.text(string))
                }
                // SOAP 1.2: Code/Value and Reason/Text.
                let code = parts.first(where: { XMLNode.isSOAP($0, "Code") }).flatMap { c in
                    XMLNode.children(of: c).first(where: { XMLNode.isSOAP($0, "Value") }).map(XMLNode.text)
                }
                let reason = parts.first(where: { XMLNode.isSOAP($0, "Reason") }).flatMap { r in
                    XMLNode.children(of: r).first(where: { XMLNode.isSOAP($0, "Text") }).map(XMLNode.text)
                }
                return (code, reason ?? "a SOAP fault without a reason")
            }
        }
    }

    /// Parses without network access and without substituting entities; errors go to `sink`.
    /// Called under the lock (the structured error hook is per thread and reset before returning).
    private static func parse(_ text: String, sink: UnsafeMutableRawPointer) -> xmlDocPtr? {
        xmlSetStructuredErrorFunc(sink, errorSinkCallback)
        defer { xmlSetStructuredErrorFunc(nil, nil) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { pointer in
                xmlReadMemory(pointer, Int32(buffer.count), "document.xml", "UTF-8", Int32(XML_PARSE_NONET.rawValue))
            }
        }
    }
}

/// Collects libxml2's structured errors (called on the validating thread, under the lock).
private final class ErrorSink {
    var problems: [XMLSchemaValidator.Problem] = []

    func add(_ error: xmlError) {
        guard error.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
        var message = error.message.map { String(cString: $0) } ?? "error \(error.code)"
        message = message.trimmingCharacters(in: .whitespacesAndNewlines)
        var path: String?
        if let node = error.node?.assumingMemoryBound(to: xmlNode.self), node.pointee.type == XML_ELEMENT_NODE {
            path = XMLNode.path(of: node)
        }
        problems.append(.init(line: Int(error.line), path: path, message: XMLSchemaValidator.withholdingValues(message)))
    }
}

private let errorSinkCallback: xmlStructuredErrorFunc = { userData, error in
    guard let userData, let error else { return }
    Unmanaged<ErrorSink>.fromOpaque(userData).takeUnretainedValue().add(error.pointee)
}

extension XMLSchemaValidator {
    /// libxml2's message with the document's values replaced by `(value withheld)`: reasons are
    /// stored and shown to operators, and agreements carry commercial data. Element, attribute
    /// and type names (which come from the schema) stay.
    static func withholdingValues(_ message: String) -> String {
        var result = message
        // "Element 'x': 'VALUE' is not a valid value of …" (greedy: a value may contain quotes).
        result = result.replacingOccurrences(of: #"(': )'.*'( is not a valid value)"#, with: "$1(value withheld)$2", options: .regularExpression)
        // "[facet 'pattern'] The value 'VALUE' is not accepted …", "The value 'VALUE' has a length …".
        result = result.replacingOccurrences(of: #"(The value )'.*'( is | has )"#, with: "$1(value withheld)$2", options: .regularExpression)
        return result
    }
}

/// Reads of libxml2 element nodes.
enum XMLNode {
    static let soapNamespaces: Set<String> = ["http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"]

    static func localName(_ node: xmlNodePtr) -> String { node.pointee.name.map { String(cString: $0) } ?? "" }

    static func namespace(_ node: xmlNodePtr) -> String? { node.pointee.ns?.pointee.href.map { String(cString: $0) } }

    static func isSOAP(_ node: xmlNodePtr, _ name: String) -> Bool {
        localName(node) == name && namespace(node).map(soapNamespaces.contains) == true
    }

    /// Element children in order.
    static func children(of node: xmlNodePtr) -> [xmlNodePtr] {
        var result: [xmlNodePtr] = []
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE { result.append(current) }
            child = current.pointee.next
        }
        return result
    }

    /// The concatenated text and CDATA content below `node`, trimmed.
    static func text(_ node: xmlNodePtr) -> String {
        var output = ""
        func collect(_ n: xmlNodePtr) {
            var child = n.pointee.children
            while let current = child {
                switch current.pointee.type {
                case XML_TEXT_NODE, XML_CDATA_SECTION_NODE: output += current.pointee.content.map { String(cString: $0) } ?? ""
                case XML_ELEMENT_NODE: collect(current)
                default: break
                }
                child = current.pointee.next
            }
        }
        collect(node)
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `/Order/cac:OrderLine[2]/cbc:ID`: prefixed names, with a position where siblings share a name.
    static func path(of node: xmlNodePtr) -> String {
        var steps: [String] = []
        var current: xmlNodePtr? = node
        while let n = current, n.pointee.type == XML_ELEMENT_NODE {
            var name = localName(n)
            if let prefix = n.pointee.ns?.pointee.prefix { name = String(cString: prefix) + ":" + name }
            var position = 1, total = 0
            if let parent = n.pointee.parent, parent.pointee.type == XML_ELEMENT_NODE {
                for sibling in children(of: parent) where localName(sibling) == localName(n) && namespace(sibling) == namespace(n) {
                    total += 1
                    if sibling == n { position = total }
                }
            }
            steps.append(total > 1 ? "\(name)[\(position)]" : name)
            current = n.pointee.parent
        }
        return "/" + steps.reversed().joined(separator: "/")
    }
}
