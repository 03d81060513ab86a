/// Serialises XML element trees. Text and attribute values are escaped here, so a mapping can
/// never inject markup: there are no string templates anywhere.
public enum XMLSerializer {
    /// The document with an XML declaration, wrapped in a SOAP envelope when the action asks.
    public static func document(_ action: XMLDocumentAction) -> String {
        var output = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        if let soap = action.soap {
            let uri = soap.version == "1.2" ? "http://www.w3.org/2003/05/soap-envelope" : "http://schemas.xmlsoap.org/soap/envelope/"
            let envelope = XMLElementNode(name: "soap:Envelope", namespaces: [("soap", uri)], children: [
                .element(XMLElementNode(name: "soap:Body", children: [.element(action.root)])),
            ])
            write(envelope, to: &output)
        } else {
            write(action.root, to: &output)
        }
        output += "\n"
        return output
    }

    /// The element alone, without declaration.
    public static func element(_ element: XMLElementNode) -> String {
        var output = ""
        write(element, to: &output)
        return output
    }

    static func write(_ element: XMLElementNode, to output: inout String) {
        output += "<" + element.name
        for (prefix, uri) in element.namespaces {
            output += prefix.isEmpty ? " xmlns=\"" : " xmlns:\(prefix)=\""
            output += escape(uri, attribute: true) + "\""
        }
        for (name, value) in element.attributes {
            output += " \(name)=\"" + escape(value, attribute: true) + "\""
        }
        if element.children.isEmpty {
            output += "/>"
            return
        }
        output += ">"
        for child in element.children {
            switch child {
            case .element(let nested): write(nested, to: &output)
            case .text(let text): output += escape(text, attribute: false)
            }
        }
        output += "</" + element.name + ">"
    }

    /// Escapes `&`, `<`, `>` (and quotes and whitespace controls in attributes); drops characters XML 1.0 forbids.
    public static func escape(_ text: String, attribute: Bool) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"" where attribute: result += "&quot;"
            case "\n" where attribute: result += "&#10;"
            case "\r": result += "&#13;"
            case "\t" where attribute: result += "&#9;"
            default:
                let v = scalar.value
                // XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
                if v == 0x9 || v == 0xA || (0x20...0xD7FF).contains(v) || (0xE000...0xFFFD).contains(v) || v >= 0x10000 {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }
}
