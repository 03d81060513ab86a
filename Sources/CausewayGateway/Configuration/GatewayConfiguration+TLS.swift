extension GatewayConfiguration {
    /// TLS on the listener (`http.tls:` in `causeway.yaml`; Docs/security.md, Docs/decisions/0016).
    /// Absent: the listener speaks plain HTTP (loopback, or behind a TLS proxy).
    ///
    /// ```yaml
    /// http:
    ///   tls:
    ///     certificate: file:/etc/causeway/tls/server.crt   # PEM: the server certificate, then any intermediates
    ///     key: file:/etc/causeway/tls/server.key           # PEM private key; only as a file: reference
    ///     client_ca: file:/etc/causeway/tls/partners-ca.crt  # optional: CA(s) that sign partners' client certificates
    ///     client_certificates: optional   # none | optional | required; default optional with client_ca, none without
    /// ```
    ///
    /// The files are read at start, by `causeway config check`, and again on SIGHUP (new
    /// connections get the new certificate; a bad replacement is refused and the old one serves on).
    public struct ListenerTLSSettings: Sendable, Hashable {
        /// Whether the listener asks clients for a certificate.
        public enum ClientCertificates: String, Sendable, Hashable, CaseIterable {
            /// Never asked for; partners cannot require one.
            case none
            /// Asked for and verified against `client_ca` when presented; a connection without one
            /// is served (partners with `intake.client_certificate` still refuse it).
            case optional
            /// Every connection must present a certificate `client_ca` signed (the dashboard and the
            /// API too).
            case required
        }

        /// Path of the PEM certificate chain (leaf first).
        public var certificate: String
        /// Path of the PEM private key of the certificate.
        public var key: String
        /// Path of the PEM CA certificate(s) that client certificates must chain to.
        public var clientCA: String?
        /// Default: `.optional` when `clientCA` is set, `.none` otherwise.
        public var clientCertificates: ClientCertificates

        public init(certificate: String, key: String, clientCA: String? = nil, clientCertificates: ClientCertificates? = nil) {
            self.certificate = certificate
            self.key = key
            self.clientCA = clientCA
            self.clientCertificates = clientCertificates ?? (clientCA == nil ? .none : .optional)
        }
    }
}
