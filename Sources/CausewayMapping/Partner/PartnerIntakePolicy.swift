import CausewayCore
import Foundation

/// A partner's `intake:` section in `partner.yaml`: what the connection an agreement arrives on
/// must show, beyond the agreement's own signatures.
///
/// ```yaml
/// intake:
///   client_certificate:          # the partner's server authenticates with a TLS client certificate
///     sha256: [9f86d081…]        # pinned certificates (SHA-256 of the DER certificate), any one matches
///     dns_names: [erp.stahlteile.example]   # or: a certificate the listener's client CA signed for one of these names
/// ```
///
/// With `client_certificate` set, `POST /v1/agreements` for this partner is refused (403) unless it
/// arrives over the TLS listener with a client certificate that the listener's `http.tls.client_ca`
/// verified and that matches one fingerprint or one DNS name listed (Docs/security.md).
public struct PartnerIntakePolicy: Sendable, Hashable {
    /// Which client certificates speak for the partner. Both lists empty never happens: parsing
    /// requires at least one entry.
    public struct ClientCertificate: Sendable, Hashable {
        /// Lower-case hex SHA-256 fingerprints of whole DER certificates (colons removed).
        public var sha256: [String] = []
        /// DNS names, any one of which the certificate's subjectAltName must hold (compared without case).
        public var dnsNames: [String] = []

        public init(sha256: [String] = [], dnsNames: [String] = []) {
            self.sha256 = sha256
            self.dnsNames = dnsNames
        }
    }

    /// Nil: the partner's agreements are taken on any connection (the default).
    public var clientCertificate: ClientCertificate?

    public init(clientCertificate: ClientCertificate? = nil) { self.clientCertificate = clientCertificate }

    /// The most fingerprints or names one partner may list.
    public static let maxEntries = 32

    /// A fingerprint as written (`AB:CD:…` as `openssl x509 -fingerprint -sha256` prints it, or
    /// plain hex) in the form compared: 64 lower-case hex digits, or nil.
    public static func normalizedFingerprint(_ text: String) -> String? {
        let hex = text.lowercased().replacingOccurrences(of: ":", with: "")
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        return hex
    }

    /// Reads the `intake:` node; every problem becomes a diagnostic at its position.
    static func parse(_ node: YNode, _ d: inout Diagnostics) -> PartnerIntakePolicy {
        var policy = PartnerIntakePolicy()
        guard let intake = node.mapping("'intake'", allowed: ["client_certificate"], &d), let certificate = intake["client_certificate"],
            let fields = certificate.mapping("'intake.client_certificate'", allowed: ["sha256", "dns_names"], &d)
        else { return policy }
        var required = ClientCertificate()
        if let node = fields["sha256"], let values = node.strings("'intake.client_certificate.sha256'", &d) {
            for value in values {
                guard let fingerprint = normalizedFingerprint(value) else {
                    d.error("partner.type_error", "'\(value)' in 'intake.client_certificate.sha256' is not a SHA-256 fingerprint "
                        + "(64 hex digits, colons allowed; print one with: openssl x509 -in CERT -noout -fingerprint -sha256)", at: node.location)
                    continue
                }
                required.sha256.append(fingerprint)
            }
        }
        if let node = fields["dns_names"], let values = node.strings("'intake.client_certificate.dns_names'", &d) {
            for value in values {
                guard !value.isEmpty, value.utf8.count <= 253, !value.contains(where: { $0.isWhitespace || $0 == "*" }) else {
                    d.error("partner.type_error", "'\(value)' in 'intake.client_certificate.dns_names' is not a DNS name (no spaces, no wildcards)",
                            at: node.location)
                    continue
                }
                required.dnsNames.append(value.lowercased())
            }
        }
        if required.sha256.count + required.dnsNames.count > maxEntries {
            d.error("partner.type_error", "'intake.client_certificate' lists more than \(maxEntries) fingerprints and names", at: certificate.location)
        }
        if fields["sha256"] == nil && fields["dns_names"] == nil {
            d.error("partner.missing_key", "'intake.client_certificate' needs 'sha256' (pinned certificates) or 'dns_names' "
                + "(names in certificates the listener's client CA signed)", at: certificate.location)
            return policy
        }
        policy.clientCertificate = required
        return policy
    }
}
