import Foundation

/// A process Catena started (broker, coordinator, worker), with its output in a log file.
///
/// Started with `posix_spawn` so the child begins with default signal dispositions and an empty signal
/// mask, whatever the parent ignores (a parent that handles SIGTERM itself ignores it for the default
/// handler, and ignored signals would otherwise be inherited). A dedicated thread waits for the exit.
/// Stopping sends the stop signal, waits up to a grace period, then SIGKILLs.
public final class ChildProcess: @unchecked Sendable {
    public let name: String
    public let logPath: String
    public let pid: Int32
    private let exited = DispatchSemaphore(value: 0)
    private let status = Atomic<Int32?>(nil)
    private let stopSignal: Int32

    /// Starts `executable` with `arguments` and the current environment plus `environment`; standard output
    /// and error go to `logPath`, standard input is /dev/null. `stopSignal` is what `stop(grace:)` sends first.
    /// `ownProcessGroup` puts the child in a process group of its own, so a Ctrl-C at the terminal (sent to the
    /// whole foreground group) does not reach it: the parent stops it in its own order.
    public init(name: String, executable: String, arguments: [String], environment: [String: String] = [:], logPath: String,
                stopSignal: Int32 = SIGTERM, ownProcessGroup: Bool = false) throws {
        self.name = name
        self.logPath = logPath
        self.stopSignal = stopSignal
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        pid = try Self.spawn(executable, [executable] + arguments, env.map { "\($0.key)=\($0.value)" }, logPath: logPath, ownProcessGroup: ownProcessGroup)
        let pid = self.pid, status = self.status, exited = self.exited
        let waiter = Thread {
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
            // Exit code when it exited, 128 + signal number when a signal ended it.
            status.store((raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f))
            exited.signal()
        }
        waiter.name = "catena-wait-\(name)"
        waiter.start()
    }

    public var isRunning: Bool { status.load() == nil }

    /// Exit code (128 + signal when killed by a signal) once it has exited.
    public var exitStatus: Int32? { status.load() }

    /// Waits up to `seconds` for the process to exit; returns whether it did.
    public func waitForExit(seconds: Double) -> Bool {
        if status.load() != nil { return true }
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
        return status.load() ?? -1
    }

    /// Sends a signal without waiting.
    public func signal(_ sig: Int32) { if isRunning { kill(pid, sig) } }

    // MARK: - posix_spawn

    private static func spawn(_ path: String, _ argv: [String], _ envp: [String], logPath: String, ownProcessGroup: Bool) throws -> pid_t {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        var flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
        if ownProcessGroup {
            posix_spawnattr_setpgroup(&attr, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attr, Int16(flags))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnvp = envp.map { strdup($0) } + [nil]
        defer { for p in cArgv + cEnvp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, cArgv, cEnvp)
        guard rc == 0 else { throw CatenaError.failure("cannot start \(path): \(String(cString: strerror(rc)))") }
        return pid
    }
}
