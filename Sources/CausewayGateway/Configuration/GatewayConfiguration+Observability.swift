extension GatewayConfiguration {
    /// OpenTelemetry tracing (the `tracing:` section of `causeway.yaml`; Docs/operations.md, Traces).
    /// Absent: the gateway makes no spans and exports nothing.
    ///
    /// ```yaml
    /// tracing:
    ///   otlp_endpoint: http://otel-collector:4318   # the collector's OTLP/HTTP base URL (required)
    ///   service_name: causeway                      # service.name of the spans; default causeway
    ///   sample_ratio: 1.0                           # share of new traces recorded, 0…1; default 1.0
    ///   protocol: http/protobuf                     # or http/json; default http/protobuf
    /// ```
    public struct TracingSettings: Sendable, Hashable {
        /// The OTLP/HTTP base URL (`http://` or `https://`); spans go to `<endpoint>/v1/traces`
        /// unless the URL already ends in `/v1/traces`.
        public var otlpEndpoint: String
        /// `service.name` of every span.
        public var serviceName: String = "causeway"
        /// The share of traces started here that are recorded (0…1). A trace context received at
        /// intake decides for itself (its sampled flag), as W3C Trace Context intends.
        public var sampleRatio: Double = 1.0
        /// How spans are encoded on the wire.
        public var wireProtocol: WireProtocol = .protobuf

        /// OTLP/HTTP encodings.
        public enum WireProtocol: String, Sendable, Hashable, CaseIterable {
            case protobuf = "http/protobuf"
            case json = "http/json"
        }

        public init(otlpEndpoint: String) {
            self.otlpEndpoint = otlpEndpoint
        }

        /// The URL spans are posted to.
        public var tracesURL: String {
            if otlpEndpoint.hasSuffix("/v1/traces") { return otlpEndpoint }
            return otlpEndpoint.hasSuffix("/") ? otlpEndpoint + "v1/traces" : otlpEndpoint + "/v1/traces"
        }
    }
}
