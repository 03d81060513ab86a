import CausewayStore
import Foundation
import Logging
import ServiceLifecycle

/// The scheduled prune of `retention:` (Docs/store.md, Retention): at start and then every
/// `retention.every_seconds`, finished agreements older than `retention.days` are archived to a new
/// file in `retention.archive` and their bodies and attempts removed. A failed run is logged and
/// tried again at the next interval; it removes nothing it did not archive first.
struct RetentionService: Service {
    let store: any RetentionStore
    let settings: GatewayConfiguration.RetentionSettings
    let logger: Logger

    /// The scheduled prune of `configuration`, or nil when `retention:` is absent or its
    /// `every_seconds` is 0, or the store cannot prune.
    init?(configuration: GatewayConfiguration, store: any AgreementStore, logger: Logger) {
        guard let settings = configuration.retention, settings.everySeconds > 0, let store = store as? any RetentionStore else { return nil }
        self.store = store
        self.settings = settings
        self.logger = logger
    }

    func run() async throws {
        guard settings.everySeconds > 0 else { return }
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await pruneOnce()
                try? await Task.sleep(for: .seconds(settings.everySeconds))
            }
        }
    }

    func pruneOnce() async {
        do {
            let summary = try await RetentionRun.prune(store: store, days: settings.days, archiveFolder: settings.archive,
                                                       now: WallClock.milliseconds())
            if let file = summary.file {
                logger.info("retention: archived finished agreements", metadata: [
                    "retention.agreements": "\(summary.digests.count)", "retention.attempts": "\(summary.attempts)", "retention.file": "\(file)",
                ])
            }
        } catch {
            logger.error("retention: prune failed; nothing was removed that was not archived", metadata: ["error": "\(error)"])
        }
    }
}
