extension GatewayConfiguration {
    /// Retention of finished agreements (the `retention:` section of `causeway.yaml`; off when
    /// absent). Docs/store.md, Retention.
    ///
    /// ```yaml
    /// retention:
    ///   days: 90                              # required: finished agreements older than this are archived
    ///   archive: /var/lib/causeway/archive    # required: the folder of archive files (JSON lines, 0600)
    ///   every_seconds: 3600                   # how often `serve` prunes; 0: only `causeway store prune`
    /// ```
    public struct RetentionSettings: Sendable, Hashable {
        /// Agreements finished and last active more than this many days ago are archived. At least 1.
        public var days: Int
        /// The folder the archive files are written to; it must exist and be writable.
        public var archive: String
        /// Seconds between the gateway's scheduled prunes; 0 turns the schedule off. Default 3600.
        public var everySeconds: Int = 3600

        public init(days: Int, archive: String, everySeconds: Int = 3600) {
            self.days = days
            self.archive = archive
            self.everySeconds = everySeconds
        }
    }
}
