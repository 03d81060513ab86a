public import CausewayCore
import Foundation

/// A value during evaluation. `absent` (nothing matched) and `null` (JSON null) stay distinct.
enum MValue {
    case absent
    case null
    case failed
    case string(String)
    case decimal(Decimal)
    case integer(Int)
    case date(CalendarDate)
    case timestamp(Timestamp)
    case bool(Bool)
    case json(JSONValue)

    init(_ json: JSONValue) {
        switch json {
        case .string(let s): self = .string(s)
        case .bool(let b): self = .bool(b)
        case .null: self = .null
        default: self = .json(json)
        }
    }

    var isPresent: Bool {
        switch self {
        case .absent, .null, .failed: false
        default: true
        }
    }
}

extension Mapping {
    /// Maps an agreement to its actions, or reports every failure. Pure: the same inputs always
    /// give the same output.
    ///
    /// The mapping sees the agreement without its `proof` member: only what the digest covers can
    /// shape the actions, so two copies of an agreement with different proofs map identically.
    public func map(_ agreement: JSONValue, context: MappingContext) -> MappingResult {
        var body = agreement
        if case .object(let object) = agreement, object["proof"] != nil { body = .object(object.removing("proof")) }
        var evaluator = Evaluator(mapping: self, agreement: body, context: context)
        return evaluator.run()
    }
}

struct Evaluator {
    struct Frame {
        let name: String
        let value: JSONValue
        /// Where the loop's selector started, and where this item is relative to it; combined
        /// only when a failure needs the path.
        let base: NormalizedPath
        let relative: NormalizedPath
        let position: Int

        var path: NormalizedPath {
            var path = base
            path.append(contentsOf: relative)
            return path
        }
    }

    let mapping: Mapping
    let agreement: JSONValue
    let context: MappingContext
    var frames: [Frame] = []
    var failures: [MappingFailure] = []
    /// The action (and row) being produced, for messages.
    var target = ""
    /// The fields being produced inside `target`, innermost last; joined only when a failure is reported.
    var fields: [String] = []
    /// The child row being produced (table and position), for messages.
    var row: (table: String, position: Int)?
    /// When true, failures are not recorded (conditions probe values).
    var silent = 0

    init(mapping: Mapping, agreement: JSONValue, context: MappingContext) {
        self.mapping = mapping
        self.agreement = agreement
        self.context = context
    }

    mutating func run() -> MappingResult {
        let revision = context.revision
        if let revision {
            // A change or cancellation of the type the mapping accepts: its sections read the versions before it.
            frames.append(Frame(name: "previous", value: revision.previous, base: NormalizedPath(), relative: NormalizedPath(), position: 0))
            frames.append(Frame(name: "original", value: revision.original, base: NormalizedPath(), relative: NormalizedPath(), position: 0))
            frames.append(Frame(name: "legacy", value: revision.legacy, base: NormalizedPath(), relative: NormalizedPath(), position: 0))
        }
        if let type = agreement["type"]?.stringValue, type != mapping.accepts,
            !(revision != nil && mapping.accepts == PurchaseAgreement.typeName && AgreementRevision.kind(ofType: type) != nil) {
            target = "type"
            target = ""
            fail("mapping.type_not_accepted", "the mapping accepts \(mapping.accepts) agreements, not this type",
                 at: mapping.acceptsLocation, input: "$['type']")
            return MappingResult(actions: [], failures: failures)
        }
        // Assertions are about terms: a cancellation has none.
        for assertion in mapping.assertions where revision?.kind != .cancellation {
            target = "assertions"
            if !check(assertion.condition) {
                fail("mapping.assertion_failed", assertion.message, at: assertion.location)
            }
        }
        var actions: [LegacyAction] = []
        for (index, spec) in mapping.actions.enumerated() {
            let failuresBefore = failures.count
            let payload: LegacyAction.Payload?
            let body: ActionSpec.Body
            switch revision?.kind {
            case nil: body = spec.body
            case .change?:
                guard let onChange = spec.onChange else { continue }  // a change does nothing for this action
                body = onChange
            case .cancellation?:
                guard let onCancel = spec.onCancel else { continue }
                body = onCancel
            }
            switch body {
            case .rows(let rows): payload = evaluate(rows, action: spec.name).map(LegacyAction.Payload.rows)
            case .http(let http): payload = evaluate(http, action: spec.name).map(LegacyAction.Payload.http)
            case .xml(let xml): payload = evaluate(xml, action: spec.name).map(LegacyAction.Payload.xml)
            case .erp(let erp): payload = evaluate(erp, action: spec.name).map(LegacyAction.Payload.erpPurchaseOrder)
            }
            if let payload {
                actions.append(LegacyAction(index: index, name: spec.name, target: spec.target, payload: payload))
            } else if failures.count == failuresBefore {
                // Never drop an action silently: a missing payload must come with its reason.
                target = spec.name
                fail("mapping.internal", "the action could not be produced", at: spec.location)
            }
        }
        return failures.isEmpty ? MappingResult(actions: actions, failures: []) : MappingResult(actions: [], failures: failures)
    }

