import CLibXML2
import CausewayCore
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

    /// A compiled schema, the parsed document it was compiled from (libxml2 keeps pointers into
    /// it), and the digest of the bytes read once at load.
    private struct Compiled {
        let schema: OpaquePointer
        let document: xmlDocPtr
        let digest: ContentDigest
    }

    /// Compiled schemas by absolute path. `xmlSchemaPtr` is not Sendable; the Mutex owns them and
    /// only hands them to libxml2 under the lock.
    private let schemas: Mutex<[String: Compiled]>

    init() {
        xmlInitParser()
        // Every external load libxml2 would make (schema imports and includes, DTDs, entities)
        // goes through this loader: files inside the partner folder being compiled, nothing else.
        xmlSetExternalEntityLoader(folderOnlyEntityLoader)
        schemas = Mutex([:])
    }

    deinit {
        schemas.withLock { cache in
            for compiled in cache.values {
                xmlSchemaFree(compiled.schema)
                xmlFreeDoc(compiled.document)
            }
            cache.removeAll()
        }
    }

    /// Validates `document` (UTF-8 XML text) against the XSD at `schemaURL`.
    ///
    /// The schema's bytes are read once, at first use, and compiled from memory: no network, no
    /// DTD, no entities; its `xs:import` and `xs:include` resolve only to files inside `folder`
    /// (the partner folder). When `pinned` is given (the digest the mapping recorded), bytes with
    /// another digest are refused; without it the first read pins the schema for the validator's
    /// lifetime, so a schema edited on disk later is never used.
    func validate(_ document: String, schemaURL: URL, within folder: URL, pinned: ContentDigest? = nil) -> Result {
        let path = schemaURL.standardizedFileURL.path
        return schemas.withLock { cache -> Result in
            let compiled: Compiled
            if let cached = cache[path] {
                compiled = cached
            } else {
                switch Self.compile(path: path, folder: folder) {
                case .failure(let problem): return .unusableSchema(problem.message)
                case .success(let fresh):
                    cache[path] = fresh
                    compiled = fresh
                }
            }
            if let pinned, pinned != compiled.digest {
                return .unusableSchema("its bytes (\(compiled.digest)) are not the ones the mapping pinned (\(pinned)); reload the partner after changing a schema")
            }
            let schema = compiled.schema

            let sink = ErrorSink()
            let box = Unmanaged.passUnretained(sink).toOpaque()
            return withExtendedLifetime(sink) { () -> Result in
                guard let doc = Self.parse(document, sink: box) else {
                    return .invalid(sink.problems.isEmpty ? [Problem(line: 0, path: nil, message: "not well-formed XML")] : sink.problems)
                }
                defer { xmlFreeDoc(doc) }
                if Self.hasDoctype(doc) {
                    return .invalid([Problem(line: 0, path: nil, message: "the document has a DOCTYPE: DTDs and entities are not accepted")])
                }
                guard let context = xmlSchemaNewValidCtxt(schema) else { return .unusableSchema("libxml2 cannot make a validation context") }
                defer { xmlSchemaFreeValidCtxt(context) }
                xmlSchemaSetValidStructuredErrors(context, errorSinkCallback, box)
                let code = xmlSchemaValidateDoc(context, doc)
                if code == 0 { return .valid }
                return .invalid(sink.problems.isEmpty ? [Problem(line: 0, path: nil, message: "libxml2 error \(code)")] : sink.problems)
            }
        }
    }

    struct CompileProblem: Error {
        let message: String
    }

    /// Reads the schema once, refuses a DOCTYPE, and compiles it with external loads confined to
    /// `folder`. Called under the lock.
    private static func compile(path: String, folder: URL) -> Swift.Result<Compiled, CompileProblem> {
        guard let root = realPath(folder.path) else { return .failure(.init(message: "the partner folder \(folder.path) cannot be read")) }
        guard let real = realPath(path), isInside(real, root) else {
            return .failure(.init(message: "the schema must be a file inside the partner folder \(root)"))
        }
        guard let bytes = FileManager.default.contents(atPath: real).map(Array.init) else { return .failure(.init(message: "cannot read the schema")) }
        let digest = ContentDigest(of: bytes)
        return libxml2Loads.withLock { loads -> Swift.Result<Compiled, CompileProblem> in
            loads = ExternalLoads(root: root)
            libxml2Root.withLock { $0 = root }
            libxml2Refused.withLock { $0.removeAll() }
            defer {
                libxml2Root.withLock { $0 = nil }
                loads = ExternalLoads(root: nil)
            }
            let sink = ErrorSink()
            let box = Unmanaged.passUnretained(sink).toOpaque()
            return withExtendedLifetime(sink) { () -> Swift.Result<Compiled, CompileProblem> in
                xmlSetStructuredErrorFunc(box, errorSinkCallback)
                defer { xmlSetStructuredErrorFunc(nil, nil) }
                let document = bytes.withUnsafeBufferPointer { buffer in
                    buffer.baseAddress.flatMap { base in
                        base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { pointer in
                            xmlReadMemory(pointer, Int32(clamping: buffer.count), real, nil, Int32(XML_PARSE_NONET.rawValue))
                        }
                    }
                }
                guard let document else {
                    return .failure(.init(message: sink.problems.first.map { "libxml2: \($0.message)" } ?? "not well-formed XML"))
                }
                if hasDoctype(document) {
                    xmlFreeDoc(document)
                    return .failure(.init(message: "the schema has a DOCTYPE: DTDs and entities are not accepted in schemas"))
                }
                guard let parser = xmlSchemaNewDocParserCtxt(document) else {
                    xmlFreeDoc(document)
                    return .failure(.init(message: "libxml2 cannot make a schema parser"))
                }
                xmlSchemaSetParserStructuredErrors(parser, errorSinkCallback, box)
                let parsed = xmlSchemaParse(parser)
                xmlSchemaFreeParserCtxt(parser)
                let refused = libxml2Refused.withLock { refused in
                    defer { refused.removeAll() }
                    return refused
                }
                if let first = refused.first {
                    if let parsed { xmlSchemaFree(parsed) }
                    xmlFreeDoc(document)
                    return .failure(.init(message: "it refers to \(first), which was not loaded: schema imports and includes must be files inside the partner folder \(root) (no network, no other files)"))
                }
                guard let parsed else {
                    xmlFreeDoc(document)
                    return .failure(.init(message: sink.problems.first.map { "libxml2: \($0.message)" } ?? "libxml2 cannot compile it"))
                }
                return .success(Compiled(schema: parsed, document: document, digest: digest))
            }
        }
    }

    /// Whether a parsed document declares a DOCTYPE (an internal or external DTD subset).
    static func hasDoctype(_ doc: xmlDocPtr) -> Bool { doc.pointee.intSubset != nil || doc.pointee.extSubset != nil }

    /// The canonical absolute path with symbolic links resolved, or nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isInside(_ path: String, _ root: String) -> Bool { path.hasPrefix(root.hasSuffix("/") ? root : root + "/") }

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
                // A SOAP message must not contain a DOCTYPE (SOAP 1.1 §3, SOAP 1.2 part 1 §5).
                guard !Self.hasDoctype(doc) else { return nil }
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

    /// Parses without network access, without loading a DTD and without substituting entities
    /// (the external entity loader refuses every load outside a schema compilation); errors go to `sink`.
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

