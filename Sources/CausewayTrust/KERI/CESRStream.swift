/// One event of a CESR v1 stream with its controller signatures.
public struct KERIMessage: Sendable, Hashable {
    /// The exact event bytes the controller signed (as framed by the version string).
    public let raw: [UInt8]
    /// Controller indexed signatures from `-A` groups (also inside `-V`/`-0V` groups), in order.
    public let signatures: [KERIIndexedSignature]

    public init(raw: [UInt8], signatures: [KERIIndexedSignature]) {
        self.raw = raw
        self.signatures = signatures
    }

    /// The message as CESR v1 text: the event followed by one `-A` group.
    public var cesr: [UInt8] {
        raw + Array(CESRCounter.text("-A", count: signatures.count).utf8) + signatures.flatMap { Array($0.qb64.utf8) }
    }
}

/// Reads CESR v1 streams: `{event}` + attachments, repeated; an optional `--AAABAA` genus code.
public enum CESRStream {
    /// Splits a stream into events and their controller signatures.
    ///
    /// The version string `{"v":"KERI10JSON` + 6 lowercase hex digits + `_"` must open each event
    /// exactly; those hex digits are the event's size. Attachments run to the next `{` or the end.
    /// Witness receipts, delegation seals and CESR 2 codes are refused with named errors;
    /// first-seen replay couples (`-E`) are skipped.
    public static func messages(_ bytes: [UInt8], limits: KERILimits = .default) throws(KERIError) -> [KERIMessage] {
        guard bytes.count <= limits.maxStreamBytes else {
            throw KERIError(.limitExceeded, "the stream has \(bytes.count) bytes; the limit is \(limits.maxStreamBytes)")
        }
        var messages: [KERIMessage] = []
        var position = 0
        let all = bytes[...]
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "-") {
                // Only a genus/version code may stand between events.
                let counter = try CESRCounter.read(all, at: &position)
                guard counter.code == "--AAA" else {
                    throw KERIError(.malformedStream, "count code '\(counter.code)' at byte \(position) is not attached to an event")
                }
                continue
            }
            guard byte == UInt8(ascii: "{") else {
                throw KERIError(.malformedStream, "an event ('{') was expected at byte \(position)")
            }
            guard messages.count < limits.maxEvents else {
                throw KERIError(.limitExceeded, "the stream has more than \(limits.maxEvents) events")
            }
            let size = try eventSize(all, at: position, limits: limits)
            let raw = Array(bytes[position..<position + size])
            position += size
            var end = position
            while end < bytes.count, bytes[end] != UInt8(ascii: "{") { end += 1 }
            var signatures: [KERIIndexedSignature] = []
            var cursor = position
            try attachments(all[position..<end], at: &cursor, into: &signatures, depth: 0, limits: limits)
            messages.append(KERIMessage(raw: raw, signatures: signatures))
            position = end
        }
        return messages
    }

    /// The size in the version string of the event at `position`, checked against the stream.
    static func eventSize(_ bytes: ArraySlice<UInt8>, at position: Int, limits: KERILimits) throws(KERIError) -> Int {
        let head = Array(#"{"v":""#.utf8)
        guard position + 24 <= bytes.endIndex else {
            throw KERIError(.truncated, "the stream ends inside an event's version string")
        }
        guard Array(bytes[position..<position + 6]) == head else {
            throw KERIError(.unsupportedVersion, "an event must start with {\"v\":\"KERI10JSON…, the version string first")
        }
        let version = bytes[position + 6..<position + 23]
        let text = String(decoding: version, as: UTF8.self)
        if text.hasPrefix("KERICAA") || text.hasPrefix("KERIC") {
            throw KERIError(.unsupportedVersion, "version string '\(text.prefix(17))' is KERI/CESR 2; only KERI10JSON is supported")
        }
        guard text.hasPrefix("KERI10") else {
            throw KERIError(.unsupportedVersion, "version string '\(text.prefix(10))…' is not KERI 1.0")
        }
        guard text.dropFirst(6).hasPrefix("JSON") else {
            throw KERIError(.unsupportedVersion, "version string '\(text.prefix(10))…' is not JSON; CBOR and MessagePack are not supported")
        }
        let hex = version.dropFirst(10).prefix(6)
        guard version.last == UInt8(ascii: "_"), bytes[position + 23] == UInt8(ascii: "\""),
            hex.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }),
            let size = Int(String(decoding: hex, as: UTF8.self), radix: 16)
        else {
            throw KERIError(.unsupportedVersion, "version string must be KERI10JSON + 6 lowercase hex digits + '_'")
        }
        guard size >= 25, size <= limits.maxEventBytes else {
            throw KERIError(.badVersionSize, "version string size \(size) is outside 25…\(limits.maxEventBytes)")
        }
        guard position + size <= bytes.endIndex else {
            throw KERIError(.truncated, "the version string says \(size) bytes, but the stream ends \(bytes.endIndex - position) bytes after the event's start")
        }
        guard bytes[position + size - 1] == UInt8(ascii: "}") else {
            throw KERIError(.badVersionSize, "the version string size \(size) does not end the event at its closing '}'")
        }
        return size
    }

    /// Parses attachment groups in `bytes` from `position` to its end.
    static func attachments(_ bytes: ArraySlice<UInt8>, at position: inout Int, into signatures: inout [KERIIndexedSignature],
                            depth: Int, limits: KERILimits) throws(KERIError) {
        while position < bytes.endIndex {
            guard bytes[position] == UInt8(ascii: "-") else {
                throw KERIError(.malformedStream, "a count code ('-') was expected in the attachments")
            }
            let counter = try CESRCounter.read(bytes, at: &position)
            switch counter.code {
            case "-A":
                guard signatures.count + counter.count <= limits.maxSignaturesPerEvent else {
                    throw KERIError(.limitExceeded, "more than \(limits.maxSignaturesPerEvent) signatures on one event")
                }
                for _ in 0..<counter.count {
                    signatures.append(try KERIIndexedSignature.read(bytes, at: &position))
                }
            case "-V", "-0V":
                guard depth < limits.maxGroupDepth else {
                    throw KERIError(.limitExceeded, "attachment groups nested deeper than \(limits.maxGroupDepth)")
                }
                let end = position + counter.count * 4
                guard end <= bytes.endIndex else { throw KERIError(.truncated, "attachment group '\(counter.code)' runs past the attachments") }
                var inner = position
                try attachments(bytes[position..<end], at: &inner, into: &signatures, depth: depth + 1, limits: limits)
                position = end
            case "-E":
                // First-seen replay couples: a 0A sequence number and a 1AAG date-time each; skipped.
                guard counter.count <= limits.maxEvents else { throw KERIError(.limitExceeded, "too many first-seen couples") }
                for _ in 0..<counter.count {
                    _ = try CESRMatter.read(bytes, at: &position, allowed: [.salt128])
                    _ = try CESRMatter.read(bytes, at: &position, allowed: [.dateTime])
                }
            case "--AAA":
                continue
            default:
                throw CESRCounter.unsupported(counter.code)
            }
        }
    }
}
