import Dispatch
import Foundation

/// Turns SIGTERM and SIGINT into a flag that long-running loops check between batches, and that async
/// code can await. The first signal requests a graceful stop; another one at least 2 s later exits at once.
public final class StopSignal: @unchecked Sendable {
    private let requested = Atomic(false)
    private let firstSignalAt = Atomic<Date?>(nil)
    private let waiters = Atomic<[CheckedContinuation<Void, Never>]>([])
    private var sources: [any DispatchSourceSignal] = []
    private let beforeForcedExit = Atomic<[@Sendable () -> Void]>([])

    public init() {}

    /// Installs handlers for SIGTERM and SIGINT (call once per process).
    public func installSignalHandlers() {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                if let first = self.firstSignalAt.load() {
                    // A signal sent to a whole process group can arrive twice at once; only a later one forces exit.
                    if Date().timeIntervalSince(first) < 2 { return }
                    Log.warn("signal", "second signal: exiting now")
                    for action in self.beforeForcedExit.load() { action() }
                    exit(130)
                }
                self.firstSignalAt.store(Date())
                Log.info("signal", "received \(sig == SIGTERM ? "SIGTERM" : "SIGINT"): stopping after in-flight work")
                self.request()
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Registers `action` to run if a second signal forces an immediate exit (e.g. to kill child processes).
    public func onForcedExit(_ action: @escaping @Sendable () -> Void) {
        beforeForcedExit.withValue { $0.append(action) }
    }

    /// Whether a stop has been requested.
    public var isRequested: Bool { requested.load() }

    /// Requests a stop and wakes every waiter.
    public func request() {
        requested.store(true)
        let toResume = waiters.withValue { w -> [CheckedContinuation<Void, Never>] in let all = w; w = []; return all }
        for c in toResume { c.resume() }
    }

    /// Returns once a stop has been requested.
    public func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let already = waiters.withValue { w -> Bool in
                if requested.load() { return true }
                w.append(c)
                return false
            }
            if already { c.resume() }
        }
    }
}