    // MARK: Failures

    mutating func fail(_ code: String, _ message: String, at location: SourceLocation, input: String? = nil) {
        guard silent == 0 else { return }
        // Inside a loop, a failure without a more precise place is at least at the current item.
        let input = input ?? frames.last?.path.description
        let rowLabel = row.map { "\($0.table)[\($0.position)]" } ?? ""
        let output = ([target, rowLabel] + fields).filter { !$0.isEmpty }.joined(separator: ".")
        failures.append(MappingFailure(code: code, message: message, location: location, inputPath: input, target: output.isEmpty ? nil : output))
    }

    /// The normalized path a selector points at (for messages), relative to its root.
    func inputPath(_ selector: Selector) -> String {
        let base: NormalizedPath
        let value: JSONValue
        switch selector.root {
        case .agreement:
            base = NormalizedPath()
            value = agreement
        case .variable(let name):
            guard let frame = frames.last(where: { $0.name == name }) else { return selector.query.text }
            base = frame.path
            value = frame.value
        }
        if let node = selector.query.select(value).first {
            var path = base
            path.append(contentsOf: node.path)
            return path.description
        }
        // Nothing matched: a singular query still names the place where a value was expected.
        if let designated = selector.query.singularPath {
            var path = base
            path.append(contentsOf: designated)
            return path.description
        }
        // Nothing matched: show the base and the query as written.
        let suffix = selector.query.text.dropFirst()  // drop "$"
        return base.description + suffix
    }

    // MARK: Loops

    mutating func iterate(_ loop: Loop, _ body: (inout Evaluator) -> Void) {
        guard let (rootValue, basePath) = root(loop.selector.root) else { return }
        let nodes = loop.selector.query.select(rootValue)
        if nodes.count < loop.minimum {
            fail("mapping.too_few", "for_each '\(loop.variable)' needs at least \(loop.minimum) item(s), found \(nodes.count)", at: loop.location,
                 input: basePath.description + String(loop.selector.query.text.dropFirst()))
        }
        for (position, node) in nodes.enumerated() {
            frames.append(Frame(name: loop.variable, value: node.value, base: basePath, relative: node.path, position: position))
            body(&self)
            frames.removeLast()
        }
    }

    /// The value a selector starts from (no path: that is only built for messages and loops).
    func rootValue(_ root: SelectorRoot) -> JSONValue? {
        switch root {
        case .agreement: return agreement
        case .variable(let name):
            for frame in frames.reversed() where frame.name == name { return frame.value }
            return nil
        }
    }

    func root(_ root: SelectorRoot) -> (JSONValue, NormalizedPath)? {
        switch root {
        case .agreement: return (agreement, NormalizedPath())
        case .variable(let name):
            guard let frame = frames.last(where: { $0.name == name }) else { return nil }
            return (frame.value, frame.path)
        }
    }

    // MARK: Expressions

