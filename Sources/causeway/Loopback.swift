import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// 127.0.0.1 for POSIX socket calls (the demo's port check, the soak bench's raw connections).
enum Loopback {
    /// Calls `body` with the address 127.0.0.1:`port` as a `sockaddr` and its length.
    static func withAddress<T>(port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: inet_addr("127.0.0.1"))
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// Whether `port` can be bound on 127.0.0.1 right now (a port in TIME_WAIT counts as free, as it
    /// does for the gateway, which binds with SO_REUSEADDR).
    static func portIsFree(_ port: Int) -> Bool {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        var yes: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        return withAddress(port: port) { Glibc.bind(fd, $0, $1) == 0 }
    }
}
