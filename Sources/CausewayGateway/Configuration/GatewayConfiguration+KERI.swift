extension GatewayConfiguration {
    /// KERI signers and the gateway's own AID (the `keri:` section of `causeway.yaml`; Docs/keri.md,
    /// "In the gateway").
    ///
    /// ```yaml
    /// keri:
    ///   webs: erp.acme.example%3A8443:causeway   # the gateway's did:webs HOST[:PATH]; default: did:keri
    ///   refresh_seconds: 300                     # did:webs signers resolved again; 0 = never
    ///   max_kel_bytes: 262144
    ///   insecure_loopback: false                 # resolve did:webs over http on 127.0.0.1 (tests only)
    /// ```
    public struct KERISettings: Sendable {
        /// `HOST[:PATH…]` of the gateway's did:webs (`did:webs:HOST[:PATH]:AID`); nil names it `did:keri:AID`.
        public var webs: String?
        /// How partners' KELs are kept and resolved.
        public var keeper = KERIKeyStateKeeper.Configuration()

        public init() {}
    }
}
