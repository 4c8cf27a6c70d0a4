/// Correlation IDs: the key of every record of one execution.
public enum CorrelationID {
    /// The correlation ID for a record key: the key itself when it is valid UTF-8 text, else `hex:` and its bytes in hex.
    /// The key's bytes, not this text, are what later records carry, so binary keys keep their partition.
    public static func text(forKey key: [UInt8]) -> String {
        if !key.contains(0), let s = String(validating: key, as: UTF8.self) { return s }
        return "hex:" + key.map { byte in
            let h = String(byte, radix: 16)
            return byte < 16 ? "0" + h : h
        }.joined()
    }

    /// The key whose correlation ID is `text` (the inverse of `text(forKey:)`): the bytes of a `hex:` ID of a
    /// binary key, else the UTF-8 of `text`.
    public static func key(forText text: String) -> [UInt8] {
        guard text.hasPrefix("hex:") else { return Array(text.utf8) }
        let digits = Array(text.utf8.dropFirst(4))
        guard digits.count % 2 == 0 else { return Array(text.utf8) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let hi = hexValue(digits[i]), let lo = hexValue(digits[i + 1]) else { return Array(text.utf8) }
            bytes.append(hi << 4 | lo)
        }
        return self.text(forKey: bytes) == text ? bytes : Array(text.utf8)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    /// A UUID (version 8, RFC 9562) derived from where a keyless record was written, so every worker and the
    /// coordinator that sees the record computes the same new ID, and reprocessing it does not change it.
    public static func derived(topic: String, partition: Int32, offset: Int64) -> String {
        let seed = "\(topic)\u{0}\(partition)\u{0}\(offset)"
        var hi = fnv1a(seed, basis: 0xcbf2_9ce4_8422_2325)
        var lo = fnv1a(seed, basis: 0x6c62_272e_07bb_0142)
        hi = mix(hi); lo = mix(lo ^ hi)
        hi = (hi & ~0x0000_0000_0000_f000) | 0x0000_0000_0000_8000  // version 8
        lo = (lo & ~0xc000_0000_0000_0000) | 0x8000_0000_0000_0000  // RFC 9562 variant
        let h = hex(hi), l = hex(lo)
        func part(_ s: String, _ from: Int, _ len: Int) -> Substring {
            let a = s.index(s.startIndex, offsetBy: from)
            return s[a..<s.index(a, offsetBy: len)]
        }
        return "\(part(h, 0, 8))-\(part(h, 8, 4))-\(part(h, 12, 4))-\(part(l, 0, 4))-\(part(l, 4, 12))"
    }

    private static func fnv1a(_ s: String, basis: UInt64) -> UInt64 {
        var h = basis
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    private static func mix(_ x: UInt64) -> UInt64 {  // splitmix64 finaliser
        var z = x &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    private static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
