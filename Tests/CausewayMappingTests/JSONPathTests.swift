import CausewayCore
import CausewayMapping
import Testing

@Suite("JSONPath")
struct JSONPathTests {
    static let agreement: JSONValue = [
        "id": "A-1",
        "lines": [
            ["sku": "A-1", "qty": 1, "price": "9.50"],
            ["sku": "B-2", "qty": 3, "price": "1.25"],
            ["sku": "C-3", "qty": 2],
        ],
        "parties": ["buyer": ["name": "Ada"], "seller": ["name": "Bob"]],
    ]

    private func values(_ query: String, _ document: JSONValue = agreement) throws -> [JSONValue] {
        try JSONPathQuery(query).selectValues(document)
    }

    private func paths(_ query: String, _ document: JSONValue = agreement) throws -> [String] {
        try JSONPathQuery(query).select(document).map(\.path.description)
    }

    // MARK: Normalized paths

    @Test func normalizedPathFormatting() {
        #expect(NormalizedPath().description == "$")
        #expect(NormalizedPath.root.isRoot)
        var path = NormalizedPath()
        path.append(name: "lines")
        path.append(index: 1)
        #expect(path.appending(name: "sku").description == "$['lines'][1]['sku']")
        #expect(path.description == "$['lines'][1]")
        #expect(path.parent == NormalizedPath([.name("lines")]))
        #expect(path.last == .index(1))
        #expect(NormalizedPath.Element.name("a").description == "['a']")
    }

