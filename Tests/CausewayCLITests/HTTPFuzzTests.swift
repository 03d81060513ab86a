import CausewayCore
import CausewayTesting
import Foundation
import Testing
@testable import causeway

/// Mutated raw HTTP/1.1 requests over TCP against a real `causeway serve`: the gateway never
/// crashes, every answer it sends is an HTTP response with an expected status, and nothing a
/// mutated request carries is stored.
///
/// Seeded: `CAUSEWAY_FUZZ_SEED` replays a run, `CAUSEWAY_FUZZ_COUNT` sets the number of requests.
@Suite("HTTP intake fuzz", .serialized)
struct HTTPFuzzTests {
    /// Statuses a request may get. 401: a mutation that turns the request into a GET of a route
    /// that needs a token; 414, 501 and 505: standard answers to an over-long target, an
    /// unsupported transfer coding and another HTTP version; 303: a mutation that turns the request
    /// into a GET of a dashboard page, which sends a browser without a session to `/login` (checked:
    /// only that redirect is allowed). A 5xx other than 501/503 is a bug.
    static let allowed: Set<Int> = [200, 202, 303, 400, 401, 404, 405, 408, 413, 414, 415, 422, 429, 431, 501, 503, 505]
    static let batch = 100

    @Test("mutated requests: no crash, only expected statuses, nothing stored")
    func mutatedRequests() async throws {
        let seed = ProcessInfo.processInfo.environment["CAUSEWAY_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        let count = ProcessInfo.processInfo.environment["CAUSEWAY_FUZZ_COUNT"].flatMap(Int.init) ?? 2000
        let generated = try GeneratedAgreements(count: 1)
        // Wrong tokens are part of the fuzz: lift the per-address throttle so that the requests with
        // the viewer token still reach the query parsing instead of all getting 429.
        let gateway = try RunningGateway(partners: generated.partners,
                                         extra: "http: {auth_failures_per_address: 1000000, auth_failures_global: 1000000}")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        // The one agreement the store holds: a mutation can at most resubmit it, never add one.
        let (status, _) = try await gateway.request("POST", "/v1/agreements", body: generated.documents[0])
        try #require(status == 202, "the valid agreement was not accepted")
        let reproducers = try CommandRunner.temporaryDirectory("http-fuzz")
        var random = SeededGenerator(seed: seed)
        let fuzzer = HTTPFuzzer(valid: generated.documents[0], viewerToken: gateway.viewerToken)
        var answered = 0
        var statuses: [Int: Int] = [:]
        // CAUSEWAY_FUZZ_TRACE=FILE lists each request's mutations and the statuses it got.
        var trace = ""
        var failures = 0
        for batchStart in stride(from: 0, to: count, by: Self.batch) {
            let requests = (batchStart..<min(count, batchStart + Self.batch)).map { _ in fuzzer.request(using: &random) }
            let port = gateway.port
            let exchanges = await inParallel(requests.count) { HTTPFuzzer.exchange(requests[$0], port: port) }
            for (offset, exchange) in exchanges.enumerated() {
                for status in exchange.statuses { statuses[status, default: 0] += 1 }
                trace += "\(batchStart + offset) \(exchange.statuses) \(requests[offset].mutations.joined(separator: ", "))\n"
                guard let problem = exchange.problem else {
                    if exchange.statuses.isEmpty == false { answered += 1 }
                    continue
                }
                failures += 1
                let file = reproducers.appendingPathComponent("request-\(batchStart + offset).http")
                try Data(requests[offset].bytes).write(to: file)
                Issue.record("""
                    seed \(seed), request \(batchStart + offset) (\(requests[offset].mutations.joined(separator: ", "))): \(problem); \
                    the request's bytes are in \(file.path) (replay: nc 127.0.0.1 PORT < FILE); it began \
                    \(HTTPFuzzer.escaped(requests[offset].bytes.prefix(200)))
                    """)
            }
            // Still alive and answering after each batch?
            let healthy = gateway.process.isRunning ? (try? await gateway.request("GET", "/healthz"))?.0 : nil
            if healthy != 200 {
                let folder = reproducers.appendingPathComponent("batch-\(batchStart)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for (offset, request) in requests.enumerated() {
                    try Data(request.bytes).write(to: folder.appendingPathComponent("request-\(batchStart + offset).http"))
                }
                Issue.record("""
                    seed \(seed): after requests \(batchStart)..<\(batchStart + requests.count) the gateway \
                    \(gateway.process.isRunning ? "no longer answers /healthz with 200" : "has exited (status \(gateway.process.terminationStatus))"); \
                    that batch's requests are in \(folder.path); the log ends:
                    \(gateway.log.suffix(1500))
                    """)
                return
            }
            if failures >= 20 { break }
        }
        if let file = ProcessInfo.processInfo.environment["CAUSEWAY_FUZZ_TRACE"] { try Data(trace.utf8).write(to: URL(fileURLWithPath: file)) }
        print("HTTP intake fuzz: seed \(seed): \(answered) of \(count) requests answered; statuses "
              + statuses.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        // A sizeable share must be answered at all, or the fuzzer only measures timeouts.
        #expect(answered >= count / 4, "seed \(seed): only \(answered) of \(count) requests got an answer")
        #expect(gateway.process.isRunning, "seed \(seed): the gateway exited; log:\n\(gateway.log.suffix(1500))")
        // The store itself, read after the gateway stopped: still the one agreement.
        _ = gateway.stop()
        let stored = try CommandRunner.run("/usr/bin/sqlite3", ["-readonly", gateway.directory.appendingPathComponent("causeway.sqlite").path,
                                                              "SELECT digest FROM agreements ORDER BY seq"])
        #expect(stored.status == 0, "\(stored)")
        let digests = stored.stdout.split(separator: "\n").map(String.init)
        #expect(digests == generated.digests, "seed \(seed): mutated requests changed the store: \(digests)")
    }

    /// Runs `work(i)` for every i on 8 threads off the cooperative pool; the results in order.
    func inParallel<Result: Sendable>(_ count: Int, _ work: @escaping @Sendable (Int) -> Result) async -> [Result] {
        await withCheckedContinuation { (done: CheckedContinuation<[Result], Never>) in
            Thread {
                let results = Locked<[Int: Result]>([:])
                DispatchQueue.concurrentPerform(iterations: 8) { lane in
                    for index in stride(from: lane, to: count, by: 8) {
                        let result = work(index)
                        results.withLock { $0[index] = result }
                    }
                }
                let all = results.withLock { $0 }
                done.resume(returning: (0..<count).compactMap { all[$0] })
            }.start()
        }
    }
}

/// Builds mutated requests from a few valid ones and checks what comes back.
struct HTTPFuzzer: Sendable {
    let valid: [UInt8]
    let viewerToken: String

    struct Request: Sendable {
        var bytes: [UInt8]
        var mutations: [String]
        /// The request announces more than it sends: the write side is shut so the server sees the end.
        var truncated: Bool
        var isHead: Bool
    }

    struct Exchange: Sendable {
        var statuses: [Int] = []
        var problem: String?
    }

    /// A request in parts, so that each part can be damaged on its own.
    struct Parts {
        var method = "POST"
        var target = "/v1/agreements"
        var version = "HTTP/1.1"
        var headers: [([UInt8], [UInt8])] = []
        var body: [UInt8] = []
        /// Content-Length from the body when the headers are serialized (unless a mutation set its own).
        var contentLength = true
        var chunked = false
        var truncated = false
        var lineEnd: [UInt8] = [13, 10]

        func serialized() -> [UInt8] {
            var out = Array("\(method) \(target) \(version)".utf8) + lineEnd
            var all = headers
            if contentLength { all.append((Array("Content-Length".utf8), Array(String(body.count).utf8))) }
            for (name, value) in all { out += name + Array(": ".utf8) + value + lineEnd }
            return out + lineEnd + body
        }
    }

    static let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "P0ST", "post", "", "PRI",
                          String(repeating: "G", count: 5000)]
    static let targets = ["/v1/agreements", "/v1/agreements/sha256:" + String(repeating: "ab", count: 32), "/v1/agreements/xyz/retry",
                          "/v1/receipts/%ZZ", "/healthz", "/readyz", "/metrics", "*", "http://127.0.0.1/v1/agreements", "/../../etc/passwd",
                          "/v1/agreements%00", "/" + String(repeating: "a", count: 10_000), "", "/v1/agreements?limit=5&limit=6",
                          "/v1/agreements/" + String(repeating: "%", count: 300), "/dashboard/../v1/agreements", "//v1//agreements"]
    static let queryValues = ["0", "-1", "1", "50", "99999999999999999999", "abc", "", "1e3", "%00", "9223372036854775807", "-9223372036854775808"]
    static let versions = ["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTP/1.1x", "http/1.1", "", "HTTP/1.1 extra", "HTTP/0.9", "HTTP/1.10"]
    static let lengths = ["-1", "abc", "99999999999999999999", " 5", "0x10", "+5", "", "1, 2", "0", "18446744073709551616"]

    init(valid: [UInt8], viewerToken: String) {
        self.valid = valid
        self.viewerToken = viewerToken
    }

    func base(using random: inout SeededGenerator) -> (Parts, String) {
        var parts = Parts()
        parts.headers = [(Array("Host".utf8), Array("127.0.0.1".utf8))]
        switch Int.random(in: 0..<5, using: &random) {
        case 0:
            parts.headers.append((Array("Content-Type".utf8), Array("application/json".utf8)))
            parts.body = valid
            return (parts, "valid agreement")
        case 1:
            parts.headers.append((Array("Content-Type".utf8), Array("application/json".utf8)))
            parts.body = Array(#"{"type": "PurchaseAgreement", "id": "urn:x", "proof": []}"#.utf8)
            return (parts, "unsigned agreement")
        case 2:
            parts.method = "GET"
            parts.target = "/healthz"
            parts.contentLength = false
            return (parts, "GET /healthz")
        case 3:
            parts.method = "GET"
            parts.target = "/v1/agreements?limit=5"
            parts.contentLength = false
            parts.headers.append((Array("Authorization".utf8), Array("Bearer wrong-token-wrong-token-wrong-token".utf8)))
            return (parts, "GET /v1/agreements, bad token")
        default:
            parts.method = "GET"
            let value = Self.queryValues.randomElement(using: &random) ?? "0"
            let name = ["limit", "before", "status", "partner", "limit"].randomElement(using: &random) ?? "limit"
            parts.target = "/v1/agreements?\(name)=\(value)"
            parts.contentLength = false
            parts.headers.append((Array("Authorization".utf8), Array("Bearer \(viewerToken)".utf8)))
            return (parts, "GET /v1/agreements?\(name)=\(value) as a viewer")
        }
    }

    func request(using random: inout SeededGenerator) -> Request {
        // Now and then the whole request is random bytes.
        if Int.random(in: 0..<20, using: &random) == 0 {
            let bytes = (0..<Int.random(in: 1...4096, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            return Request(bytes: bytes, mutations: ["random bytes (\(bytes.count))"], truncated: false, isHead: false)
        }
        var (parts, name) = base(using: &random)
        var mutations = [name]
        // One mutation half the time, so that many requests get past the parser into the handlers.
        let rounds = [1, 1, 1, 1, 1, 2, 2, 2, 3, 3].randomElement(using: &random) ?? 1
        for _ in 0..<rounds { mutations.append(mutate(&parts, using: &random)) }
        var bytes = parts.serialized()
        var truncated = parts.truncated
        // And now and then damaged after serialization, wherever it lands.
        if Int.random(in: 0..<5, using: &random) == 0, !bytes.isEmpty {
            let position = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: bytes[position] ^= UInt8.random(in: 1...255, using: &random); mutations.append("byte \(position) changed")
            case 1: bytes.remove(at: position); mutations.append("byte \(position) deleted"); truncated = true
            case 2: bytes.insert(UInt8.random(in: 0...255, using: &random), at: position); mutations.append("byte inserted at \(position)")
            default: bytes = Array(bytes.prefix(position)); mutations.append("cut at \(position)"); truncated = true
            }
        }
        return Request(bytes: bytes, mutations: mutations, truncated: truncated, isHead: parts.method == "HEAD")
    }

    func mutate(_ parts: inout Parts, using random: inout SeededGenerator) -> String {
        func junk(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) } }
        switch Int.random(in: 0..<22, using: &random) {
        case 0:
            parts.method = Self.methods.randomElement(using: &random) ?? "GET"
            return "method \(parts.method.prefix(20))"
        case 1:
            parts.target = Self.targets.randomElement(using: &random) ?? "/"
            return "target \(parts.target.prefix(40))"
        case 2:
            parts.target += "?limit=" + (Self.queryValues.randomElement(using: &random) ?? "0")
            return "target \(parts.target.prefix(60))"
        case 3:
            parts.version = Self.versions.randomElement(using: &random) ?? ""
            return "version \(parts.version)"
        case 4:
            let size = [8_000, 16_000, 70_000].randomElement(using: &random) ?? 8_000
            parts.headers.append((Array(repeating: UInt8(ascii: "X"), count: size), Array("1".utf8)))
            return "header name of \(size) bytes"
        case 5:
            let size = [8_000, 16_000, 70_000, 200_000].randomElement(using: &random) ?? 8_000
            parts.headers.append((Array("X-Big".utf8), Array(repeating: UInt8(ascii: "v"), count: size)))
            return "header value of \(size) bytes"
        case 6:
            let injected = ["a\r\nContent-Length: 5", "a\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "a\nX-Injected: 1", "a\rb", "a\r\n Folded: 1"]
                .randomElement(using: &random) ?? "a\r\n"
            parts.headers.append((Array("X-Note".utf8), Array(injected.utf8)))
            return "CRLF in a header value"
        case 7:
            parts.lineEnd = [10]
            return "bare LF line ends"
        case 8:
            let bytes = junk(Int.random(in: 1...16, using: &random)).map { $0 | 0x80 } + [0, 127]
            if Bool.random(using: &random) { parts.headers.append((Array("X-Ä".utf8) + bytes, Array("1".utf8))) }
            else { parts.headers.append((Array("X-Note".utf8), bytes)) }
            return "non-ASCII, NUL and DEL in a header"
        case 9:
            let length = String(parts.body.count)
            let other = Bool.random(using: &random) ? length : String(max(0, parts.body.count - 10))
            parts.headers.append((Array("Content-Length".utf8), Array(other.utf8)))
            return "second Content-Length \(other == length ? "(same)" : "(different)")"
        case 10:
            let value = Self.lengths.randomElement(using: &random) ?? "-1"
            parts.contentLength = false
            parts.headers.append((Array("Content-Length".utf8), Array(value.utf8)))
            return "Content-Length \(value)"
        case 11, 12:
            // Chunked, with a bad size, a size over the data, or no last chunk.
            let body = parts.body.isEmpty ? Array("{}".utf8) : parts.body
            parts.contentLength = Int.random(in: 0..<4, using: &random) == 0  // both TE and CL now and then
            parts.headers.append((Array("Transfer-Encoding".utf8), Array((["chunked", "chunked, gzip", "gzip, chunked", "identity", "CHUNKED", "chunked\u{0}"]
                .randomElement(using: &random) ?? "chunked").utf8)))
            let size = ["zz", "-1", "FFFFFFFFFFFFFFFFFFFF", String(body.count + 100, radix: 16), String(body.count, radix: 16) + ";ext=\"x",
                        String(body.count, radix: 16), "0x10", " " + String(body.count, radix: 16)].randomElement(using: &random) ?? "zz"
            let ending = Bool.random(using: &random) ? "\r\n0\r\n\r\n" : ""
            parts.body = Array("\(size)\r\n".utf8) + body + Array("\r\n\(ending)".utf8)
            parts.truncated = ending.isEmpty || size == String(body.count + 100, radix: 16)
            return "chunked, size \(size)\(ending.isEmpty ? ", no last chunk" : "")"
        case 13:
            parts.headers.append((Array(" Folded".utf8), Array("continuation".utf8)))
            return "obs-fold line"
        case 14:
            let count = [200, 1000, 5000].randomElement(using: &random) ?? 200
            for index in 0..<count { parts.headers.append((Array("X-H\(index)".utf8), Array("v".utf8))) }
            return "\(count) headers"
        case 15:
            if Bool.random(using: &random) { parts.headers.removeAll { $0.0 == Array("Host".utf8) } }
            else { parts.headers.append((Array("Host".utf8), Array("evil.example".utf8))) }
            return "Host missing or twice"
        case 16:
            parts.headers.append((Array("NoColonHeader".utf8), []))
            return "header line without a colon"
        case 17:
            // Fewer body bytes than announced.
            guard !parts.body.isEmpty else { return "no body to truncate" }
            let keep = Int.random(in: 0..<parts.body.count, using: &random)
            let announced = parts.body.count
            parts.contentLength = false
            parts.headers.append((Array("Content-Length".utf8), Array(String(announced).utf8)))
            parts.body = Array(parts.body.prefix(keep))
            parts.truncated = true
            return "body truncated to \(keep) of \(announced)"
        case 18:
            // More body bytes than announced: the rest reads as the next request.
            let extra = Bool.random(using: &random) ? junk(Int.random(in: 1...512, using: &random)) : Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            let announced = parts.body.count
            parts.contentLength = false
            parts.headers.append((Array("Content-Length".utf8), Array(String(announced).utf8)))
            parts.body += extra
            return "\(extra.count) bytes past the body"
        case 19:
            for _ in 0..<Int.random(in: 1...10, using: &random) where !parts.body.isEmpty {
                parts.body[Int.random(in: 0..<parts.body.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            }
            return "body bytes changed"
        case 20:
            let size = Int.random(in: 0..<100, using: &random) == 0 ? (1 << 20) + 4096 : Int.random(in: 0...4096, using: &random)
            parts.body = junk(size)
            return "random body of \(size) bytes"
        default:
            let types = ["text/plain", "application/json; charset=latin1", "", "application/xml", "multipart/form-data; boundary=x", "\u{1}"]
            let type = types.randomElement(using: &random) ?? ""
            parts.headers.removeAll { $0.0 == Array("Content-Type".utf8) }
            parts.headers.append((Array("Content-Type".utf8), Array(type.utf8)))
            return "Content-Type \(type.debugDescription)"
        }
    }

    /// Sends the request on a new connection and reads what comes back: at least one whole
    /// response, or until the server closes or falls silent (0.5 s; then our write side is shut,
    /// telling the server that nothing more comes, and it has 2 s more).
    static func exchange(_ request: Request, port: Int) -> Exchange {
        let socket: LoopbackSocket
        do {
            socket = try LoopbackSocket(port: port, timeout: 2)
        } catch {
            return Exchange(problem: "cannot connect: \(error)")
        }
        defer { socket.close() }
        _ = socket.send(request.bytes)  // the server may close before all is written; it may still have answered
        if request.truncated { socket.shutdownWrite() } else { socket.setTimeout(0.5) }
        var (received, ending) = socket.receive(limit: 4 << 20) { responses(in: $0, firstIsHead: request.isHead).complete >= 1 }
        if received == nil, ending == .timeout, !request.truncated {
            socket.shutdownWrite()
            socket.setTimeout(2)
            (received, ending) = socket.receive(limit: 4 << 20) { responses(in: $0, firstIsHead: request.isHead).complete >= 1 }
        }
        guard let received else { return Exchange() }
        let parsed = responses(in: received, firstIsHead: request.isHead)
        if let problem = parsed.problem {
            return Exchange(statuses: parsed.statuses, problem: "\(problem); the answer began \(escaped(received.prefix(300)))")
        }
        if let bad = parsed.statuses.first(where: { !HTTPFuzzTests.allowed.contains($0) }) {
            return Exchange(statuses: parsed.statuses, problem: "answered \(bad), not one of \(HTTPFuzzTests.allowed.sorted()); "
                            + "the answer began \(escaped(received.prefix(300)))")
        }
        if parsed.statuses.contains(303), !String(decoding: received, as: UTF8.self).contains("\r\nLocation: /login?next=") {
            return Exchange(statuses: parsed.statuses, problem: "answered 303 to somewhere else than the login page; "
                            + "the answer began \(escaped(received.prefix(300)))")
        }
        return Exchange(statuses: parsed.statuses)
    }

    /// The responses in `bytes`, in order: statuses of the whole ones, how many, and what is wrong
    /// when the bytes are not HTTP/1.x responses (a partial last one is not wrong: it was cut off).
    static func responses(in bytes: [UInt8], firstIsHead: Bool) -> (statuses: [Int], complete: Int, problem: String?) {
        var statuses: [Int] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let prefix = Array("HTTP/1.".utf8)
            let start = Array(rest.prefix(prefix.count))
            guard start == Array(prefix.prefix(start.count)) else {
                return (statuses, statuses.count, "not an HTTP response")
            }
            guard let headEnd = LoopbackSocket.headEnd(in: Array(rest)) else {
                if rest.count > 65_536 { return (statuses, statuses.count, "a response head over 64 KiB") }
                break  // cut off
            }
            let head = Array(rest.prefix(headEnd))
            guard let status = LoopbackSocket.status(of: head) else { return (statuses, statuses.count, "a malformed status line") }
            let fields = String(decoding: head, as: UTF8.self).lowercased().split(separator: "\r\n").dropFirst()
            var length: Int?
            var chunked = false
            for field in fields {
                if field.hasPrefix("content-length:") {
                    guard let value = Int(field.dropFirst(15).trimmingCharacters(in: .whitespaces)), value >= 0 else {
                        return (statuses, statuses.count, "a response with an invalid Content-Length")
                    }
                    length = value
                }
                if field.hasPrefix("transfer-encoding:") && field.contains("chunked") { chunked = true }
            }
            rest = rest.dropFirst(headEnd)
            let noBody = (statuses.isEmpty && firstIsHead) || status == 204 || status == 304 || (100..<200).contains(status)
            statuses.append(status)
            if noBody { continue }
            if chunked {
                // Chunks up to the last one; a cut-off body ends the parse without a problem.
                while true {
                    guard let lineEnd = rest.firstIndex(of: 10) else { return (statuses, statuses.count - 1, nil) }
                    let sizeText = String(decoding: rest[rest.startIndex..<lineEnd], as: UTF8.self)
                        .split(separator: ";").first?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                    guard let size = Int(sizeText, radix: 16), size >= 0 else { return (statuses, statuses.count, "a bad chunk size") }
                    rest = rest[(lineEnd + 1)...]
                    guard rest.count >= size + 2 else { return (statuses, statuses.count - 1, nil) }
                    rest = rest.dropFirst(size + 2)
                    if size == 0 { break }
                }
            } else if let length {
                guard rest.count >= length else { return (statuses, statuses.count - 1, nil) }
                rest = rest.dropFirst(length)
            } else {
                return (statuses, statuses.count, nil)  // the body runs to the close
            }
        }
        return (statuses, statuses.count, nil)
    }

    static func escaped(_ bytes: some Collection<UInt8>) -> String {
        "\"" + bytes.map { byte -> String in
            switch byte {
            case 13: "\\r"
            case 10: "\\n"
            case 32..<127 where byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\"): String(UnicodeScalar(byte))
            default: String(format: "\\x%02x", byte)
            }
        }.joined() + "\""
    }
}
