import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Ports for servers that tests start on loopback.
///
/// Chosen below Linux's ephemeral range (32768–60999 by default), where the kernel hands out the
/// local ports of outgoing connections and of servers bound to port 0: a port picked there at
/// random may already be some connection's, and the server under test then cannot listen. Each
/// candidate is also checked by binding it once.
public enum TestPorts {
    /// A port in `range` that was free a moment ago on 127.0.0.1.
    public static func free(in range: ClosedRange<Int> = 20_000...32_000) -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: range)
            if isFree(port) { return port }
        }
        return Int.random(in: range)
    }

    static func isFree(_ port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
