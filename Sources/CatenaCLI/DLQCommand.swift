import Catena
import Foundation

/// `catena dlq list|show|tail|redrive`: inspect and redrive a chain's dead letters.
enum DLQCommand: Command {
    static let help = """
    usage: catena dlq list    --chain FILE [--brokers HOST:PORT] [--json]
           catena dlq show    --chain FILE (--partition P --offset O | --correlation-id ID)
           catena dlq tail    --chain FILE [--from-beginning]
           catena dlq redrive --chain FILE [--step S ...] [--kind K ...] [--since T] [--until T] [--correlation-id ID]
                              [--max-redrives N] [--rate N] [--dry-run]
    list     dead letters on <chain>.dlq grouped by failing step and error kind: count, oldest, newest
             (reads from the beginning to the end offsets fixed at start, read_committed)
    show     one dead letter: key, every header in order (error headers marked *), value (text, else hex and base64)
    tail     prints one line per new dead letter until SIGINT/SIGTERM
    redrive  sends the selected dead letters back to the input topic of the step that failed (<chain>.<catena_error_step>)
             with the same key and value, their headers minus catena_error_*/catena_origin_*, and catena_redrive_count + 1.
             Filters: --step and --kind (repeatable), --since/--until (RFC 3339, on catena_error_time; since inclusive,
             until exclusive), --correlation-id. Each dead letter is considered once per run (the DLQ is read up to the
             end offsets fixed at start). One whose catena_redrive_count reached --max-redrives (default: the chain's
             max_redrives, 3 unless set) is parked on <chain>.dlq.parked instead; stubs (catena_error_truncated=true) are
             refused. --dry-run sends nothing; --rate caps records per second. (A dead letter copied back to a step by
             hand, headers and all, is counted by the worker in the same catena_redrive_count and parked past the same
             max_redrives.)
    """

    static func run(_ args: [String], registry: FunctionRegistry) async throws -> Int32 {
        let a = try Arguments(args, command: "dlq",
                              valued: ["chain", "brokers", "kafka-property", "partition", "offset", "correlation-id", "step", "kind",
                                       "since", "until", "max-redrives", "rate"],
                              boolean: ["json", "from-beginning", "dry-run"], positionals: true)
        guard a.positional.count == 1, let sub = a.positional.first, ["list", "show", "tail", "redrive"].contains(sub) else {
            throw CatenaError.configuration("catena dlq: expected one of list, show, tail, redrive (see catena dlq --help)")
        }
        let allowed: [String: Set<String>] = [
            "list": ["json"],
            "show": ["partition", "offset", "correlation-id"],
            "tail": ["from-beginning"],
            "redrive": ["step", "kind", "since", "until", "correlation-id", "max-redrives", "rate", "dry-run"],
        ]
        let common: Set<String> = ["chain", "brokers", "kafka-property"]
        for name in Set(a.values.keys).union(a.flags) where !common.contains(name) && !allowed[sub]!.contains(name) {
            throw CatenaError.configuration("catena dlq \(sub): --\(name) does not apply (see catena dlq --help)")
        }
        let chain = try ChainFileLoader.load(path: try Environment.chainPath(a, command: "dlq"))
        let settings = try Environment.kafkaSettings(a, clientID: "catena-\(chain.name)-dlq")
        switch sub {
        case "list": return try await list(chain, settings, json: a.flag("json"))
        case "show": return try await show(chain, settings, a)
        case "tail": return try await tail(chain, settings, fromBeginning: a.flag("from-beginning"))
        default: return try await redrive(chain, settings, a)
        }
    }

    static func list(_ chain: ChainDefinition, _ settings: KafkaSettings, json: Bool) async throws -> Int32 {
        let reader = try await DeadLetterReader.snapshot(topic: chain.deadLetterTopic, settings: settings)
        var summary = DeadLetterSummary()
        while let batch = try await reader.nextBatch() {
            for r in batch { summary.add(DeadLetterRecord(r)) }
        }
        await reader.close()
        print(json ? String(decoding: summary.json(topic: chain.deadLetterTopic), as: UTF8.self) : summary.report(topic: chain.deadLetterTopic))
        return 0
    }

