import Catena
import Foundation
import Testing

/// Real worker processes on a real broker: records flow through a chain, keep their order per key, and
/// carry the envelope headers.
@Suite("Chains run end to end", .serialized)
struct ChainRunTests {
    @Test("a 3-step chain completes 1,000 records with correct outputs and per-key order kept")
    func threeStepChainKeepsOutputsAndOrder() async throws {
        let chain = try await TestChain.make(prefix: "three", partitions: 4,
                                  steps: [("a", "builtin.append"), ("b", "builtin.append"), ("c", "builtin.append")],
                                  stepExtra: ["a": "params: {suffix: \"|a\"}", "b": "params: {suffix: \"|b\"}", "c": "params: {suffix: \"|c\"}"])
        defer { chain.signalStop() }
        try await chain.startAllWorkers()

        let keys = (0..<25).map { "key-\($0)" }
        var records: [OutgoingRecord] = []
        for seq in 0..<40 {
            for key in keys {
                records.append(OutgoingRecord(topic: chain.definition.entryTopic, key: Array(key.utf8), value: Array("\(key):\(seq)".utf8),
                                              headers: [KafkaHeader("x-trace", text: "t-\(key)-\(seq)")]))
            }
        }
        _ = try await TestProducer.send(records)

        let reader = try await TopicReader.make([chain.definition.outputTopic])
        let outputs = try await reader.read(until: "1,000 outputs") { $0.count >= 1000 }
        #expect(outputs.count == 1000)

        var seqsByKey: [String: [Int]] = [:]
        for r in outputs {
            let key = String(decoding: r.key ?? [], as: UTF8.self)
            let value = String(decoding: r.value ?? [], as: UTF8.self)
            let parts = value.split(separator: "|")
            #expect(parts.count == 4 && parts[1] == "a" && parts[2] == "b" && parts[3] == "c", "value \(value)")
            let head = parts[0].split(separator: ":")
            #expect(String(head[0]) == key)
            seqsByKey[key, default: []].append(Int(head[1])!)
            #expect(r.header(HeaderNames.correlationID) == key)
            #expect(r.header(HeaderNames.specVersion) == "1.0")
            #expect(r.header(HeaderNames.step) == "c")
            #expect(r.header(HeaderNames.chain) == chain.definition.name)
            #expect(r.header(HeaderNames.id) == "\(key)/c")
            #expect(r.header("x-trace") == "t-\(key)-\(head[1])", "user headers pass through")
            #expect(r.headers.filter { $0.name == HeaderNames.correlationID }.count == 1, "envelope headers are replaced, not appended")
        }
        #expect(seqsByKey.count == keys.count)
        for (key, seqs) in seqsByKey {
            #expect(seqs == Array(0..<40), "order of \(key)")
        }
        let codes = await chain.stop()
        #expect(codes.values.allSatisfy { $0 == 0 }, "workers exit 0 on SIGTERM: \(codes)")
    }

    @Test("records with no key or headers, with a key only, and structured CloudEvents all complete")
    func entryAcceptsAnyProducer() async throws {
        let chain = try await TestChain.make(prefix: "entry", partitions: 3, steps: [("only", "builtin.identity")])
        defer { chain.signalStop() }
        try await chain.startAllWorkers()
        let topic = chain.definition.entryTopic
        let structured = #"{"specversion":"1.0","id":"evt-77","source":"/tests","type":"test.created","datacontenttype":"application/json","data":{"n":7}}"#
        let reports = try await TestProducer.send([
            OutgoingRecord(topic: topic, key: nil, value: Array("plain bytes".utf8)),
            OutgoingRecord(topic: topic, key: Array("only-a-key".utf8), value: Array("keyed".utf8)),
            OutgoingRecord(topic: topic, key: nil, value: Array(structured.utf8),
                           headers: [KafkaHeader("content-type", text: "application/cloudevents+json; charset=utf-8")]),
        ])
        let derived = CorrelationID.derived(topic: topic, partition: reports[0].partition, offset: reports[0].offset)

        let outputs = try await TopicReader.make([chain.definition.outputTopic]).read(until: "3 outputs") { $0.count >= 3 }
        let byID = Dictionary(outputs.map { ($0.header(HeaderNames.correlationID) ?? "", $0) }, uniquingKeysWith: { a, _ in a })

        let plain = try #require(byID[derived], "keyless record completes under its derived UUID \(derived); got \(byID.keys)")
        #expect(plain.value == Array("plain bytes".utf8))
        #expect(plain.key == Array(derived.utf8), "the new correlation ID becomes the key")

        let keyed = try #require(byID["only-a-key"])
        #expect(keyed.value == Array("keyed".utf8))
        #expect(keyed.key == Array("only-a-key".utf8))

        let event = try #require(byID["evt-77"], "structured event completes under its id")
        #expect(event.header("content-type") == "application/json")
        #expect(event.header(HeaderNames.type) == "dev.catena.\(chain.definition.name).only.output", "envelope attributes are Catena's after a step")
        let data = try JSONSerialization.jsonObject(with: Data(event.value ?? [])) as? [String: Int]
        #expect(data == ["n": 7], "structured mode is unwrapped to its data")
        #expect(await chain.stop().values.allSatisfy { $0 == 0 }, "workers exit 0 on SIGTERM")
    }

    @Test("two worker processes on one step split the partitions and together process every record")
    func twoWorkersSplitPartitions() async throws {
        let chain = try await TestChain.make(prefix: "split", partitions: 6, steps: [("work", "builtin.uppercase")])
        defer { chain.signalStop() }
        let first = try await chain.startWorker("work", instance: 1)
        let second = try await chain.startWorker("work", instance: 2)

        let records = (0..<600).map { i in
            OutgoingRecord(topic: chain.definition.entryTopic, key: Array("k\(i)".utf8), value: Array("v\(i)".utf8))
        }
        _ = try await TestProducer.send(records)
        let outputs = try await TopicReader.make([chain.definition.outputTopic]).read(until: "600 distinct outputs") { rs in
            Set(rs.compactMap { $0.key }).count >= 600
        }
        var workers: [String: Int] = [:]
        for r in outputs {
            let i = String(decoding: r.key ?? [], as: UTF8.self).dropFirst()
            #expect(r.value == Array("V\(i)".utf8))
            workers[r.header(HeaderNames.worker) ?? "?", default: 0] += 1
        }
        #expect(Set(outputs.compactMap { $0.key }).count == 600, "every record processed")
        #expect(workers.count == 2, "both workers processed records: \(workers)")
        #expect(workers.keys.contains { $0.hasSuffix(":\(first.pid)") } && workers.keys.contains { $0.hasSuffix(":\(second.pid)") })
        #expect(await chain.stop().values.allSatisfy { $0 == 0 }, "workers exit 0 on SIGTERM")
    }
}
