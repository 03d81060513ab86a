import CausewayCore
@testable import CausewayTrust
import Foundation
import Testing

/// Windows are judged against the gateway's clock at receipt, not a time the signer chose.
@Suite("Time windows use the gateway's clock (issue 11, finding 8)")
struct VerificationTimeTests {
    let f = Fixture()

    func codes(_ report: VerificationReport) -> Set<String> { Set(report.errors.map(\.code.rawValue)) }

    func signed(_ document: JSONObject, created: String = "2026-11-20T09:31:00Z", expires: String? = nil) throws -> Agreement {
        var result = document
        for signer in [f.seller, f.buyer] {
            let extra: [(String, JSONValue)] = expires.map { [("expires", .string($0))] } ?? []
            result = try EddsaJcs2022.addProof(to: result, signer: signer, options: .init(created: created, extraMembers: extra))
        }
        return Agreement(result)
    }

    func at(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

    @Test("a proof created in 2099 does not count, by the given clock and by the system clock")
    func createdInFuture() throws {
        let agreement = try signed(f.agreement(), created: "2099-01-01T00:00:00Z")
        for verifier in [AgreementVerifier(now: Fixture.now), AgreementVerifier()] {
            let report = verifier.verify(agreement)
            #expect(!report.verified)
            #expect(codes(report).isSuperset(of: ["proof.created_in_future", "party.unsigned"]))
            #expect(report.findings.contains { $0.path == "$['proof'][0]['created']" })
        }
    }

    @Test("clock skew: created 4 minutes ahead passes, 6 minutes ahead does not (default 5 minutes)")
    func skew() throws {
        let now = at("2026-11-20T09:31:00Z")
        let ahead4 = try signed(f.agreement(), created: "2026-11-20T09:35:00Z")
        let ahead6 = try signed(f.agreement(), created: "2026-11-20T09:37:00Z")
        #expect(AgreementVerifier(now: now).verify(ahead4).verified)
        #expect(codes(AgreementVerifier(now: now).verify(ahead6)).contains("proof.created_in_future"))
        var tight = VerificationLimits.default
        tight.clockSkewSeconds = 60
        #expect(codes(AgreementVerifier(limits: tight, now: now).verify(ahead4)).contains("proof.created_in_future"))
    }

    @Test("a proof whose 'expires' passed in 2020 does not count; one expiring later does")
    func expires() throws {
        let expired = try signed(f.agreement(), expires: "2020-01-01T00:00:00Z")
        let report = AgreementVerifier(now: Fixture.now).verify(expired)
        #expect(codes(report).isSuperset(of: ["proof.expired", "party.unsigned"]))
        #expect(report.findings.contains { $0.path == "$['proof'][1]['expires']" })
        #expect(AgreementVerifier(now: Fixture.now).verify(try signed(f.agreement(), expires: "2026-12-01T00:00:00Z")).verified)
        #expect(codes(AgreementVerifier(now: Fixture.now).verify(try signed(f.agreement(), expires: "soon"))).contains("proof.malformed"))
    }

    @Test("a back-dated agreement cannot use a delegation that has expired by the time it arrives")
    func backDated() throws {
        let credential = try f.credential(validFrom: "2026-01-01T00:00:00Z", validUntil: "2026-06-01T00:00:00Z")
        let document = f.agreement(issued: "2026-03-01T09:30:00Z")
        let agreement = try f.sign(document, by: [f.agent, f.buyer], delegation: credential, created: "2026-03-01T09:31:00Z")
        // At the claimed issue time the delegation was valid…
        #expect(AgreementVerifier(now: at("2026-03-01T10:00:00Z")).verify(agreement).verified)
        // …but the gateway receives it in November.
        let report = AgreementVerifier(now: Fixture.now).verify(agreement)
        #expect(!report.verified)
        #expect(report.findings.contains { $0.code == .delegationExpired && $0.path == "$['proof'][0]['delegation']['validUntil']" })
        #expect(codes(report).contains("party.unsigned"))
    }

    @Test("a delegation not yet valid at receipt does not count, even if 'issued' is inside its window")
    func notYetValid() throws {
        let credential = try f.credential(validFrom: "2026-12-01T00:00:00Z", validUntil: "2027-06-01T00:00:00Z")
        let agreement = try f.sign(f.agreement(issued: "2026-12-02T09:30:00Z"), by: [f.agent, f.buyer], delegation: credential)
        let report = AgreementVerifier(now: Fixture.now).verify(agreement)
        #expect(report.findings.contains { $0.code == .delegationNotYetValid && $0.message.contains("received") })
        #expect(codes(report).contains("agreement.issued_in_future"))
        #expect(!report.verified)
    }

    @Test("an agreement issued in the future (beyond the skew) is refused")
    func issuedInFuture() throws {
        let report = AgreementVerifier(now: Fixture.now).verify(try signed(f.agreement(issued: "2099-01-01T00:00:00Z")))
        #expect(report.findings.contains { $0.code == .agreementIssuedInFuture && $0.path == "$['issued']" })
        #expect(!report.verified)
        #expect(AgreementVerifier(now: Fixture.now).verify(try signed(f.agreement(issued: "2026-11-20T09:39:00Z"))).verified)
    }
}