    static func show(_ chain: ChainDefinition, _ settings: KafkaSettings, _ a: Arguments) async throws -> Int32 {
        let topic = chain.deadLetterTopic
        let partition = try a.int("partition", minimum: 0), offset = try a.int("offset", minimum: 0)
        let id = a.value("correlation-id")
        let found: ConsumedRecord?
        if let partition, let offset, id == nil {
            let reader = try await DeadLetterReader.snapshot(topic: topic, settings: settings, partitions: [Int32(partition)],
                                                             start: [Int32(partition): Int64(offset)])
            var first: ConsumedRecord?
            while first == nil, let batch = try await reader.nextBatch() { first = batch.first }
            await reader.close()
            found = first?.offset == Int64(offset) ? first : nil
            if found == nil {
                FileHandle.standardError.write(Data("catena dlq show: no dead letter at partition \(partition) offset \(offset) of \(topic)\(first.map { " (the next is at offset \($0.offset))" } ?? "")\n".utf8))
                return 1
            }
        } else if let id, partition == nil, offset == nil {
            let reader = try await DeadLetterReader.snapshot(topic: topic, settings: settings)
            var match: ConsumedRecord?
            while match == nil, let batch = try await reader.nextBatch() {
                match = batch.first { DeadLetterRecord($0).correlationID == id }
            }
            await reader.close()
            found = match
            if found == nil {
                FileHandle.standardError.write(Data("catena dlq show: no dead letter with correlation ID \(id) on \(topic)\n".utf8))
                return 1
            }
        } else {
            throw CatenaError.configuration("catena dlq show: give --partition P --offset O, or --correlation-id ID")
        }
        print(DeadLetterRecord(found!).detail(bold: isatty(STDOUT_FILENO) == 1))
        return 0
    }

    static func tail(_ chain: ChainDefinition, _ settings: KafkaSettings, fromBeginning: Bool) async throws -> Int32 {
        let stop = StopSignal()
        stop.installSignalHandlers()
        Environment.stopWhenParentExits(stop)
        let reader = try await DeadLetterReader.follow(topic: chain.deadLetterTopic, settings: settings, fromBeginning: fromBeginning)
        FileHandle.standardError.write(Data("catena dlq tail: following \(chain.deadLetterTopic) (\(reader.partitionCount) partitions); Ctrl-C stops\n".utf8))
        while !stop.isRequested {
            let batch = await reader.poll(timeoutMs: 200)
            guard !batch.isEmpty else { continue }
            // Unbuffered, so each line shows at once even when standard output is a pipe or file.
            FileHandle.standardOutput.write(Data((batch.map { DeadLetterRecord($0).summaryLine }.joined(separator: "\n") + "\n").utf8))
        }
        await reader.close()
        return 0
    }

    static func redrive(_ chain: ChainDefinition, _ settings: KafkaSettings, _ a: Arguments) async throws -> Int32 {
        func time(_ name: String) throws -> Date? {
            guard let v = a.value(name) else { return nil }
            guard let d = RFC3339.parse(v) else { throw CatenaError.configuration("--\(name): expected an RFC 3339 time such as 2026-01-02T03:04:05Z, got \"\(v)\"") }
            return d
        }
        let steps = Set(a.all("step"))
        for s in steps where chain.step(named: s) == nil {
            throw CatenaError.configuration("--step: chain \(chain.name) has no step '\(s)' (steps: \(chain.steps.map(\.name).joined(separator: ", ")))")
        }
        let kinds = Set(a.all("kind"))
        let known = DeadLetterKind.allCases.map(\.rawValue)
        for k in kinds where !known.contains(k) {
            throw CatenaError.configuration("--kind: unknown error kind '\(k)' (kinds: \(known.joined(separator: ", ")))")
        }
        let filter = DeadLetterFilter(steps: steps, kinds: kinds, since: try time("since"), until: try time("until"),
                                      correlationID: a.value("correlation-id"))
        let rate = try a.double("rate", minimum: 0)
        if rate == 0 { throw CatenaError.configuration("--rate: must be greater than 0") }
        let plan = RedrivePlan(chain: chain, filter: filter, maxRedrives: try a.int("max-redrives", minimum: 0))
        let dryRun = a.flag("dry-run")
        let outcome = try await Redriver(plan: plan, settings: settings, dryRun: dryRun, rate: rate).run { line in print(line) }
        print("\(dryRun ? "dry run (nothing sent): " : "")\(outcome.line)")
        return outcome.failed == 0 ? 0 : 1
    }
}
