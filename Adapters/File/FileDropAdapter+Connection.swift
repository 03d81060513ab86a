public import AdapterKit

extension FileDropAdapter {
    /// The folder (and the processed folder, if set) exists, is a folder and is writable by this
    /// process. Nothing is written into it: the ERP might pick a probe file up.
    public func checkConnection() async throws(AdapterConfigurationError) {
        var problems: [String] = []
        if let problem = Self.checkFolder(configuration.folder, key: "folder") { problems.append(problem) }
        if let processed = configuration.processedFolder, let problem = Self.checkFolder(processed, key: "processed_folder") {
            problems.append(problem)
        }
        if !problems.isEmpty { throw AdapterConfigurationError(problems: problems) }
    }
}
