import CausewayCore

/// A crosswalk table: a CSV file in the partner folder mapping a key column to a value column.
///
/// Loaded once, held in memory; keys must be unique; its bytes count in the mapping digest.
public struct Crosswalk: Sendable {
    /// What happens when a key is not in the table.
    public enum MissPolicy: Sendable, Hashable {
        /// The mapping fails for this agreement with `mapping.lookup_missing` (the default).
        case error
        /// The key itself is used as the value.
        case passThrough
        /// This value is used.
        case value(String)
    }

    public let name: String
    /// The CSV path relative to the partner folder.
    public let file: String
    public let keyColumn: String
    public let valueColumn: String
    public let onMiss: MissPolicy
    let table: [String: String]
    /// Header and rows, for the digest.
    let header: [String]
    let rows: [[String]]

    /// The value for `key`, or nil when the table has none.
    public func value(for key: String) -> String? { table[key] }

    public var count: Int { table.count }
}

/// RFC 4180 CSV: comma-separated, double-quoted fields with `""` escapes, CRLF or LF line ends.
enum CSV {
    struct ParseError: Error {
        let line: Int
        let message: String
    }

    static func parse(_ text: String) throws(ParseError) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var inQuotes = false
        var fieldStarted = false
        var line = 1
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        while let c = next() {
            if inQuotes {
                if c == "\"" {
                    if let n = next() {
                        if n == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; pending = n }
                    } else {
                        inQuotes = false
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"":
                guard !fieldStarted else { throw ParseError(line: line, message: "a quote inside an unquoted field") }
                inQuotes = true
                fieldStarted = true
            case ",":
                row.append(field)
                field = ""
                fieldStarted = false
            case "\r":
                continue
            case "\n":
                row.append(field)
                rows.append(row)
                row = []
                field = ""
                fieldStarted = false
                line += 1
            default:
                field.unicodeScalars.append(c)
                fieldStarted = true
            }
        }
        if inQuotes { throw ParseError(line: line, message: "an unterminated quoted field") }
        if fieldStarted || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows.filter { !($0.count == 1 && $0[0].isEmpty) }
    }

    /// Loads a crosswalk, reporting problems at the YAML location that declared it.
    static func crosswalk(name: String, file: String, text: String, keyColumn: String, valueColumn: String, onMiss: Crosswalk.MissPolicy,
                          at location: SourceLocation, _ d: inout Diagnostics) -> Crosswalk?
    {
        let rows: [[String]]
        do {
            rows = try parse(text)
        } catch {
            d.error("mapping.crosswalk_csv", "\(file) line \(error.line): \(error.message)", at: location)
            return nil
        }
        guard let header = rows.first else {
            d.error("mapping.crosswalk_csv", "\(file) is empty; it needs a header row", at: location)
            return nil
        }
        guard let keyIndex = header.firstIndex(of: keyColumn) else {
            d.error("mapping.crosswalk_column", "\(file) has no column '\(keyColumn)' (columns: \(header.joined(separator: ", ")))", at: location)
            return nil
        }
        guard let valueIndex = header.firstIndex(of: valueColumn) else {
            d.error("mapping.crosswalk_column", "\(file) has no column '\(valueColumn)' (columns: \(header.joined(separator: ", ")))", at: location)
            return nil
        }
        var table: [String: String] = [:]
        for (offset, row) in rows.dropFirst().enumerated() {
            guard row.count == header.count else {
                d.error("mapping.crosswalk_csv", "\(file) line \(offset + 2) has \(row.count) fields, the header has \(header.count)", at: location)
                return nil
            }
            if table[row[keyIndex]] != nil {
                d.error("mapping.crosswalk_duplicate", "\(file) line \(offset + 2) repeats the key '\(row[keyIndex])'", at: location)
                return nil
            }
            table[row[keyIndex]] = row[valueIndex]
        }
        return Crosswalk(name: name, file: file, keyColumn: keyColumn, valueColumn: valueColumn, onMiss: onMiss, table: table,
                         header: header, rows: Array(rows.dropFirst()))
    }
}
