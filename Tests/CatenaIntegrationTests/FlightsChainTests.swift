import Catena
import CatenaTestSupport
import Foundation
import Testing

/// The nycflights13 example chain, run by `catena dev` against the test broker, checked record by record
/// against values computed independently from the CSV files (`FlightsExpectation`).
@Suite("The flights example chain", .serialized)
struct FlightsChainTests {
    static let slice = 3000

    @Test("catena dev runs the first 3,000 flights; every result matches the independent computation")
    func devRunMatchesIndependentComputation() async throws {
        let data = IntegrationEnvironment.flightsData
        let name = IntegrationEnvironment.uniqueName("flights")
        let example = try String(contentsOfFile: "\(IntegrationEnvironment.packageRoot)/examples/flights/chain.yaml", encoding: .utf8)
        let yaml = example
            .replacingOccurrences(of: "chain: flights", with: "chain: \(name)")
            .replacingOccurrences(of: "../../.deps/nycflights13", with: data)
        let chain = try await TestChain.make(yaml: yaml)
        let logs = "\(IntegrationEnvironment.logs)/\(name)"

        let dev = try ChildProcess(name: "dev", executable: IntegrationEnvironment.catena,
                                   arguments: ["dev", "--chain", chain.path, "--input", "\(data)/flights.csv", "--limit", String(Self.slice),
                                               "--brokers", IntegrationEnvironment.brokers, "--logs", logs, "--key-prefix", "flight-"],
                                   environment: ["CATENA_KAFKA_SESSION_TIMEOUT_MS": "6000"],
                                   logPath: "\(IntegrationEnvironment.logs)/\(name)-dev.log")
        #expect(await Wait.exit(of: dev, seconds: 300), "catena dev finishes")
        let devLog = try String(contentsOfFile: dev.logPath, encoding: .utf8)
        #expect(dev.exitStatus == 0, "catena dev exits 0; log:\n\(devLog.suffix(3000))")
        #expect(devLog.contains("completed + dead-lettered = \(Self.slice) of \(Self.slice) produced: OK"))

        // The input lines, by key.
        let csv = try String(contentsOfFile: "\(data)/flights.csv", encoding: .utf8)
        let lines = csv.split(separator: "\n").dropFirst().prefix(Self.slice).map(String.init)
        let oracle = try FlightsExpectation.load(dataDir: data)

        let records = try await TopicReader.make([chain.definition.outputTopic, chain.definition.deadLetterTopic])
            .read(until: "\(Self.slice) outcomes") { $0.count >= Self.slice }
        #expect(records.count == Self.slice, "one outcome per flight, no duplicates")

        var seen = Set<Int>()
        var byStatus: [String: Int] = [:]
        var deadLetters = 0, unknownDest = 0, noPlane = 0, noWeather = 0
        for r in records {
            let key = String(decoding: r.key ?? [], as: UTF8.self)
            let n = try #require(Int(key.dropFirst("flight-".count)), "key \(key)")
            #expect(seen.insert(n).inserted, "\(key) has one outcome")
            let line = lines[n - 1]
            let expected = oracle.expected(forCSVLine: line)
            if r.topic == chain.definition.deadLetterTopic {
                deadLetters += 1
                #expect(expected == .deadLetter(step: r.header(HeaderNames.errorStep) ?? "?"), "\(key): \(line)")
                // A dead letter is the failing step's input record, untouched: the CSV line at `parse`, the
                // previous step's JSON later on (then it must describe this flight).
                let value = String(decoding: r.value ?? [], as: UTF8.self)
                if r.header(HeaderNames.errorStep) == "parse" {
                    #expect(value == line, "\(key)")
                } else {
                    let input = try JSONSerialization.jsonObject(with: Data(r.value ?? [])) as? [String: Any]
                    let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                    #expect(input?["flight"] as? Int == Int(fields[10]) && input?["origin"] as? String == String(fields[12]), "\(key): \(value)")
                    #expect(input?["status"] == nil, "the classify input has no status yet")
                }
                continue
            }
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.value ?? [])) as? [String: Any], "\(key) output is JSON")
            let plane = json["plane"] as? [String: Any]
            let weather = json["weather"] as? [String: Any]
            let actual = FlightsExpectation.Expected.completed(
                status: json["status"] as? String ?? "?", airlineName: json["airline_name"] as? String ?? "?",
                destKnown: json["dest_known"] as? Bool ?? false, planeModel: plane?["model"] as? String,
                weatherVisib: (weather?["visib"] as? NSNumber)?.doubleValue, weatherSuspect: json["weather_suspect"] as? Bool ?? false)
            #expect(actual == expected, "\(key): \(line)")
            byStatus[json["status"] as? String ?? "?", default: 0] += 1
            if json["dest_known"] as? Bool == false { unknownDest += 1 }
            if plane == nil { noPlane += 1 }
            if weather == nil { noWeather += 1 }
        }
        #expect(seen.count == Self.slice)
        // The slice exercises every rule: cancelled flights, diverted ones (dead letters), unknown
        // destinations, unknown planes and missing weather all occur in it.
        #expect((byStatus["cancelled"] ?? 0) > 0 && (byStatus["on_time"] ?? 0) > 0 && (byStatus["delayed"] ?? 0) > 0 && (byStatus["severely_delayed"] ?? 0) > 0, "\(byStatus)")
        #expect(deadLetters > 0 && unknownDest > 0 && noPlane > 0, "dead letters \(deadLetters), unknown destinations \(unknownDest), no plane \(noPlane), no weather \(noWeather)")

        // The coordinator's status agrees.
        let status = try ChildProcess(name: "status", executable: IntegrationEnvironment.catena,
                                      arguments: ["status", "--chain", chain.path, "--brokers", IntegrationEnvironment.brokers, "--json"],
                                      logPath: "\(IntegrationEnvironment.logs)/\(name)-status.log")
        #expect(await Wait.exit(of: status, seconds: 60))
        let statusText = try String(contentsOfFile: status.logPath, encoding: .utf8)
        let snapshot = try StatusSnapshot.decode(Array(statusText.split(separator: "\n").last { $0.hasPrefix("{") }.map { Array($0.utf8) } ?? []))
        #expect(snapshot.started == Self.slice && snapshot.completed == Self.slice - deadLetters && snapshot.failed == deadLetters && snapshot.inFlight == 0)
        #expect(snapshot.latencyP50Ms != nil && snapshot.latencyP99Ms != nil)
    }
}
