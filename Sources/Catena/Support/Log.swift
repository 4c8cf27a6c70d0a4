import Foundation

/// Line-oriented logging to standard error: `time level component: message`.
public enum Log {
    /// Minimum level printed; `CATENA_LOG=debug` lowers it.
    public static let verbose: Bool = ProcessInfo.processInfo.environment["CATENA_LOG"] == "debug"
    private static let lock = NSLock()

    public static func info(_ component: String, _ message: String) { write("INFO", component, message) }
    public static func warn(_ component: String, _ message: String) { write("WARN", component, message) }
    public static func error(_ component: String, _ message: String) { write("ERROR", component, message) }
    public static func debug(_ component: String, _ message: @autoclosure () -> String) {
        if verbose { write("DEBUG", component, message()) }
    }

    private static func write(_ level: String, _ component: String, _ message: String) {
        let line = "\(Timestamp.rfc3339(Date())) \(level) \(component): \(message)\n"
        lock.lock(); defer { lock.unlock() }
        FileHandle.standardError.write(Data(line.utf8))
    }
}
