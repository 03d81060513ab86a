public import AdapterKit

extension ExternalProcessAdapter {
    /// The program runs and has answered `describe` (it is started if it is not running, waiting
    /// at most `timeout`); a program that does not start or does not answer throws, naming `command`.
    public func checkConnection() async throws(AdapterConfigurationError) {
        if case .failure(let failure) = await supervisor.child(maxWait: configuration.timeout) {
            throw AdapterConfigurationError(problems: [
                "command: \(configuration.command) did not start: \(failure.reason) (run it by hand; it must answer describe on standard output)",
            ])
        }
    }
}