    @Test(arguments: [
        ("a'b", #"$['a\'b']"#),
        (#"back\slash"#, #"$['back\\slash']"#),
        ("\u{08}\u{0C}\n\r\t", #"$['\b\f\n\r\t']"#),
        ("\u{00}\u{01}\u{0B}\u{0E}\u{1F}", #"$['\u0000\u0001\u000b\u000e\u001f']"#),
        ("\"/\u{7F}", "$['\"/\u{7F}']"),
        ("é😀 x", "$['é😀 x']"),
        ("", "$['']"),
    ])
    func normalizedPathEscaping(name: String, expected: String) {
        #expect(NormalizedPath([.name(name)]).description == expected)
    }

    @Test func jsonPointer() {
        #expect(NormalizedPath([.name("a/b"), .index(0), .name("c~d")]).jsonPointer == "/a~1b/0/c~0d")
        #expect(NormalizedPath().jsonPointer == "")
    }

    @Test func selectReportsNormalizedPaths() throws {
        #expect(try paths("$.lines[-1].sku") == ["$['lines'][2]['sku']"])
        #expect(try paths("$.lines[*].qty") == ["$['lines'][0]['qty']", "$['lines'][1]['qty']", "$['lines'][2]['qty']"])
        #expect(try paths("$..name") == ["$['parties']['buyer']['name']", "$['parties']['seller']['name']"])
        #expect(try paths("$[\"it's\"]", ["it's": 1]) == [#"$['it\'s']"#])
        #expect(try paths("$") == ["$"])
    }

    @Test func selectedPathsBehaveLikeBuiltPaths() throws {
        let node = try #require(try JSONPathQuery("$.lines[*].sku").select(Self.agreement).last)
        let built = NormalizedPath([.name("lines"), .index(2), .name("sku")])
        #expect(node.path == built)
        #expect(node.path.hashValue == built.hashValue)
        #expect(Set([node.path, built]).count == 1)
        #expect(node.path.elements == built.elements)
        #expect(node.path.count == 3)
        #expect(!node.path.isRoot)
        #expect(node.path.last == .name("sku"))
        #expect(node.path.parent == NormalizedPath([.name("lines"), .index(2)]))
        #expect(node.path.parent?.parent?.parent == NormalizedPath())
        #expect(node.path.parent?.parent?.parent?.isRoot == true)
        #expect(node.path.parent?.parent?.parent?.parent == nil)
        #expect(node.path.appending(index: 0).description == "$['lines'][2]['sku'][0]")
        #expect(node.path.appending(index: 0).parent == built)
        #expect(node.path.jsonPointer == "/lines/2/sku")
        var rebased = NormalizedPath()
        rebased.append(contentsOf: node.path)
        #expect(rebased == built)
        #expect(rebased.description == "$['lines'][2]['sku']")
        var extended = node.path
        extended.append(contentsOf: NormalizedPath([.name("x"), .index(1)]))
        #expect(extended.description == "$['lines'][2]['sku']['x'][1]")
        #expect(extended.count == 5)
    }

    // MARK: Singular queries

    @Test(arguments: [
        ("$", true), ("$.a", true), ("$['a'][0]", true), ("$.lines[-1].sku", true), ("$[\"a\"]['b']", true),
        ("$.lines[*]", false), ("$..a", false), ("$[0,1]", false), ("$[0:1]", false), ("$[?@.a]", false),
        ("$.*", false), ("$['a','b']", false), ("$[ 'a' ][ 0 ]", true), ("$ .a ['b']", true),
    ])
    func singularDetection(query: String, singular: Bool) throws {
        #expect(try JSONPathQuery(query).isSingular == singular)
    }

    @Test func singularQueriesSelectAtMostOneNode() throws {
        let query = try JSONPathQuery("$.lines[1].sku")
        #expect(query.selectValues(Self.agreement) == ["B-2"])
        #expect(query.firstValue(Self.agreement) == "B-2")
        #expect(try JSONPathQuery("$.lines[9].sku").firstValue(Self.agreement) == JSONValue?.none)
        #expect(try JSONPathQuery("$.lines[*].sku").firstValue(Self.agreement) == "A-1")
        #expect(try JSONPathQuery("$.id[0]").select(Self.agreement).isEmpty)
    }

    // MARK: Syntax errors

    @Test(arguments: [
        ("$[0", 3, "expected ',' or ']'"),
        (" $", 0, "a JSONPath query must start with '$'"),
        ("$ ", 1, "whitespace is not allowed at the end of a query"),
        ("@.a", 0, "'@' is only allowed inside a filter; a query starts with '$'"),
        ("$.1", 2, "expected a member name or '*' after '.', found '1'"),
        ("$[01]", 2, "leading zeros are not allowed"),
        ("$[-0]", 2, "'-0' is not a valid integer here"),
        ("$[9007199254740992]", 2, "integer is out of range; the limit is ±(2^53 − 1)"),
        ("$[?@.a==1.]", 10, "expected a digit after '.'"),
        ("$['\\uD800']", 3, "high surrogate \\uD800 must be followed by a low surrogate escape"),
        ("$['\\uDC00']", 3, "lone low surrogate \\uDC00"),
        ("$['a\\x']", 4, "invalid escape sequence '\\x'"),
        ("$[?@.*==1]", 3, "only singular queries can be compared; this query can select several nodes"),
        ("$[?length(@.*)<3]", 10, "argument 1 of length() must be a single value, but the query is not singular"),
        ("$[?count(1)>2]", 9, "argument 1 of count() must be a query"),
        ("$[?match(@.a, 'a')==true]", 3, "match() returns LogicalType, which cannot be compared"),
        ("$[?length(@.a)]", 3, "length() returns a value, which must be compared"),
        ("$[?true]", 3, "a literal cannot be used as a test; compare it with '==', '<', …"),
        ("$[?foo(@)]", 3, "unknown function 'foo'"),
        ("$[?value(@.a, @.b)==1]", 3, "value() takes 1 argument, got 2"),
        ("$[?count (@.*)==1]", 8, "no whitespace is allowed between a function name and '('"),
        ("$[?!@.a==1]", 7, "a negated test cannot be compared; use parentheses: '!(… == …)'"),
        ("$[]", 2, "expected a selector; '[]' is empty"),
        ("$..", 3, "expected a member name, '*' or '[' after '..'"),
    ])
    func syntaxErrors(query: String, offset: Int, message: String) {
        #expect {
            _ = try JSONPathQuery(query)
        } throws: { error in
            guard let error = error as? JSONPathSyntaxError else { return false }
            #expect(error.offset == offset, "offset for \(query.debugDescription)")
            #expect(error.message == message, "message for \(query.debugDescription)")
            return true
        }
    }

    @Test func comparedSingularQueriesFollowTheGrammar() throws {
        // singular-query segments are "[" name-selector "]" / "[" index-selector "]": no inner blanks.
        #expect(throws: JSONPathSyntaxError.self) { try JSONPathQuery("$[?@[ 'a' ] == 1]") }
        #expect(throws: JSONPathSyntaxError.self) { try JSONPathQuery("$[?length(@[0 ]) == 1]") }
        #expect(try values("$[?@ ['a'] == 1]", [["a": 1], ["a": 2]]) == [["a": 1]])
        #expect(try values("$[?@[ 'a' ]]", [["a": 1], ["b": 2]]) == [["a": 1]], "existence tests take any query")
    }

    @Test func syntaxErrorDescription() {
        do {
            _ = try JSONPathQuery("$.a[0")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.offset == 5)
            #expect(error.description == "invalid JSONPath at column 6: expected ',' or ']'")
        }
    }

    @Test func offsetsCountUnicodeScalars() {
        do {
            _ = try JSONPathQuery("$['😀é'")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.offset == 6)
        }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = "$[?" + String(repeating: "(", count: 500) + "@.a" + String(repeating: ")", count: 500) + "]"
        #expect(throws: JSONPathSyntaxError.self) { try JSONPathQuery(deep) }
        let fine = "$[?" + String(repeating: "(", count: 20) + "@.a" + String(repeating: ")", count: 20) + "]"
        #expect(throws: Never.self) { try JSONPathQuery(fine) }
    }

    // MARK: Slices

    @Test(arguments: [
        ("$[::-1]", [5, 4, 3, 2, 1, 0]),
        ("$[::-2]", [5, 3, 1]),
        ("$[4:1:-1]", [4, 3, 2]),
        ("$[-1:-4:-1]", [5, 4, 3]),
        ("$[10:-10:-3]", [5, 2]),
        ("$[1:4:-1]", []),
        ("$[:2:-1]", [5, 4, 3]),
        ("$[2::-1]", [2, 1, 0]),
        ("$[::0]", []),
        ("$[1:5:2]", [1, 3]),
        ("$[-2:]", [4, 5]),
        ("$[:-4]", [0, 1]),
        ("$[-100:100]", [0, 1, 2, 3, 4, 5]),
    ])
    func slices(query: String, expected: [Int]) throws {
        let array: JSONValue = [0, 1, 2, 3, 4, 5]
        #expect(try values(query, array) == expected.map { .number(Double($0)) })
        #expect(try paths(query, array) == expected.map { "$[\($0)]" })
    }

    // MARK: Filters and functions

    @Test func filters() throws {
        #expect(try values("$.lines[?@.qty > 1].sku") == ["B-2", "C-3"])
        #expect(try values("$.lines[?@.price].sku") == ["A-1", "B-2"])
        #expect(try values("$.lines[?!@.price].sku") == ["C-3"])
        #expect(try values("$.lines[?@.qty >= 2 && @.price].sku") == ["B-2"])
        #expect(try values("$.lines[?@.qty == 1 || @.sku == 'C-3'].sku") == ["A-1", "C-3"])
        #expect(try values("$.lines[?@.sku == $.id].qty") == [1])
        #expect(try values("$.lines[?@.missing == $.alsoMissing].sku").count == 3)
        #expect(try values("$.lines[?@.missing < 1]").isEmpty)
        #expect(try values("$.lines[?@.missing <= $.alsoMissing]").count == 3)
        #expect(try values("$.lines[?@.sku < 'B'].sku") == ["A-1"])
        // Object and array literals are not JSONPath syntax.
        #expect(throws: JSONPathSyntaxError.self) { try JSONPathQuery("$[?@ == {\"a\": [1, 2]}]") }
    }

    @Test func structuredEquality() throws {
        let document: JSONValue = ["x": ["a": 1, "b": [1, 2]], "items": [["b": [1, 2], "a": 1], ["a": 1], [1, 2]]]
        #expect(try values("$.items[?@ == $.x]", document) == [["a": 1, "b": [1, 2]]])
        #expect(try values("$.items[?@ == $.x.b]", document) == [[1, 2]])
        #expect(try values("$.items[?@ != $.x]", document).count == 2)
    }

    @Test func stringsCompareByScalarsWithoutNormalization() throws {
        let composed = "\u{E9}"
        let decomposed = "e\u{301}"
        let document: JSONValue = .object(JSONObject([(composed, 1)]))
        #expect(try values("$['\(composed)']", document) == [1])
        #expect(try values("$['\(decomposed)']", document).isEmpty)
        #expect(try values("$[?@ == '\(decomposed)']", [.string(composed), .string(decomposed)]) == [.string(decomposed)])
    }

    @Test func functions() throws {
        #expect(try values("$.lines[?length(@.sku) == 3].sku").count == 3)
        #expect(try values("$.lines[?length(@) == 2].sku") == ["C-3"])
        #expect(try values("$[?count(@.*) == 3]", [[1, 2, 3], [1], ["a": 1, "b": 2, "c": 3]]).count == 2)
        #expect(try values("$.lines[?match(@.sku, '[A-B]-[0-9]')].sku") == ["A-1", "B-2"])
        #expect(try values("$.lines[?search(@.sku, '3')].sku") == ["C-3"])
        #expect(try values("$.lines[?value(@..qty) == 3].sku") == ["B-2"])
        #expect(try values("$[?length(@) == 2]", ["😀é", "ab", "abc"]) == ["😀é", "ab"])
        #expect(try values("$[?match(@, '\\\\p{Lu}\\\\p{Ll}+')]", ["Abc", "abc", "ÄÖü", "Öü"]) == ["Abc", "Öü"])
    }

    @Test func invalidRegexIsFalseNotAnError() throws {
        let document: JSONValue = ["a", "\\d", "1"]
        #expect(try values("$[?match(@, '\\\\d')]", document).isEmpty)
        #expect(try values("$[?match(@, '(a')]", document).isEmpty)
        #expect(try values("$[?!search(@, '[')]", document).count == 3)
        // A pattern taken from the document is checked at evaluation time.
        #expect(try values("$.s[?match(@, $.p)]", ["s": ["ab", "b"], "p": "a."]) == ["ab"])
        #expect(try values("$.s[?match(@, $.p)]", ["s": ["ab", "b"], "p": "a{2,1}"]).isEmpty)
    }

    @Test func regexDotAndAnchors() throws {
        let document: JSONValue = ["a\nb", "a\rb", "a\u{2028}b", "axb", "a😀b"]
        #expect(try values("$[?match(@, 'a.b')]", document) == ["a\u{2028}b", "axb", "a😀b"])
        #expect(try values("$[?search(@, '^x')]", ["xa", "ax"]) == ["xa"])
        #expect(try values("$[?search(@, 'x$')]", ["xa", "ax"]) == ["ax"])
        #expect(try values("$[?search(@, '[$]')]", ["a$", "a"]) == ["a$"])
        #expect(try values("$[?search(@, '\\\\$')]", ["a$", "a"]).isEmpty, "'\\$' is not an I-Regexp escape")
        #expect(try values("$[?match(@, '[^^]+')]", ["ab", "a^"]) == ["ab"])
    }

    @Test func regexIsLinearOnPathologicalPatterns() throws {
        let subject = String(repeating: "a", count: 5_000)
        let document: JSONValue = [.string(subject)]
        #expect(try values("$[?match(@, '(a*)*b')]", document).isEmpty)
        #expect(try values("$[?match(@, '(a|aa)+')]", document).count == 1)
        let shorter: JSONValue = [.string(String(repeating: "a", count: 500))]
        #expect(try values("$[?search(@, '(a{1,20}){1,20}b')]", shorter).isEmpty)
    }

    @Test func descendantOrder() throws {
        let document: JSONValue = ["a": [["b": 1], ["b": 2, "c": ["b": 3]]], "b": 0]
        #expect(try values("$..b", document) == [0, 1, 2, 3])
        #expect(try paths("$..b", document)
            == ["$['b']", "$['a'][0]['b']", "$['a'][1]['b']", "$['a'][1]['c']['b']"])
        #expect(try values("$..[0]", [[1, [2]], 3]) == [[1, [2]], 1, 2])
    }

    @Test func queryEqualityAndDescription() throws {
        let a = try JSONPathQuery("$.a")
        let b = try JSONPathQuery("$.a")
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a.description == "$.a")
        #expect(a != (try JSONPathQuery("$['a']")))
    }
}
