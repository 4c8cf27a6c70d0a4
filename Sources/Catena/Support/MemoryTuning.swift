import Glibc

/// Allocator settings for long-running workers.
public enum MemoryTuning {
    /// Turns off glibc's fastbins. A worker frees thousands of small blocks per batch (records, headers); with
    /// fastbins they pile up and the next large allocation stops to consolidate them all (`malloc_consolidate`
    /// was about 5% of a busy worker's CPU). Small blocks still go through the per-thread cache.
    public static func apply() {
        // mallopt is declared in <malloc.h>, which Swift's Glibc module does not import.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }  // RTLD_DEFAULT
        let mxFast: Int32 = 1  // M_MXFAST
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mxFast, 0)
    }
}
