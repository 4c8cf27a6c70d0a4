import Foundation

/// CPU time and peak memory of a running process, from /proc (Linux).
public struct ProcessUsage: Sendable, Equatable {
    /// User + system CPU seconds since the process started (`utime + stime` of /proc/PID/stat).
    public var cpuSeconds: Double
    /// Peak resident set size in bytes (`VmHWM` of /proc/PID/status).
    public var peakRSSBytes: Int

    public init(cpuSeconds: Double, peakRSSBytes: Int) {
        self.cpuSeconds = cpuSeconds
        self.peakRSSBytes = peakRSSBytes
    }

    /// Reads the usage of `pid`; nil when the process is gone.
    public static func read(pid: Int32) -> ProcessUsage? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let cpu = cpuTicks(stat: stat) else { return nil }
        return ProcessUsage(cpuSeconds: Double(cpu) / Double(sysconf(Int32(_SC_CLK_TCK))), peakRSSBytes: peakRSS(status: status) ?? 0)
    }

    /// `utime + stime` (clock ticks) from the text of /proc/PID/stat. The command name (field 2) may hold
    /// spaces and parentheses, so fields are counted after its last ')': utime and stime are fields 14 and 15.
    public static func cpuTicks(stat: String) -> Int? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let utime = Int(fields[11]), let stime = Int(fields[12]) else { return nil }
        return utime + stime
    }

    /// `VmHWM` in bytes from the text of /proc/PID/status.
    public static func peakRSS(status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return nil
    }
}
