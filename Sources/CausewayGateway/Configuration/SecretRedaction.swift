import Foundation

/// Secrets never appear in files or logs: configuration refers to them (`env:NAME`, `file:PATH`),
/// so a URL that carries one is refused, and every URL that is printed or logged goes through
/// ``redacted(url:)`` first.
public enum SecretRedaction {
    /// Query parameters that carry credentials (compared case-insensitively).
    public static let secretQueryNames: Set<String> = ["password", "pass", "pwd", "passwd", "sslpassword", "secret", "token", "access_token",
                                                       "apikey", "api_key", "auth"]

    /// What secret a URL holds in the clear (`a password after the user name`, `the query parameter
    /// 'password'`), or nil. Never the value itself.
    public static func literalSecret(inURL text: String) -> String? {
        guard text.contains("://"), let components = URLComponents(string: text) else { return nil }
        if let password = components.percentEncodedPassword, !password.isEmpty { return "a password after the user name" }
        for item in components.percentEncodedQueryItems ?? [] where secretQueryNames.contains(item.name.lowercased()) {
            return "the query parameter '\(item.name)'"
        }
        return nil
    }

    /// The URL with any password and credential query parameter replaced by `redacted`; text that
    /// is not a URL comes back unchanged, a URL that cannot be parsed is withheld.
    public static func redacted(url text: String) -> String {
        guard text.contains("://") else { return text }
        guard var components = URLComponents(string: text) else { return "(a URL that cannot be parsed, withheld)" }
        if components.percentEncodedPassword != nil { components.percentEncodedPassword = "redacted" }
        if let items = components.percentEncodedQueryItems {
            components.percentEncodedQueryItems = items.map { item in
                secretQueryNames.contains(item.name.lowercased()) ? URLQueryItem(name: item.name, value: "redacted") : item
            }
        }
        return components.string ?? "(a URL that cannot be parsed, withheld)"
    }
}

extension GatewayConfiguration.StoreLocation {
    /// The location as it may be printed and logged: `sqlite:PATH`, or the PostgreSQL URL with any
    /// password or credential parameter replaced by `redacted`.
    public var redacted: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let url, _): SecretRedaction.redacted(url: url)
        }
    }
}

/// Key files hold private keys: only their owner may read them.
public enum KeyFilePermissions {
    /// Why the key file at `path` is unsafe (readable or writable by group or others), naming the
    /// file, its mode and the fix; nil when it is private or does not exist (reading it reports that).
    public static func problem(path: String, setting: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue
        else { return nil }
        guard mode & 0o077 != 0 else { return nil }
        return "\(setting): the key file \(path) is readable or writable by group or others (mode \(String(mode & 0o777, radix: 8))); "
            + "run chmod 600 \(path)"
    }
}
