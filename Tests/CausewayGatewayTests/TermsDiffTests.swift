import CausewayCore
import Foundation
import Testing

@testable import CausewayGateway

/// The dashboard's diff of a change's terms against the version it supersedes, without a gateway.
@Suite("TermsDiff: what a change changed")
struct TermsDiffTests {
    static func document(_ text: String) throws -> JSONValue { try JSONReader().read(Array(text.utf8)) }

    static let before = """
        {"currency": "EUR", "total": "3048.00", "lines": [
          {"sku": "A", "description": "Bearing", "quantity": "200", "unit": "pcs", "unitPrice": "7.85"},
          {"sku": "B", "description": "Roller", "quantity": "40", "unit": "pcs", "unitPrice": "31.20"},
          {"sku": "C", "description": "Grease", "quantity": "12.5", "unit": "kg", "unitPrice": "18.40"}],
         "delivery": {"date": "2036-12-15", "place": "Tampere, FI"}, "payment": {"terms": "NET30"}}
        """

    @Test("quantities and prices compare as decimals: 40.000 is 40, 31.2 is 31.20; a difference in the 20th decimal place counts")
    func decimals() throws {
        let after = Self.before.replacingOccurrences(of: #""quantity": "40""#, with: #""quantity": "40.000""#)
            .replacingOccurrences(of: #""unitPrice": "31.20""#, with: #""unitPrice": "31.2""#)
            .replacingOccurrences(of: #""total": "3048.00""#, with: #""total": "3048""#)
        #expect(TermsDiff(from: try Self.document(Self.before), to: try Self.document(after)).isEmpty)
        // A difference in the 20th decimal place is a difference (no binary floating point in between).
        let tiny = Self.before.replacingOccurrences(of: #""unitPrice": "7.85""#, with: #""unitPrice": "7.85000000000000000001""#)
        let diff = TermsDiff(from: try Self.document(Self.before), to: try Self.document(tiny))
        #expect(diff.lines == [.changed(sku: "A", description: "Bearing",
                                        fields: [.init(name: "unit price", was: "7.85", now: "7.85000000000000000001")])])
    }

    @Test("lines added, removed and changed (by SKU), and the terms outside the lines; a term no longer given is nil")
    func linesAndTerms() throws {
        let after = """
            {"currency": "EUR", "total": "3271.00", "lines": [
              {"sku": "A", "description": "Bearing, sealed", "quantity": "250", "unit": "pcs", "unitPrice": "7.60"},
              {"sku": "B", "description": "Roller", "quantity": "40", "unit": "pcs", "unitPrice": "31.20"},
              {"sku": "D", "description": "Washer", "quantity": "30", "unit": "pcs", "unitPrice": "4.10"}],
             "delivery": {"date": "2036-12-20", "place": "Tampere, FI"}}
            """
        let diff = TermsDiff(from: try Self.document(Self.before), to: try Self.document(after))
        #expect(diff.lines == [
            .changed(sku: "A", description: "Bearing, sealed", fields: [
                .init(name: "quantity", was: "200", now: "250"), .init(name: "unit price", was: "7.85", now: "7.60"),
                .init(name: "description", was: "Bearing", now: "Bearing, sealed"),
            ]),
            .added(sku: "D", description: "Washer", quantity: "30", unit: "pcs", unitPrice: "4.10"),
            .removed(sku: "C", description: "Grease", quantity: "12.5", unit: "kg", unitPrice: "18.40"),
        ])
        #expect(diff.terms == [
            .init(name: "total", was: "3048.00", now: "3271.00"), .init(name: "delivery date", was: "2036-12-15", now: "2036-12-20"),
            .init(name: "payment terms", was: "NET30", now: nil),
        ])
    }

    @Test("the same SKU twice: the first line matches the first, the second the second")
    func repeatedSKU() throws {
        let before = #"{"lines": [{"sku": "A", "quantity": "1", "unitPrice": "2"}, {"sku": "A", "quantity": "5", "unitPrice": "2"}]}"#
        let after = #"{"lines": [{"sku": "A", "quantity": "1", "unitPrice": "2"}, {"sku": "A", "quantity": "6", "unitPrice": "2"}, {"sku": "A", "quantity": "7", "unitPrice": "2"}]}"#
        let diff = TermsDiff(from: try Self.document(before), to: try Self.document(after))
        #expect(diff.lines == [
            .changed(sku: "A", description: "", fields: [.init(name: "quantity", was: "5", now: "6")]),
            .added(sku: "A", description: "", quantity: "7", unit: "", unitPrice: "2"),
        ])
    }

    @Test("the words of a change are escaped and say was → now")
    func rendering() throws {
        let after = Self.before.replacingOccurrences(of: #""description": "Roller""#, with: #""description": "Roller <b>&</b>""#)
            .replacingOccurrences(of: #""quantity": "200""#, with: #""quantity": "250""#)
        let diff = TermsDiff(from: try Self.document(Self.before), to: try Self.document(after))
        let html = DashboardPages.diff(diff, against: 1, id: "d")
        #expect(html.contains("quantity was <span class=\"was-now nowrap\">200</span> → now <span class=\"was-now nowrap\">250</span>"))
        #expect(html.contains("description was <q>Roller</q> → now <q>Roller &lt;b&gt;&amp;&lt;/b&gt;</q>"))
        #expect(!html.contains("<b>"))
        #expect(DashboardPages.diff(TermsDiff(from: try Self.document(Self.before), to: try Self.document(Self.before)), against: 1, id: "d")
            .contains("The terms are the same as in version 1."))
    }
}
