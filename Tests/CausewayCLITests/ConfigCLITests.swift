import CausewayTesting
import Foundation
import Testing

@Suite("causeway config check")
struct ConfigCLITests {
    /// The repository's Mappings/ (the sqlite example's `partners`) trust the published fixture
    /// keys, so checking the examples from the repository needs the allow setting.
    static let allowFixtureKeys = ["CAUSEWAY_ALLOW_FIXTURE_KEYS": "true"]

    @Test("the annotated Deploy examples are valid", arguments: ["Deploy/causeway.sqlite.yaml", "Deploy/causeway.postgres.yaml"])
    func examples(file: String) throws {
        let r = try CommandRunner.causeway(["config", "check", "--config", TestPaths.repository.appendingPathComponent(file).path],
                                           in: TestPaths.repository, environment: Self.allowFixtureKeys)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("token       ops-team: operator env:CAUSEWAY_OPS_TOKEN"))
    }

    @Test("every problem is reported with the file position and the key")
    func problems() throws {
        let file = try CommandRunner.temporaryDirectory("config").appendingPathComponent("bad.yaml")
        try Data("""
            listen: nowhere
            store: mysql://x
            identitty: k.json
            targets:
              erp: {url: x}
            tokens:
              - {name: b, role: viewer, secret: hunter2}
            """.utf8).write(to: file)
        let r = try CommandRunner.causeway(["config", "check", "--config", file.path])
        #expect(r.status == 1)
        for expected in ["bad.yaml:1:9: listen:", "bad.yaml:2:8: store:", "bad.yaml:3:1: identitty: unknown setting", "identity: required",
                         "bad.yaml:5:3: targets.erp.adapter: required", "tokens.b.secret: secrets are never written in files"] {
            #expect(r.stderr.contains(expected), "missing '\(expected)' in \(r.stderr)")
        }
        #expect(!r.stderr.contains("hunter2"))
    }

    @Test("environment variables override every setting, targets included; secret values are never printed")
    func overrides() throws {
        let r = try CommandRunner.causeway(
            ["config", "check", "--config", TestPaths.repository.appendingPathComponent("Deploy/causeway.sqlite.yaml").path],
            environment: ["CAUSEWAY_LISTEN": "0.0.0.0:9999", "CAUSEWAY_STORE": "postgresql://gw@127.0.0.1:5432/causeway",
                          "CAUSEWAY_STORE_PASSWORD": "env:PGPASS", "PGPASS": "s3cret-value",
                          "CAUSEWAY_TARGET_ERP_STAGING_PATH": "/var/lib/erp.sqlite", "CAUSEWAY_OPS_TOKEN": "token-value-0123456789abcdef0123456789",
                          "CAUSEWAY_ALLOW_FIXTURE_KEYS": "true"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("listen      0.0.0.0:9999"))
        #expect(r.stdout.contains("store       postgresql://gw@127.0.0.1:5432/causeway"))
        #expect(r.stdout.contains("erp-staging: sqlite path=/var/lib/erp.sqlite"))
        #expect(!r.stdout.contains("s3cret-value") && !r.stdout.contains("token-value"))
    }

    @Test("the sqlite example checked from the repository, without the allow setting, is refused: Mappings/ trusts fixture keys")
    func exampleTrustsFixtureKeys() throws {
        let r = try CommandRunner.causeway(["config", "check", "--config", TestPaths.repository.appendingPathComponent("Deploy/causeway.sqlite.yaml").path],
                                           in: TestPaths.repository, environment: ["CAUSEWAY_ALLOW_FIXTURE_KEYS": "false"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("partner 'stahlteile', role seller trusts did:key:z6Mko12SmkNyyRjr4TXqooiUtAWrExSipaUDVgNBnVzEit1Q"), "\(r)")
    }

    @Test("a password inside the store URL is refused")
    func passwordInURL() throws {
        let r = try CommandRunner.causeway(
            ["config", "check", "--config", TestPaths.repository.appendingPathComponent("Deploy/causeway.postgres.yaml").path],
            environment: ["CAUSEWAY_STORE": "postgresql://gw:pw@127.0.0.1/causeway"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("put no password in the URL"))
    }
}
