import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal blocking Kafka protocol client over one TCP connection: sends a request (header v1) and returns
/// the response body. Only for tests that need what librdkafka does not show an application, such as the
/// transaction markers of a partition (see `TransactionalLog`). Call it off Swift's cooperative pool.
final class KafkaWireClient {
    struct Failure: Error, CustomStringConvertible { let description: String }

    private let fd: Int32
    private var correlationID: Int32 = 0

    /// Connects to `address` (`host:port`, an IPv4 address or a resolvable name).
    init(address: String) throws {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { throw Failure(description: "bad broker address \(address)") }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(String(parts[0]), String(port), &hints, &info) == 0, let first = info else {
            throw Failure(description: "cannot resolve \(address)")
        }
        defer { freeaddrinfo(info) }
        fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            close(fd)
            throw Failure(description: "cannot connect to \(address): errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// Sends one request and returns the response after its correlation id.
    func request(apiKey: Int16, version: Int16, body: [UInt8]) throws -> [UInt8] {
        correlationID += 1
        var message = WireWriter()
        message.int16(apiKey)
        message.int16(version)
        message.int32(correlationID)
        message.string("catena-tests-wire")
        message.bytes += body
        var frame = WireWriter()
        frame.int32(Int32(message.bytes.count))
        try write(frame.bytes + message.bytes)
        var size = WireReader(try read(4))
        let response = try read(Int(try size.int32()))
        var reader = WireReader(response)
        guard try reader.int32() == correlationID else { throw Failure(description: "response out of order") }
        return Array(response.dropFirst(4))
    }

    private func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            sent += n
        }
    }

    private func read(_ count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw Failure(description: "connection closed by the broker") }
            got += n
        }
        return buffer
    }
}

/// Big-endian encoding of Kafka protocol primitives.
struct WireWriter {
    var bytes: [UInt8] = []
    mutating func int8(_ v: Int8) { bytes.append(UInt8(bitPattern: v)) }
    mutating func int16(_ v: Int16) { bytes += withUnsafeBytes(of: v.bigEndian, Array.init) }
    mutating func int32(_ v: Int32) { bytes += withUnsafeBytes(of: v.bigEndian, Array.init) }
    mutating func int64(_ v: Int64) { bytes += withUnsafeBytes(of: v.bigEndian, Array.init) }
    mutating func string(_ s: String) { int16(Int16(s.utf8.count)); bytes += Array(s.utf8) }
}

/// Big-endian decoding of Kafka protocol primitives, including the zig-zag varints of record batches v2.
struct WireReader {
    private let bytes: [UInt8]
    private(set) var position = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - position }

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, position + n <= bytes.count else { throw KafkaWireClient.Failure(description: "truncated response") }
        defer { position += n }
        return bytes[position..<position + n]
    }
    private mutating func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
        try take(MemoryLayout<T>.size).reduce(T(0)) { $0 << 8 | T($1) }
    }
    mutating func int8() throws -> Int8 { Int8(bitPattern: try take(1).first!) }
    mutating func int16() throws -> Int16 { try integer(Int16.self) }
    mutating func int32() throws -> Int32 { try integer(Int32.self) }
    mutating func int64() throws -> Int64 { try integer(Int64.self) }
    mutating func string() throws -> String { String(decoding: try take(Int(try int16())), as: UTF8.self) }
    /// A zig-zag encoded variable-length integer.
    mutating func varint() throws -> Int64 {
        var raw: UInt64 = 0, shift: UInt64 = 0
        while true {
            let byte = try take(1).first!
            raw |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
            guard shift < 64 else { throw KafkaWireClient.Failure(description: "varint too long") }
        }
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }
    /// Bytes preceded by a varint length (-1 = null).
    mutating func varbytes() throws -> [UInt8]? {
        let n = try varint()
        return n < 0 ? nil : Array(try take(Int(n)))
    }
}