/// What the external entity loader may read: files below `root` while a schema compiles, nothing
/// otherwise.
private struct ExternalLoads {
    let root: String?
}

/// Taken around a schema compilation (the loader is process-wide, shared by every validator).
private let libxml2Loads = Mutex(ExternalLoads(root: nil))
/// The root the loader currently allows, read by the loader itself (which runs while
/// `libxml2Loads` is held, so it cannot take that lock).
private let libxml2Root = Mutex<String?>(nil)
/// URLs and paths the loader refused during the current compilation.
private let libxml2Refused = Mutex<[String]>([])

/// libxml2's external entity loader: a plain path or `file:` URL that resolves inside the allowed
/// root is opened; everything else (http, ftp, files elsewhere, any load outside a compilation)
/// is refused and recorded.
private let folderOnlyEntityLoader: xmlExternalEntityLoader = { url, _, context in
    let text = url.map { String(cString: $0) } ?? ""
    var path = text
    if path.hasPrefix("file://") { path = String(path.dropFirst("file://".count)) }
    let root = libxml2Root.withLock { $0 }
    if let root, !path.contains("://"), let real = XMLSchemaValidator.realPath(path), XMLSchemaValidator.isInside(real, root) {
        return real.withCString { xmlNewInputFromFile(context, $0) }
    }
    libxml2Refused.withLock { $0.append(text.isEmpty ? "(an unnamed entity)" : text) }
    return nil
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