    mutating func evaluate(_ e: Expression) -> MValue {
        switch e.kind {
        case .constant(let text): return .string(text)
        case .select(let selector): return select(selector)
        case .meta(let field):
            switch field {
            case .agreementDigest: return .string(context.digest.description)
            case .agreementID: return agreement["id"]?.stringValue.map(MValue.string) ?? .absent
            case .partner: return .string(context.partner)
            case .mappingID: return .string(mapping.id)
            case .mappingVersion: return .string(mapping.version)
            case .agreementVersion: return .integer(context.revision?.version ?? 1)
            case .agreementOriginalDigest: return .string((context.revision?.amends ?? context.digest).description)
            case .agreementSupersedes: return context.revision.map { .string($0.supersedes.description) } ?? .absent
            }
        case .position(let variable, let start):
            guard let frame = frames.last(where: { $0.name == variable }) else { return .failed }
            return .integer(frame.position + start)
        case .parent: return .absent  // links are resolved by the adapter, never evaluated here
        case .lookup(let name, let keyExpression, _):
            let key = evaluate(keyExpression)
            guard key.isPresent else { return key }
            guard let keyText = text(key, at: keyExpression.location) else { return .failed }
            guard let crosswalk = mapping.crosswalks[name] else { return .failed }
            if let value = crosswalk.value(for: keyText) { return .string(value) }
            switch crosswalk.onMiss {
            case .passThrough: return .string(keyText)
            case .value(let fallback): return .string(fallback)
            case .error:
                var input: String?
                if case .select(let selector) = keyExpression.kind { input = inputPath(selector) }
                // The missing code is named (quoted, at most 64 characters) so the fix is obvious; the
                // gateway shows messages only to token holders, senders without one get code and path.
                let shown = keyText.count > 64 ? String(keyText.prefix(64)) + "…" : keyText
                let quoted = JSONWriter.string(.string(shown), style: .compact)
                fail("mapping.lookup_missing",
                     "crosswalk '\(name)' (\(crosswalk.file)) has no row whose \(crosswalk.keyColumn) is \(quoted); add a row for \(quoted) to \(crosswalk.file) or set on_miss",
                     at: e.location, input: input)
                return .failed
            }
        case .concat(let parts, let separator):
            var pieces: [String] = []
            for part in parts {
                let value = evaluate(part)
                guard value.isPresent else { return value }
                guard let t = text(value, at: part.location) else { return .failed }
                pieces.append(t)
            }
            return .string(pieces.joined(separator: separator))
        case .upper(let inner): return mapText(inner) { $0.uppercased() }
        case .lower(let inner): return mapText(inner) { $0.lowercased() }
        case .trim(let inner): return mapText(inner) { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        case .length(let inner):
            let value = evaluate(inner)
            guard value.isPresent else { return value }
            guard let t = text(value, at: inner.location) else { return .failed }
            return .integer(t.unicodeScalars.count)
        case .substring(let inner, let start, let length):
            // Lengths and positions count Unicode code points, as databases and JSONPath do.
            return mapText(inner) { s in
                let scalars = Array(s.unicodeScalars)
                let from = min(max(start, 0), scalars.count)
                let to = length.map { min(from + max($0, 0), scalars.count) } ?? scalars.count
                var result = ""
                result.unicodeScalars.append(contentsOf: scalars[from..<to])
                return result
            }
        case .pad(let inner, let width, let fill, let left):
            return mapText(inner) { s in
                let count = s.unicodeScalars.count
                guard count < width else { return s }
                let padding = String(repeating: fill, count: width - count)
                return left ? padding + s : s + padding
            }
        case .replace(let inner, let find, let with):
            return mapText(inner) { $0.replacingOccurrences(of: find, with: with) }
        case .date(let inner, let format, let offset):
            let value = evaluate(inner)
            guard value.isPresent else { return value }
            guard var date = calendarDate(value, offsetMinutes: offset, at: inner.location, source: inner) else { return .failed }
            if let format {
                var time = (0, 0, 0)
                if case .timestamp(let t) = value, let local = shifted(t, offset) { time = local.time; date = local.date }
                if case .string(let s) = value, let t = Timestamp(rfc3339: s), let local = shifted(t, offset) { time = local.time; date = local.date }
                return .string(format.format(year: date.year, month: date.month, day: date.day, hour: time.0, minute: time.1, second: time.2))
            }
            return .date(date)
        case .timestamp(let inner):
            let value = evaluate(inner)
            guard value.isPresent else { return value }
            switch value {
            case .timestamp: return value
            case .string(let s):
                if let t = Timestamp(rfc3339: s) { return .timestamp(t) }
            default: break
            }
            fail("mapping.type_error", "expected an RFC 3339 date-time", at: inner.location, input: selectorPath(inner))
            return .failed
        case .add(let parts): return arithmetic(parts, at: e.location, NSDecimalAdd)
        case .multiply(let parts): return arithmetic(parts, at: e.location, multiplying: true, NSDecimalMultiply)
        case .subtract(let a, let b): return arithmetic([a, b], at: e.location, NSDecimalSubtract)
        case .urlEncode(let inner):
            return mapText(inner) { $0.addingPercentEncoding(withAllowedCharacters: Evaluator.unreserved) ?? $0 }
        case .divide(let a, let b, let scale, let rounding):
            let x = evaluate(a), y = evaluate(b)
            guard x.isPresent else { return x }
            guard y.isPresent else { return y }
            guard let dx = decimal(x, at: a.location), let dy = decimal(y, at: b.location) else { return .failed }
            guard dy != 0 else {
                fail("mapping.division_by_zero", "division by zero", at: e.location, input: selectorPath(b))
                return .failed
            }
            var quotient = Decimal()
            var lhs = dx, rhs = dy
            if NSDecimalDivide(&quotient, &lhs, &rhs, .plain) == .overflow {
                fail("mapping.precision_lost", "the quotient is out of Decimal's range", at: e.location)
                return .failed
            }
            guard let result = DecimalText.round(quotient, scale: scale, rounding) else {
                fail("mapping.rounding", "the quotient has more than \(scale) decimals and rounding is 'exact'", at: e.location)
                return .failed
            }
            // Keep the declared scale in the value's text ("66.60", not "66.6").
            return .string(DecimalText.format(result, scale: scale))
        case .round(let inner, let scale, let rounding):
            let value = evaluate(inner)
            guard value.isPresent else { return value }
            guard let d = decimal(value, at: inner.location) else { return .failed }
            guard let result = DecimalText.round(d, scale: scale, rounding) else {
                fail("mapping.rounding", "the value has more than \(scale) decimals and rounding is 'exact'", at: e.location)
                return .failed
            }
            return .string(DecimalText.format(result, scale: scale))
        case .sum(let inner, let loop):
            guard let loop else { return evaluate(inner) }
            var total = Decimal(0)
            var failed = false
            iterate(loop) { ev in
                let value = ev.evaluate(inner)
                if case .failed = value { failed = true; return }
                guard value.isPresent else {
                    // A sum over items must not skip the ones that have no value.
                    ev.fail("mapping.value_missing", "an item of the sum has no value", at: inner.location, input: ev.selectorPath(inner))
                    failed = true
                    return
                }
                if let d = ev.decimal(value, at: inner.location, source: inner) {
                    var sum = Decimal()
                    var a = total, b = d
                    if NSDecimalAdd(&sum, &a, &b, .plain) != .noError {
                        ev.fail("mapping.precision_lost", "the sum needs more than 38 significant digits", at: inner.location)
                        failed = true
                    }
                    total = sum
                } else {
                    failed = true
                }
            }
            return failed ? .failed : .decimal(total)
        case .coalesce(let parts):
            for part in parts {
                let value = evaluate(part)
                if case .failed = value { return .failed }
                if value.isPresent { return value }
            }
            return .absent
        case .required(let inner, let message):
            let value = evaluate(inner)
            if case .failed = value { return .failed }
            if !value.isPresent {
                fail("mapping.value_missing", message, at: e.location, input: selectorPath(inner))
                return .failed
            }
            return value
        case .conditional(let condition, let then, let otherwise):
            if check(condition) { return evaluate(then) }
            return otherwise.map { evaluate($0) } ?? .absent
        }
    }

    func selectorPath(_ e: Expression) -> String? {
        if case .select(let selector) = e.kind { return inputPath(selector) }
        return nil
    }

    func shifted(_ t: Timestamp, _ offset: Int?) -> (date: CalendarDate, time: (Int, Int, Int))? {
        let minutes = offset ?? t.offsetMinutes
        let local = t.epochSeconds + Int64(minutes * 60)
        let shifted = Timestamp(epochSeconds: local)
        let secondOfDay = Int(((local % 86_400) + 86_400) % 86_400)
        guard let date = CalendarDate(shifted.localDateText) else { return nil }
        return (date, (secondOfDay / 3600, secondOfDay % 3600 / 60, secondOfDay % 60))
    }

    mutating func select(_ selector: Selector) -> MValue {
        guard let rootValue = rootValue(selector.root) else { return .failed }
        guard let reduce = selector.reduce else {
            guard let value = selector.query.firstValue(rootValue) else { return .absent }
            return MValue(value)
        }
        let values = selector.query.selectValues(rootValue)
        switch reduce {
        case .count: return .integer(values.count)
        case .first: return values.first.map(MValue.init) ?? .absent
        case .join:
            var parts: [String] = []
            for value in values {
                guard let t = text(MValue(value), at: selector.location) else { return .failed }
                parts.append(t)
            }
            return .string(parts.joined(separator: selector.separator))
        case .sum:
            var total = Decimal(0)
            for value in values {
                guard var d = decimal(MValue(value), at: selector.location) else { return .failed }
                var sum = Decimal()
                var accumulated = total
                let shape = DigitShape(MValue(value), d)
                let status = NSDecimalAdd(&sum, &accumulated, &d, .plain)
                guard status == .noError, shape.integerDigits + shape.scale < 38 else {
                    fail("mapping.precision_lost", "the sum needs more than 38 significant digits, Decimal's limit", at: selector.location)
                    return .failed
                }
                total = sum
            }
            return .decimal(total)
        }
    }

    mutating func mapText(_ inner: Expression, _ transform: (String) -> String) -> MValue {
        let value = evaluate(inner)
        guard value.isPresent else { return value }
        guard let t = text(value, at: inner.location) else { return .failed }
        return .string(transform(t))
    }

    typealias DecimalOperation = (UnsafeMutablePointer<Decimal>, UnsafePointer<Decimal>, UnsafePointer<Decimal>, NSDecimalNumber.RoundingMode)
        -> NSDecimalNumber.CalculationError

    /// Folds the parts with a Foundation decimal operation; a result that would need more than
    /// Decimal's 38 significant digits is an error, never a silent rounding.
    mutating func arithmetic(_ parts: [Expression], at location: SourceLocation, multiplying: Bool = false, _ operation: DecimalOperation) -> MValue {
        var result: Decimal?
        var shape = DigitShape(integerDigits: 0, scale: 0)
        for part in parts {
            let value = evaluate(part)
            guard value.isPresent else { return value }
            guard let d = decimal(value, at: part.location, source: part) else { return .failed }
            let partShape = DigitShape(value, d)
            guard var lhs = result else {
                result = d
                shape = partShape
                continue
            }
            // Foundation rounds silently past 38 significant digits: refuse instead.
            shape = multiplying
                ? DigitShape(integerDigits: shape.integerDigits + partShape.integerDigits, scale: shape.scale + partShape.scale)
                : DigitShape(integerDigits: max(shape.integerDigits, partShape.integerDigits) + 1, scale: max(shape.scale, partShape.scale))
            guard shape.integerDigits + shape.scale <= 38 else {
                fail("mapping.precision_lost", "the exact result may need more than 38 significant digits, Decimal's limit", at: location)
                return .failed
            }
            var rhs = d
            var out = Decimal()
            let status = operation(&out, &lhs, &rhs, .plain)
            guard status == .noError else {
                fail("mapping.precision_lost", "the result needs more than 38 significant digits (\(status == .overflow ? "overflow" : "precision lost"))",
                     at: location)
                return .failed
            }
            result = out
        }
        return .decimal(result ?? 0)
    }

    /// Digits before and after the decimal point of an operand, from its text when it has one.
    struct DigitShape {
        var integerDigits: Int
        var scale: Int

        init(integerDigits: Int, scale: Int) {
            self.integerDigits = integerDigits
            self.scale = scale
        }

        init(_ value: MValue, _ decimal: Decimal) {
            let text: String
            switch value {
            case .string(let s): text = s
            case .integer(let i): text = String(i)
            default: text = DecimalText.plain(decimal)
            }
            var integer = 0
            var fraction = 0
            var afterPoint = false
            var leading = true
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "."): afterPoint = true
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if afterPoint {
                        fraction += 1
                    } else if !(leading && byte == UInt8(ascii: "0")) {
                        integer += 1
                        leading = false
                    }
                default: break
                }
            }
            self.init(integerDigits: integer, scale: fraction)
        }
    }

    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    // MARK: Conversions

    mutating func text(_ value: MValue, at location: SourceLocation) -> String? {
        switch value {
        case .string(let s): return s
        case .decimal(let d): return DecimalText.plain(d)
        case .integer(let i): return String(i)
        case .date(let d): return d.description
        case .timestamp(let t): return t.text
        case .bool(let b): return b ? "true" : "false"
        case .json(.number(let n)): return ECMAScriptNumber.format(n)
        case .json(let j):
            fail("mapping.type_error", "expected text, found a JSON \(j.typeName)", at: location)
            return nil
        case .absent, .null, .failed: return nil
        }
    }

    mutating func decimal(_ value: MValue, at location: SourceLocation, source: Expression? = nil) -> Decimal? {
        switch value {
        case .decimal(let d): return d
        case .integer(let i): return Decimal(i)
        case .string(let s):
            if let d = DecimalText.parse(s) { return d }
            fail("mapping.type_error", "expected a decimal string such as \"7.85\"", at: location, input: source.flatMap(selectorPath))
            return nil
        case .json(.number(let n)):
            if let d = DecimalText.parse(ECMAScriptNumber.format(n)) { return d }
            fail("mapping.type_error", "the JSON number cannot be read as a decimal", at: location, input: source.flatMap(selectorPath))
            return nil
        default:
            fail("mapping.type_error", "expected a decimal", at: location, input: source.flatMap(selectorPath))
            return nil
        }
    }

    mutating func calendarDate(_ value: MValue, offsetMinutes: Int?, at location: SourceLocation, source: Expression? = nil) -> CalendarDate? {
        switch value {
        case .date(let d): return d
        case .timestamp(let t): return offsetMinutes == nil ? CalendarDate(t.localDate) : shifted(t, offsetMinutes)?.date
        case .string(let s):
            if let d = CalendarDate(s) { return d }
            if let t = Timestamp(rfc3339: s) { return offsetMinutes == nil ? CalendarDate(t.localDate) : shifted(t, offsetMinutes)?.date }
        default: break
        }
        fail("mapping.type_error", "expected an RFC 3339 date or date-time", at: location, input: source.flatMap(selectorPath))
        return nil
    }

    // MARK: Conditions

    mutating func check(_ condition: Condition) -> Bool {
        switch condition {
        case .exists(let e):
            silent += 1
            defer { silent -= 1 }
            return evaluate(e).isPresent
        case .equals(let a, let b):
            let x = evaluate(a), y = evaluate(b)
            guard x.isPresent, y.isPresent else { return !x.isPresent && !y.isPresent && !isFailed(x) && !isFailed(y) }
            silent += 1
            defer { silent -= 1 }
            if let dx = decimalIfNumeric(x), let dy = decimalIfNumeric(y) { return dx == dy }
            return text(x, at: a.location) == text(y, at: b.location)
        case .greater(let a, let b), .less(let a, let b):
            let x = evaluate(a), y = evaluate(b)
            guard x.isPresent, y.isPresent, let dx = decimal(x, at: a.location), let dy = decimal(y, at: b.location) else { return false }
            if case .greater = condition { return dx > dy }
            return dx < dy
        case .matches(let e, let regex, _):
            let value = evaluate(e)
            guard value.isPresent, let t = text(value, at: e.location) else { return false }
            return regex.firstMatch(in: t, range: NSRange(t.startIndex..., in: t)) != nil
        case .isIn(let e, let values):
            let value = evaluate(e)
            guard value.isPresent, let t = text(value, at: e.location) else { return false }
            return values.contains(t)
        case .not(let inner): return !check(inner)
        case .all(let conditions): return conditions.allSatisfy { check($0) }
        case .any(let conditions): return conditions.contains { check($0) }
        }
    }

    func isFailed(_ value: MValue) -> Bool {
        if case .failed = value { return true }
        return false
    }

    func decimalIfNumeric(_ value: MValue) -> Decimal? {
        switch value {
        case .decimal(let d): return d
        case .integer(let i): return Decimal(i)
        case .string(let s): return DecimalText.parse(s)
        case .json(.number(let n)): return DecimalText.parse(ECMAScriptNumber.format(n))
        default: return nil
        }
    }
}
