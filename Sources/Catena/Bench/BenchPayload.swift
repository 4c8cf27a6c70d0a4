import Foundation

/// The bench's record values: an 8-byte sequence number and the 8-byte produce time (microseconds since
/// the epoch, both big-endian), then filler up to the payload size. Every peer passes them on untouched.
public enum BenchPayload {
    public static let headerBytes = 16

    public static func make(sequence: UInt64, producedMicros: Int64, size: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: UInt8(ascii: "x"), count: max(size, headerBytes))
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: sequence >> (56 - 8 * UInt64(i)))
            bytes[8 + i] = UInt8(truncatingIfNeeded: UInt64(bitPattern: producedMicros) >> (56 - 8 * UInt64(i)))
        }
        return bytes
    }

    /// The sequence number and produce time, or nil for a value that is not a bench payload.
    public static func parse(_ bytes: [UInt8]?) -> (sequence: UInt64, producedMicros: Int64)? {
        guard let bytes, bytes.count >= headerBytes else { return nil }
        var seq: UInt64 = 0, micros: UInt64 = 0
        for i in 0..<8 {
            seq = seq << 8 | UInt64(bytes[i])
            micros = micros << 8 | UInt64(bytes[8 + i])
        }
        return (seq, Int64(bitPattern: micros))
    }

    /// Now, in microseconds since the epoch.
    public static func nowMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }
}
