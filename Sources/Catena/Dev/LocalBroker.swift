import Foundation

/// A throwaway Tansu broker on a free loopback port (memory storage), for `catena dev` and the tests.
public final class LocalBroker: @unchecked Sendable {
    public let address: String
    public let process: ChildProcess

    /// Starts Tansu and waits until it accepts connections.
    public init(tansuPath: String? = nil, logDirectory: String) throws {
        guard let tansu = tansuPath ?? LocalBroker.locateTansu() else {
            throw CatenaError.configuration("no Tansu broker found: run scripts/setup.sh, set CATENA_TANSU, or pass --brokers")
        }
        let port = try LocalBroker.freePort()
        address = "127.0.0.1:\(port)"
        process = try ChildProcess(name: "tansu", executable: tansu,
                                   arguments: ["broker", "--listener-url", "tcp://\(address)", "--advertised-listener-url", "tcp://\(address)", "--storage-engine", "memory://tansu/"],
                                   environment: ["RUST_LOG": "warn"], logPath: (logDirectory as NSString).appendingPathComponent("tansu.log"), stopSignal: SIGINT,
                                   ownProcessGroup: true)  // outlives a terminal Ctrl-C until the workers have committed
        let deadline = Date().addingTimeInterval(20)
        while !LocalBroker.canConnect(port: port) {
            if !process.isRunning { throw CatenaError.failure("tansu exited at start; see \(process.logPath)") }
            if Date() > deadline { process.stop(grace: 1); throw CatenaError.timeout("tansu did not listen on \(address) within 20 s") }
            Thread.sleep(forTimeInterval: 0.02)  // polling for the listening socket, bounded by the deadline
        }
    }

    /// Stops the broker.
    public func stop() { process.stop(grace: 5) }

    /// `CATENA_TANSU`, else `.deps/bin/tansu` in the current directory, the executable's directory, or their parents.
    public static func locateTansu() -> String? {
        if let p = ProcessInfo.processInfo.environment["CATENA_TANSU"], FileManager.default.isExecutableFile(atPath: p) { return p }
        var starts = [FileManager.default.currentDirectoryPath]
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { starts.append((exe as NSString).deletingLastPathComponent) }
        for start in starts {
            var dir = start
            while true {
                let candidate = (dir as NSString).appendingPathComponent(".deps/bin/tansu")
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
                let parent = (dir as NSString).deletingLastPathComponent
                if parent == dir || parent.isEmpty { break }
                dir = parent
            }
        }
        return nil
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CatenaError.failure("socket() failed") }
        defer { close(fd) }
        var addr = loopback(port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw CatenaError.failure("could not find a free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = loopback(port: port)
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// 127.0.0.1:`port` as a socket address.
    private static func loopback(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return addr
    }
}
