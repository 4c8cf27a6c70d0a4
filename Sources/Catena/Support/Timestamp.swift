import Foundation

/// Timestamps in the formats Catena writes.
public enum Timestamp {
    /// RFC 3339 UTC with milliseconds, e.g. `2026-12-03T15:04:05.123Z`.
    public static func rfc3339(_ date: Date) -> String {
        String(decoding: rfc3339Bytes(date), as: UTF8.self)
    }

    /// `rfc3339(date)` as UTF-8 bytes (a header value), written digit by digit: this runs for every record a
    /// worker produces.
    public static func rfc3339Bytes(_ date: Date) -> [UInt8] {
        rfc3339Bytes(ms: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// `rfc3339Bytes` of the time `ms` milliseconds after the epoch.
    static func rfc3339Bytes(ms: Int64) -> [UInt8] {
        var seconds = time_t(ms / 1000)
        var t = tm()
        gmtime_r(&seconds, &t)
        return [UInt8](unsafeUninitializedCapacity: 24) { buffer, count in
            var i = 0
            func put(_ value: Int, _ width: Int) {
                var v = value
                for k in stride(from: width - 1, through: 0, by: -1) {
                    buffer[i + k] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
                i += width
            }
            func put(_ c: Unicode.Scalar) { buffer[i] = UInt8(ascii: c); i += 1 }
            put(Int(t.tm_year) + 1900, 4); put("-"); put(Int(t.tm_mon) + 1, 2); put("-"); put(Int(t.tm_mday), 2)
            put("T"); put(Int(t.tm_hour), 2); put(":"); put(Int(t.tm_min), 2); put(":"); put(Int(t.tm_sec), 2)
            put("."); put(Int(((ms % 1000) + 1000) % 1000), 3); put("Z")
            count = i
        }
    }

    /// Milliseconds since the epoch, now.
    public static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}
