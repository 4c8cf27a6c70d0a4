import Foundation

/// A process Catena started (broker, coordinator, worker), with its output in a log file.
/// Stopping sends SIGTERM, waits for the exit up to a grace period, then SIGKILLs.
public final class ChildProcess: @unchecked Sendable {
    public let name: String
    public let logPath: String
    private let process = Process()
    private let exited = DispatchSemaphore(value: 0)
    private let exitedFlag = Atomic(false)
    private let stopSignal: Int32

    /// Starts `executable` with `arguments`; standard output and error go to `logPath`.
    /// `stopSignal` is what `stop(grace:)` sends first (SIGTERM unless the program expects another).
    public init(name: String, executable: String, arguments: [String], environment: [String: String] = [:], logPath: String, stopSignal: Int32 = SIGTERM) throws {
        self.name = name
        self.stopSignal = stopSignal
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        let sem = exited, flag = exitedFlag
        process.terminationHandler = { _ in flag.store(true); sem.signal() }
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { !exitedFlag.load() }

    /// Exit status (or signal number) once it has exited.
    public var exitStatus: Int32? { exitedFlag.load() ? process.terminationStatus : nil }

    /// Waits up to `seconds` for the process to exit; returns whether it did.
    public func waitForExit(seconds: Double) -> Bool {
        if exitedFlag.load() { return true }
        if exited.wait(timeout: .now() + seconds) == .success { exited.signal(); return true }
        return false
    }

    /// The stop signal (SIGTERM by default), then SIGKILL after `grace` seconds. Returns the exit status.
    @discardableResult
    public func stop(grace: Double) -> Int32 {
        if isRunning { kill(pid, stopSignal) }
        if !waitForExit(seconds: grace) {
            Log.warn("dev", "\(name) did not stop within \(grace) s; killing it")
            kill(pid, SIGKILL)
            _ = waitForExit(seconds: 10)
        }
        return process.terminationStatus
    }

    /// Sends a signal without waiting.
    public func signal(_ sig: Int32) { if isRunning { kill(pid, sig) } }
}
