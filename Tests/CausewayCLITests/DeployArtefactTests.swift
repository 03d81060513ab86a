import CausewayCore
import CausewayTesting
import Foundation
import Testing
import Yams

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The deploy artefacts in `Deploy/` (Containerfile, compose, Kubernetes, alert rules, Grafana
/// dashboard). No container runtime exists here, so they are checked against what does: every
/// file parses; the configurations they carry load with the real loader and serve with a real
/// `causeway serve` (their secrets, key and folders pointed at test files); the probes' paths
/// answer; every metric the alerts and the dashboard use is one `/metrics` exports; and the
/// Containerfiles build and run with the steps `scripts/`, `Package.swift` and the systemd unit
/// already use.
@Suite("Deploy artefacts", .serialized)
struct DeployArtefactTests {
    static let repository = TestPaths.repository
    static let deploy = repository.appendingPathComponent("Deploy")

    /// The artefacts this suite covers: deleting one fails it.
    static let required = [
        "Containerfile", "compose.yaml", "compose/causeway.yaml", "tryton/Containerfile", "tryton/trytond.conf", "tryton/init.sh",
        "kubernetes/kustomization.yaml", "kubernetes/namespace.yaml", "kubernetes/configmap.yaml", "kubernetes/deployment.yaml",
        "kubernetes/service.yaml", "kubernetes/poddisruptionbudget.yaml", "prometheus/causeway-alerts.yaml", "grafana/causeway.json",
    ]

    // MARK: Reading

    static func text(_ relative: String) throws -> String {
        try String(contentsOf: repository.appendingPathComponent(relative), encoding: .utf8)
    }

    /// The documents of a YAML file, as plain values (mappings are `[String: Any]`).
    static func yaml(_ relative: String) throws -> [Any] {
        // The sequence keeps a syntax error instead of throwing it: read it after the last document.
        var sequence = try Yams.load_all(yaml: text(relative))
        var documents: [Any] = []
        while let document = sequence.next() { documents.append(document) }
        if let error = sequence.error { throw MissingTestInput(path: relative, hint: "YAML syntax: \(error)") }
        return documents
    }

    static func json(_ relative: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: repository.appendingPathComponent(relative)))
    }

    /// A value inside nested mappings and sequences: `lookup(doc, "spec", "template", 0, "name")`.
    static func lookup(_ value: Any?, _ path: Any...) -> Any? {
        var current = value
        for step in path {
            if let key = step as? String { current = (current as? [String: Any])?[key] }
            else if let index = step as? Int, let array = current as? [Any], array.indices.contains(index) { current = array[index] }
            else { return nil }
        }
        return current
    }

    static func document(kind: String, in relative: String) throws -> [String: Any] {
        guard let found = try yaml(relative).compactMap({ $0 as? [String: Any] }).first(where: { $0["kind"] as? String == kind }) else {
            throw MissingTestInput(path: relative, hint: "no \(kind) in it")
        }
        return found
    }

    /// The Deployment's gateway container.
    static func gatewayContainer() throws -> [String: Any] {
        let deployment = try document(kind: "Deployment", in: "Deploy/kubernetes/deployment.yaml")
        let containers = lookup(deployment, "spec", "template", "spec", "containers") as? [[String: Any]] ?? []
        guard let container = containers.first(where: { $0["name"] as? String == "causeway" }) else {
            throw MissingTestInput(path: "Deploy/kubernetes/deployment.yaml", hint: "no container named causeway")
        }
        return container
    }

    /// The `causeway.yaml` texts the artefacts ship: the compose stack's and the Kubernetes ConfigMap's.
    static func shippedConfigurations() throws -> [(name: String, text: String)] {
        let configMap = try document(kind: "ConfigMap", in: "Deploy/kubernetes/configmap.yaml")
        guard let kubernetes = lookup(configMap, "data", "causeway.yaml") as? String else {
            throw MissingTestInput(path: "Deploy/kubernetes/configmap.yaml", hint: "no data.causeway.yaml")
        }
        return [("compose", try text("Deploy/compose/causeway.yaml")), ("kubernetes", kubernetes)]
    }

    // MARK: Containerfile parsing

    struct Instruction { let keyword: String; let arguments: String }

    /// The instructions of a Containerfile, continuation lines joined and comments dropped, split
    /// into stages at each FROM.
    static func stages(_ relative: String) throws -> [[Instruction]] {
        var logical: [String] = []
        var pending = ""
        for line in try text(relative).split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("#") || (trimmed.isEmpty && pending.isEmpty) { continue }
            if trimmed.hasSuffix("\\") {
                pending += trimmed.dropLast() + " "
            } else {
                logical.append(pending + trimmed)
                pending = ""
            }
        }
        var result: [[Instruction]] = []
        for line in logical where !line.isEmpty {
            let parts = line.split(separator: " ", maxSplits: 1)
            let instruction = Instruction(keyword: parts[0].uppercased(), arguments: parts.count > 1 ? String(parts[1]) : "")
            if instruction.keyword == "FROM" { result.append([]) }
            guard !result.isEmpty else { continue }
            result[result.count - 1].append(instruction)
        }
        return result
    }

    /// Shell words of a command, quotes removed (no expansion: enough for the lines compared here).
    static func words(_ command: Substring) -> [String] {
        command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { $0.replacingOccurrences(of: "\"", with: "") }
    }

    /// The packages of every `apt-get install` in these RUN lines.
    static func aptPackages(_ stage: [Instruction]) -> Set<String> {
        var packages: Set<String> = []
        for run in stage where run.keyword == "RUN" {
            for command in run.arguments.components(separatedBy: "&&") {
                let tokens = words(Substring(command))
                guard let install = tokens.firstIndex(of: "install"), tokens[..<install].contains("apt-get") else { continue }
                packages.formUnion(tokens[(install + 1)...].filter { !$0.hasPrefix("-") })
            }
        }
        return packages
    }

    /// The arguments of every `swift build …` command in these RUN lines (not those inside `$(…)`).
    static func swiftBuilds(_ stage: [Instruction]) -> [[String]] {
        stage.filter { $0.keyword == "RUN" }.flatMap { $0.arguments.components(separatedBy: "&&") }
            .map { words(Substring($0)) }.filter { $0.starts(with: ["swift", "build"]) }
    }

    /// The `swift build` arguments of the first line of `file` that runs it.
    static func swiftBuildLine(in relative: String) throws -> [String] {
        guard let line = try text(relative).split(separator: "\n").first(where: {
            $0.trimmingCharacters(in: .whitespaces).hasPrefix("swift build -") || $0.trimmingCharacters(in: .whitespaces).hasPrefix("swift build --product")
        }) else { throw MissingTestInput(path: relative, hint: "no swift build line") }
        return words(line.drop(while: { $0 == " " }))
    }

    // MARK: Tests

    @Test("every YAML and JSON file in Deploy/ parses, and the artefacts are all there")
    func parses() throws {
        for file in Self.required {
            #expect(FileManager.default.fileExists(atPath: Self.deploy.appendingPathComponent(file).path), "Deploy/\(file) is missing")
        }
        var checked = 0
        let files = FileManager.default.enumerator(at: Self.deploy, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        for url in files {
            let relative = "Deploy/" + url.path.dropFirst(Self.deploy.path.count + 1)
            switch url.pathExtension {
            case "yaml", "yml":
                let documents = try Self.yaml(relative)
                #expect(!documents.isEmpty, "\(relative): no YAML document")
                #expect(documents.allSatisfy { $0 is [String: Any] }, "\(relative): every document must be a mapping")
                checked += 1
            case "json":
                #expect(try Self.json(relative) is [String: Any], "\(relative): not a JSON object")
                checked += 1
            default: continue
            }
        }
        #expect(checked >= 10, "only \(checked) YAML/JSON files found in Deploy/")
        // Every Kubernetes document names its API version and kind; the kustomization lists files that exist.
        let kustomization = try Self.yaml("Deploy/kubernetes/kustomization.yaml").first
        let resources = Self.lookup(kustomization, "resources") as? [String] ?? []
        #expect(Set(resources) == ["namespace.yaml", "configmap.yaml", "deployment.yaml", "service.yaml", "poddisruptionbudget.yaml"])
        for resource in resources {
            for document in try Self.yaml("Deploy/kubernetes/\(resource)") {
                #expect(Self.lookup(document, "apiVersion") is String && Self.lookup(document, "kind") is String, "\(resource)")
            }
        }
    }

    @Test("Kubernetes: two replicas on a PostgreSQL store, probes, Secret references, non-root with a read-only root, a PDB and a Service that select the pods")
    func kubernetesShape() throws {
        let deployment = try Self.document(kind: "Deployment", in: "Deploy/kubernetes/deployment.yaml")
        #expect(Self.lookup(deployment, "spec", "replicas") as? Int == 2)
        let labels = Self.lookup(deployment, "spec", "template", "metadata", "labels") as? [String: String] ?? [:]
        #expect(Self.lookup(deployment, "spec", "selector", "matchLabels") as? [String: String] == labels)
        let container = try Self.gatewayContainer()
        #expect(Self.lookup(container, "readinessProbe", "httpGet", "path") as? String == "/readyz")
        #expect(Self.lookup(container, "livenessProbe", "httpGet", "path") as? String == "/healthz")
        let pod = Self.lookup(deployment, "spec", "template", "spec")
        #expect(Self.lookup(pod, "securityContext", "runAsNonRoot") as? Bool == true)
        #expect((Self.lookup(pod, "securityContext", "runAsUser") as? Int ?? 0) > 0)
        let containers = (Self.lookup(pod, "containers") as? [Any] ?? []) + (Self.lookup(pod, "initContainers") as? [Any] ?? [])
        for each in containers {
            #expect(Self.lookup(each, "securityContext", "readOnlyRootFilesystem") as? Bool == true, "\(Self.lookup(each, "name") ?? "?")")
            #expect(Self.lookup(each, "securityContext", "allowPrivilegeEscalation") as? Bool == false)
        }
        // Secrets only by reference: the Secrets' names are mounted, their values are nowhere in Deploy/kubernetes.
        let secretNames = Set((Self.lookup(pod, "volumes") as? [Any] ?? []).compactMap { Self.lookup($0, "secret", "secretName") as? String })
        #expect(secretNames == ["causeway-secrets", "causeway-gateway-key"])
        for file in ["deployment.yaml", "configmap.yaml", "service.yaml", "poddisruptionbudget.yaml", "namespace.yaml", "kustomization.yaml"] {
            #expect(try Self.yaml("Deploy/kubernetes/\(file)").allSatisfy { Self.lookup($0, "kind") as? String != "Secret" }, "\(file) holds a Secret")
        }
        let configuration = try Yams.load(yaml: Self.shippedConfigurations()[1].text)
        let store = Self.lookup(configuration, "store") as? String ?? ""
        #expect(store.hasPrefix("postgresql://") && store.contains("sslmode=verify-full"), "\(store)")
        // The PDB and the Service select the Deployment's pods; the Service reaches the container's port.
        let pdb = try Self.document(kind: "PodDisruptionBudget", in: "Deploy/kubernetes/poddisruptionbudget.yaml")
        #expect(Self.lookup(pdb, "spec", "selector", "matchLabels") as? [String: String] == labels)
        #expect((Self.lookup(pdb, "spec", "minAvailable") as? Int ?? 0) >= 1)
        let service = try Self.document(kind: "Service", in: "Deploy/kubernetes/service.yaml")
        #expect(Self.lookup(service, "spec", "selector") as? [String: String] == labels)
        let portName = Self.lookup(service, "spec", "ports", 0, "targetPort") as? String
        let containerPorts = Self.lookup(container, "ports") as? [Any] ?? []
        #expect(containerPorts.contains { Self.lookup($0, "name") as? String == portName && Self.lookup($0, "containerPort") as? Int == 8080 })
    }

    @Test("the configurations the artefacts ship use only settings the configuration loader knows")
    func configurationKeys() throws {
        for (name, text) in try Self.shippedConfigurations() {
            let file = try CommandRunner.temporaryDirectory("deploy-config").appendingPathComponent("\(name).yaml")
            try Data(text.utf8).write(to: file)
            let result = try CommandRunner.causeway(["config", "check", "--config", file.path])
            #expect(result.status == 0, "\(name): \(result)")
            #expect(!result.stderr.contains("unknown setting"), "\(name): \(result.stderr)")
            #expect(result.stdout.contains("listen      0.0.0.0:8080"), "\(name): \(result.stdout)")
        }
        // The environment variables the artefacts give the gateway are ones the loader reads.
        let loaderSource = try FileManager.default.contentsOfDirectory(atPath: Self.repository.appendingPathComponent("Sources/causeway").path)
            .filter { $0.hasPrefix("ConfigurationLoader") }
            .map { try Self.text("Sources/causeway/\($0)") }.joined()
        let compose = try Self.yaml("Deploy/compose.yaml").first
        let composeEnvironment = (Self.lookup(compose, "services", "gateway", "environment") as? [String: Any] ?? [:]).keys
        let kubernetesEnvironment = (Self.lookup(try Self.gatewayContainer(), "env") as? [Any] ?? []).compactMap { Self.lookup($0, "name") as? String }
        let names = Set(composeEnvironment).union(kubernetesEnvironment)
        #expect(names.contains("CAUSEWAY_STORE_PASSWORD"))
        for name in names {
            #expect(loaderSource.contains("environment[\"\(name)\"]"), "\(name) is not read by the configuration loader")
        }
    }

    @Test("the shipped configurations serve: probes answer, and every metric the alerts and the dashboard use is exported")
    func serveProbesAndMetrics() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let tryton = environment["CAUSEWAY_TEST_TRYTON"], let trytonPassword = environment["CAUSEWAY_TEST_TRYTON_PASSWORD"] else {
            throw MissingTestInput(path: "CAUSEWAY_TEST_TRYTON", hint: "scripts/test starts the test ERP (scripts/tryton-start)")
        }
        // The probe paths every artefact uses.
        let container = try Self.gatewayContainer()
        var probes = Set(["readinessProbe", "livenessProbe", "startupProbe"].compactMap { Self.lookup(container, $0, "httpGet", "path") as? String })
        let healthcheck = try Self.stages("Deploy/Containerfile").last?.first { $0.keyword == "HEALTHCHECK" }
        let healthURL = healthcheck?.arguments.split(separator: " ").first { $0.hasPrefix("http://") }
        #expect(healthURL == "http://127.0.0.1:8080/healthz")
        let composeCheck = Self.lookup(try Self.yaml("Deploy/compose.yaml").first, "services", "gateway", "healthcheck", "test") as? [String] ?? []
        for url in [healthURL.map(String.init)].compactMap({ $0 }) + composeCheck.filter({ $0.hasPrefix("http://") }) {
            probes.insert(String(url.drop(while: { $0 != "/" }).dropFirst(2).drop(while: { $0 != "/" })))
        }
        #expect(probes == ["/readyz", "/healthz"], "\(probes)")
        let entrypoint = try Self.entrypoint()

        var exported: Set<String> = []
        var sampledWhenFresh: Set<String> = []   // names with a sample before any request
        for (name, text) in try Self.shippedConfigurations() {
            // The container's paths, pointed at a test folder: secrets, the key, the working folder, the partners.
            let root = try CommandRunner.temporaryDirectory("deploy-\(name)")
            func mapped(_ path: String) -> String {
                for prefix in ["/run/secrets/", "/run/causeway-key/", "/var/lib/causeway/", "/etc/causeway/"] where path.hasPrefix(prefix) {
                    return root.path + "/" + prefix.split(separator: "/").joined(separator: "-") + "/" + path.dropFirst(prefix.count)
                }
                return path
            }
            var configuration = text
            for prefix in ["/run/secrets/", "/run/causeway-key/", "/var/lib/causeway/", "/etc/causeway/"] {
                configuration = configuration.replacingOccurrences(of: prefix, with: mapped(prefix))
            }
            let parsed = try Yams.load(yaml: configuration)
            let work = URL(fileURLWithPath: mapped("/var/lib/causeway/"))
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            let partners = try #require(Self.lookup(parsed, "partners") as? String)
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: partners).deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("Mappings"), to: URL(fileURLWithPath: partners))
            let identity = try #require(Self.lookup(parsed, "identity") as? String)
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: identity).deletingLastPathComponent(), withIntermediateDirectories: true)
            let key = try CommandRunner.causeway(["keys", "new", "--out", identity])
            #expect(key.status == 0, "\(key)")
            // Every file: secret gets a test value (the ERP's password for the ERP's, a long token otherwise).
            var secretFiles = Set(configuration.matches(of: #/file:([^\s"',}]+)/#).map { String($0.output.1) })
            let composeFile = try Self.yaml("Deploy/compose.yaml").first
            let storePassword = name == "compose"
                ? Self.lookup(composeFile, "services", "gateway", "environment", "CAUSEWAY_STORE_PASSWORD") as? String
                : (Self.lookup(container, "env") as? [Any] ?? []).first { Self.lookup($0, "name") as? String == "CAUSEWAY_STORE_PASSWORD" }
                    .flatMap { Self.lookup($0, "value") as? String }
            let storeReference = try #require(storePassword, "\(name): no CAUSEWAY_STORE_PASSWORD")
            #expect(storeReference.hasPrefix("file:/run/secrets/"), "\(name): \(storeReference)")
            let storeFile = mapped(String(storeReference.dropFirst(5)))
            secretFiles.insert(storeFile)
            for file in secretFiles {
                try FileManager.default.createDirectory(at: URL(fileURLWithPath: file).deletingLastPathComponent(), withIntermediateDirectories: true)
                let value = file.contains("tryton") ? trytonPassword : "deploy-test-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
                try Data(value.utf8).write(to: URL(fileURLWithPath: file))
            }
            let configFile = mapped(entrypoint.config)
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: configFile).deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(configuration.utf8).write(to: URL(fileURLWithPath: configFile))

            let database = try ReliabilityTests.database("deploy")
            let port = TestPorts.free(in: 20_000...32_000)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandRunner.causewayBinary)
            process.arguments = entrypoint.arguments.map { $0 == entrypoint.config ? configFile : $0 }
            process.currentDirectoryURL = work
            var serveEnvironment = environment
            serveEnvironment["CAUSEWAY_LISTEN"] = "127.0.0.1:\(port)"     // the container's 0.0.0.0:8080, on a free loopback port
            serveEnvironment["CAUSEWAY_STORE"] = database
            serveEnvironment["CAUSEWAY_STORE_PASSWORD"] = "file:\(storeFile)"
            serveEnvironment["CAUSEWAY_TARGET_ERP_URL"] = tryton           // the test ERP in place of the stack's
            serveEnvironment["CAUSEWAY_ALLOW_FIXTURE_KEYS"] = "true"       // the repository's example partners
            process.environment = serveEnvironment
            let log = root.appendingPathComponent("serve.log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            process.standardError = try FileHandle(forWritingTo: log)
            try process.run()
            defer {
                if process.isRunning { kill(process.processIdentifier, SIGTERM); process.waitUntilExit() }
            }
            let base = "http://127.0.0.1:\(port)"
            var ready = false
            for _ in 0..<300 where !ready {
                if let (status, _) = try? await Self.get(base + "/readyz"), status == 200 { ready = true; break }
                guard process.isRunning else { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let serveLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            try #require(ready, "\(name): causeway serve did not become ready:\n\(serveLog)")
            #expect(!serveLog.contains("deploy-test-") && !serveLog.contains(trytonPassword), "\(name): a secret in the log")
            for probe in probes.sorted() {
                let (status, _) = try await Self.get(base + probe)
                #expect(status == 200, "\(name): \(probe) answered \(status)")
            }
            let (_, fresh) = try await Self.get(base + "/metrics")
            sampledWhenFresh.formUnion(fresh.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0.prefix { $0 != "{" && $0 != " " }) })
            // One refused post, so that the intake counters have samples too.
            _ = try? await Self.post(base + "/v1/agreements", body: "{}")
            let (status, metrics) = try await Self.get(base + "/metrics")
            #expect(status == 200)
            exported.formUnion(Self.metricNames(metrics))
        }
        #expect(exported.contains("causeway_dead_letters_total"), "\(exported.sorted())")

        // The alert rules: every causeway_ metric exists; the alerts Docs/operations.md lists are there.
        let rules = try Self.yaml("Deploy/prometheus/causeway-alerts.yaml").first
        let groups = Self.lookup(rules, "groups") as? [Any] ?? []
        let alerts = groups.flatMap { Self.lookup($0, "rules") as? [Any] ?? [] }
        #expect(alerts.count >= 5)
        var alertExpressions = ""
        for alert in alerts {
            let name = Self.lookup(alert, "alert") as? String ?? "?"
            let expr = try #require(Self.lookup(alert, "expr") as? String, "\(name): no expr")
            #expect(Self.lookup(alert, "annotations", "summary") is String, "\(name): no summary")
            alertExpressions += expr + "\n"
            for metric in Self.referencedMetrics(expr) { #expect(exported.contains(metric), "alert \(name) uses \(metric), which /metrics does not export") }
        }
        let operations = try Self.text("Docs/operations.md")
        let worth = try #require(operations.components(separatedBy: "Worth alerting on").dropFirst().first?.components(separatedBy: "\n\n").first)
        let listed = Self.referencedMetrics(worth)
        #expect(listed.count >= 3, "\(worth)")
        for metric in listed { #expect(alertExpressions.contains(metric), "Docs/operations.md lists \(metric) as worth alerting on; no rule uses it") }
        #expect(worth.contains("/readyz") && alertExpressions.contains("causeway-readyz"), "no rule for /readyz failing")
        #expect(worth.contains("intake.not_verified") && alertExpressions.contains("intake.not_verified"))
        #expect(worth.contains("lookup_unavailable") && alertExpressions.contains("unknown|lookup_unavailable"))

        // The dashboard: every expression's metrics exist, and it shows every family /metrics exports.
        let dashboard = try Self.json("Deploy/grafana/causeway.json")
        var dashboardExpressions: [String] = []
        for panel in Self.lookup(dashboard, "panels") as? [Any] ?? [] {
            for target in Self.lookup(panel, "targets") as? [Any] ?? [] {
                if let expr = Self.lookup(target, "expr") as? String { dashboardExpressions.append(expr) }
            }
        }
        for variable in Self.lookup(dashboard, "templating", "list") as? [Any] ?? [] {
            guard let query = Self.lookup(variable, "query") as? String else { continue }
            dashboardExpressions.append(query)
            // The job and instance selectors list the values of a series every gateway has from its start.
            for metric in Self.referencedMetrics(query) {
                #expect(sampledWhenFresh.contains(metric), "the dashboard's variable \(Self.lookup(variable, "name") ?? "?") reads \(metric), which a fresh gateway does not sample yet")
            }
        }
        #expect(dashboardExpressions.count >= 10)
        for expr in dashboardExpressions {
            for metric in Self.referencedMetrics(expr) { #expect(exported.contains(metric), "the dashboard uses \(metric), which /metrics does not export") }
        }
        // The gateway's own families; the frameworks' (hb_requests, http_server_*) may be shown but need not be.
        let families = Set(exported.filter { $0.hasPrefix("causeway_") }.map { Self.family($0) })
        let shown = Set(dashboardExpressions.flatMap { Self.referencedMetrics($0) }.map { Self.family($0) })
        #expect(families.subtracting(shown).isEmpty, "families not on the dashboard: \(families.subtracting(shown).sorted())")
    }

    @Test("the Containerfiles build and run with the steps scripts/, Package.swift and the systemd unit already use")
    func containerfileSteps() throws {
        let stages = try Self.stages("Deploy/Containerfile")
        try #require(stages.count == 2, "a build stage and a run stage")
        let (build, run) = (stages[0], stages[1])
        // Build stage: the official Swift image of at least the package's tools version.
        let buildImage = try #require(build.first?.arguments)
        let version = try #require(buildImage.firstMatch(of: #/swift:(\d+)\.(\d+)/#), "\(buildImage)")
        let tools = try #require(try Self.text("Package.swift").firstMatch(of: #/swift-tools-version:\s*(\d+)\.(\d+)/#))
        #expect((Int(version.output.1) ?? 0, Int(version.output.2) ?? 0) >= (Int(tools.output.1) ?? 99, Int(tools.output.2) ?? 99), "\(buildImage)")
        // The packages: those scripts/test installs, including what Package.swift and the operations guide name for building.
        let buildPackages = Self.aptPackages(build)
        let scriptsTest = try Self.text("scripts/test")
        let testPackages = try #require(scriptsTest.firstMatch(of: #/packages=\(([^)]*)\)/#)).output.1.split(separator: " ").map(String.init)
        #expect(buildPackages.isSubset(of: testPackages), "not installed by scripts/test: \(buildPackages.subtracting(testPackages))")
        let providers = try Self.text("Package.swift").matches(of: #/\.apt\(\[([^\]]*)\]\)/#)
            .flatMap { $0.output.1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\"", with: "") } }
        #expect(!providers.isEmpty)
        let operations = try Self.text("Docs/operations.md")
        let documented = try #require(operations.firstMatch(of: #/apt-get install -y ([a-z0-9 .+-]+)\n/#)).output.1.split(separator: " ").map(String.init)
        for package in providers + documented { #expect(buildPackages.contains(package), "the build stage does not install \(package)") }
        // swift build: the operations guide's release command (and scripts/demo's product), plus only a static Swift runtime.
        let builds = Self.swiftBuilds(build)
        try #require(builds.count == 1, "\(builds)")
        let containerBuild = builds[0]
        let releaseCommand = try #require(operations.firstMatch(of: #/swift build -c release[^\n]*/#)).output
        let release = Self.words(releaseCommand)
        let demo = try Self.swiftBuildLine(in: "scripts/demo")
        for argument in release + demo { #expect(containerBuild.contains(argument), "the Containerfile's swift build lacks \(argument)") }
        #expect(Set(containerBuild).subtracting(release + demo) == ["--static-swift-stdlib"], "\(containerBuild)")
        // Every folder Package.swift builds from is copied in.
        let copied = Set(build.filter { $0.keyword == "COPY" }.flatMap { Self.words(Substring($0.arguments)).dropLast() })
        let folders = Set(try Self.text("Package.swift").matches(of: #/path: "([A-Za-z]+)\//#).map { String($0.output.1) }).union(["Sources", "Tests"])
        for folder in folders { #expect(copied.contains(folder), "the build stage does not copy \(folder)/") }
        for source in copied where !source.hasPrefix("--") {
            #expect(FileManager.default.fileExists(atPath: Self.repository.appendingPathComponent(source).path), "COPY \(source): no such file")
        }
        // The build context leaves out the build products (gigabytes) and keeps what the build copies.
        let ignored = Set(try Self.text("Deploy/Containerfile.dockerignore").split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") })
        #expect(ignored.isSuperset(of: [".build", ".git", ".venv"]), "\(ignored)")
        #expect(ignored.isDisjoint(with: copied), "\(ignored.intersection(copied))")

        // Run stage: a slim image, runtime libraries of the build's -dev packages, no toolchain, a non-root user.
        let runImage = try #require(run.first?.arguments)
        #expect(runImage.contains("slim") && !runImage.contains("swift"), "\(runImage)")
        let runPackages = Self.aptPackages(run)
        #expect(runPackages.allSatisfy { !$0.hasSuffix("-dev") }, "\(runPackages)")
        for package in buildPackages where package.hasSuffix("-dev") {
            let stem = String(package.dropLast(4))
            #expect(runPackages.contains { $0 == stem || $0.hasPrefix(stem + "-") || ($0.hasPrefix(stem) && $0.dropFirst(stem.count).allSatisfy(\.isNumber)) },
                    "no runtime library for \(package) in \(runPackages)")
        }
        let user = try #require(run.last { $0.keyword == "USER" }?.arguments)
        #expect(!["root", "0", "0:0"].contains(user) && !user.hasPrefix("0:"), "USER \(user)")
        // The health check calls /healthz with a program the run stage installs, on the exposed port.
        let healthcheck = try #require(run.first { $0.keyword == "HEALTHCHECK" }?.arguments)
        let program = try #require(healthcheck.components(separatedBy: " CMD ").last.map { Self.words(Substring($0)) }?.first)
        #expect(runPackages.contains(program), "HEALTHCHECK runs \(program), which the run stage does not install")
        #expect(run.first { $0.keyword == "EXPOSE" }?.arguments == "8080")
        // ENTRYPOINT: the systemd unit's ExecStart, with the binary on PATH.
        let entrypoint = try Self.entrypoint()
        let unit = try #require(try Self.text("Deploy/causeway.service").firstMatch(of: #/ExecStart=([^\n]+)/#)).output.1
        let execStart = Self.words(unit)
        #expect(["causeway"] + entrypoint.arguments == [URL(fileURLWithPath: execStart[0]).lastPathComponent] + execStart.dropFirst())

        // The compose stack's ERP image: installed and initialised as scripts/tryton-start does.
        let trytonStart = try Self.text("scripts/tryton-start")
        let trytonFile = try Self.text("Deploy/tryton/Containerfile")
        let specs = { (text: String) in Set(text.matches(of: #/"((?:trytond|trytond-purchase|proteus)[<>=,.0-9]+)"/#).map { String($0.output.1) }) }
        #expect(!specs(trytonStart).isEmpty && specs(trytonFile) == specs(trytonStart), "\(specs(trytonFile)) vs \(specs(trytonStart))")
        // trytond-admin's arguments after the configuration and the database, continuation lines joined, up to a redirection.
        let admin = { (text: String) in
            text.replacingOccurrences(of: "\\\n", with: " ").firstMatch(of: #/trytond-admin"? -c "\$conf" -d "\$db" ([^\n]*)/#)
                .map { Array(Self.words($0.output.1).prefix { !$0.hasPrefix(">") && $0 != "||" }) }
        }
        let initScript = try Self.text("Deploy/tryton/init.sh")
        #expect(admin(trytonStart) != nil && admin(initScript) == admin(trytonStart), "trytond-admin: \(String(describing: admin(initScript)))")
        #expect(initScript.contains("tryton-seed.py \"$conf\" \"$db\"") && trytonStart.contains("tryton-seed.py\" \"$conf\" \"$db\""))
        #expect(trytonFile.contains("COPY scripts/tryton-seed.py /opt/tryton/tryton-seed.py"))
        let compose = try Self.yaml("Deploy/compose.yaml").first
        for service in ["tryton-init", "gateway-key"] {
            let file = try #require(Self.lookup(compose, "services", service, "build", "dockerfile") as? String, "\(service)")
            #expect(FileManager.default.fileExists(atPath: Self.repository.appendingPathComponent(file).path), "\(service): \(file)")
        }
        #expect(Self.lookup(compose, "configs", "causeway_yaml", "file") as? String == "./compose/causeway.yaml")
        // No secret value in the compose file: each comes from the environment of `compose up`.
        let secrets = Self.lookup(compose, "secrets") as? [String: Any] ?? [:]
        #expect(!secrets.isEmpty && secrets.values.allSatisfy { Self.lookup($0, "environment") is String }, "\(secrets)")
    }

    @Test("Docs/deploy.md links only to files that exist, and Docs/operations.md links to it")
    func guideLinks() throws {
        let guide = try Self.text("Docs/deploy.md")
        var links = 0
        for match in guide.matches(of: #/\]\(([^)#\s]+)(#[^)]*)?\)/#) {
            let target = String(match.output.1)
            guard !target.hasPrefix("http") else { continue }
            links += 1
            let path = Self.repository.appendingPathComponent("Docs").appendingPathComponent(target).standardizedFileURL.path
            #expect(FileManager.default.fileExists(atPath: path), "Docs/deploy.md links to \(target), which does not exist")
        }
        #expect(links >= 8)
        #expect(try Self.text("Docs/operations.md").contains("(deploy.md)"))
    }

    // MARK: Helpers

    /// The image's ENTRYPOINT (without the program) and its configuration path.
    static func entrypoint() throws -> (arguments: [String], config: String) {
        let line = try #require(try stages("Deploy/Containerfile").last?.last { $0.keyword == "ENTRYPOINT" }?.arguments)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String], "ENTRYPOINT must be a JSON array")
        try #require(array.first == "causeway" && array.count >= 2, "\(array)")
        let configIndex = try #require(array.firstIndex(of: "--config"), "ENTRYPOINT without --config")
        try #require(array.indices.contains(configIndex + 1))
        return (Array(array.dropFirst()), array[configIndex + 1])
    }

    /// Metric names in a PromQL expression or prose (Prometheus names of this gateway start with causeway_).
    static func referencedMetrics(_ text: String) -> Set<String> {
        Set(text.matches(of: #/causeway_[a-z0-9_]*[a-z0-9]/#).map { String($0.output) })
    }

    /// `x_bucket`, `x_sum`, `x_count` belong to the family `x`.
    static func family(_ name: String) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) && name.hasSuffix("seconds" + suffix) {
            return String(name.dropLast(suffix.count))
        }
        return name
    }

    /// The names an exposition holds: each family (from its TYPE line), a histogram's series, and every sample's name.
    static func metricNames(_ exposition: String) -> Set<String> {
        var names: Set<String> = []
        for line in exposition.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4 else { continue }
                names.insert(String(parts[2]))
                if parts[3] == "histogram" { for suffix in ["_bucket", "_sum", "_count"] { names.insert(parts[2] + suffix) } }
            } else if !line.hasPrefix("#") {
                names.insert(String(line.prefix { $0 != "{" && $0 != " " }))
            }
        }
        return names
    }

    static func get(_ url: String) async throws -> (Int, String) {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.timeoutInterval = 20
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    static func post(_ url: String, body: String) async throws -> Int {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.timeoutInterval = 20
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }
}
