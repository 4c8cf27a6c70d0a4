import Catena
import Foundation

/// An airport from airports.csv (only the fields the chain uses).
public struct Airport: Sendable, Equatable {
    /// FAA code, e.g. `JFK`.
    public var code: String
    /// Airport name.
    public var name: String
    /// Latitude in degrees.
    public var lat: Double
    /// Longitude in degrees.
    public var lon: Double
    /// Offset from UTC in hours, e.g. `-5` (airports.csv `tz`).
    public var tz: Int

    public init(code: String, name: String, lat: Double, lon: Double, tz: Int) {
        self.code = code
        self.name = name
        self.lat = lat
        self.lon = lon
        self.tz = tz
    }
}

/// A plane from planes.csv (only the fields the chain uses).
public struct Plane: Codable, Sendable, Equatable {
    /// Manufacturer, e.g. `EMBRAER`.
    public var manufacturer: String
    /// Model, e.g. `EMB-145XR`.
    public var model: String
    /// Year built; `nil` where planes.csv has `NA`.
    public var year: Int?
    /// Number of seats.
    public var seats: Int

    public init(manufacturer: String, model: String, year: Int?, seats: Int) {
        self.manufacturer = manufacturer
        self.model = model
        self.year = year
        self.seats = seats
    }

    enum CodingKeys: String, CodingKey { case manufacturer, model, year, seats }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(manufacturer, forKey: .manufacturer)
        try c.encode(model, forKey: .model)
        try c.encodeOrNull(year, forKey: .year)
        try c.encode(seats, forKey: .seats)
    }
}

/// The hourly weather observation at an origin airport (weather.csv); each value may be missing.
public struct WeatherObservation: Codable, Sendable, Equatable {
    /// Temperature, °F.
    public var temp: Double?
    /// Wind speed, mph.
    public var windSpeed: Double?
    /// Wind gust, mph.
    public var windGust: Double?
    /// Precipitation, inches.
    public var precip: Double?
    /// Visibility, miles.
    public var visib: Double?

    public init(temp: Double?, windSpeed: Double?, windGust: Double?, precip: Double?, visib: Double?) {
        self.temp = temp
        self.windSpeed = windSpeed
        self.windGust = windGust
        self.precip = precip
        self.visib = visib
    }

    enum CodingKeys: String, CodingKey {
        case temp, windSpeed = "wind_speed", windGust = "wind_gust", precip, visib
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        // Explicit nulls: every key is always present.
        try c.encodeOrNull(temp, forKey: .temp)
        try c.encodeOrNull(windSpeed, forKey: .windSpeed)
        try c.encodeOrNull(windGust, forKey: .windGust)
        try c.encodeOrNull(precip, forKey: .precip)
        try c.encodeOrNull(visib, forKey: .visib)
    }
}

/// Key of the weather table: origin airport and the UTC hour, as R's nycflights13 joins them.
public struct WeatherKey: Hashable, Sendable {
    /// Origin airport code (`EWR`, `JFK`, `LGA`).
    public var origin: String
    /// UTC hour exactly as written in the CSV files, e.g. `2013-01-01T10:00:00Z`.
    public var timeHour: String

    public init(origin: String, timeHour: String) {
        self.origin = origin
        self.timeHour = timeHour
    }
}

/// Loaders for the nycflights13 reference tables. Each loads a whole file once and indexes it.
///
/// Every loader throws `CatenaError.configuration` naming the file, row and column when the file is missing,
/// unreadable, malformed, has a missing or non-numeric value in a required column, or repeats a key.
public enum ReferenceTables {
    /// The step parameter that names the data directory.
    public static let dataDirParameter = "data_dir"

    /// The data directory named by the step parameter `data_dir` (resolved against the chain file's directory).
    /// - Throws: `CatenaError.configuration` when the parameter is missing or does not name a directory.
    public static func dataDirectory(_ configuration: FunctionConfiguration) throws -> String {
        let step = "step '\(configuration.step.name)' (\(configuration.step.function))"
        guard let dir = configuration.pathParam(dataDirParameter), !dir.isEmpty else {
            throw CatenaError.configuration("\(step): missing parameter '\(dataDirParameter)' (the nycflights13 directory holding airlines.csv, airports.csv, planes.csv, weather.csv)")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CatenaError.configuration("\(step): parameter '\(dataDirParameter)' = '\(dir)' is not a readable directory")
        }
        return dir
    }

    /// airlines.csv: carrier code → airline name.
    public static func loadAirlines(dataDir: String) throws -> [String: String] {
        let t = try CSVTable.load(path: path(dataDir, "airlines.csv"))
        let carrier = try t.index(of: "carrier"), name = try t.index(of: "name")
        var result: [String: String] = [:]
        for (i, row) in t.rows.enumerated() {
            let key = try required(t, i, row, carrier)
            let value = try required(t, i, row, name)
            guard result.updateValue(value, forKey: key) == nil else { throw duplicate(t, i, key) }
        }
        return result
    }

    /// airports.csv: FAA code → airport.
    public static func loadAirports(dataDir: String) throws -> [String: Airport] {
        let t = try CSVTable.load(path: path(dataDir, "airports.csv"))
        let faa = try t.index(of: "faa"), name = try t.index(of: "name"), lat = try t.index(of: "lat"),
            lon = try t.index(of: "lon"), tz = try t.index(of: "tz")
        var result: [String: Airport] = [:]
        for (i, row) in t.rows.enumerated() {
            let code = try required(t, i, row, faa)
            let airport = Airport(code: code, name: try required(t, i, row, name),
                                  lat: try requiredDouble(t, i, row, lat), lon: try requiredDouble(t, i, row, lon),
                                  tz: try requiredInt(t, i, row, tz))
            guard result.updateValue(airport, forKey: code) == nil else { throw duplicate(t, i, code) }
        }
        return result
    }

    /// planes.csv: tail number → plane.
    public static func loadPlanes(dataDir: String) throws -> [String: Plane] {
        let t = try CSVTable.load(path: path(dataDir, "planes.csv"))
        let tailnum = try t.index(of: "tailnum"), manufacturer = try t.index(of: "manufacturer"),
            model = try t.index(of: "model"), year = try t.index(of: "year"), seats = try t.index(of: "seats")
        var result: [String: Plane] = [:]
        for (i, row) in t.rows.enumerated() {
            let key = try required(t, i, row, tailnum)
            let plane = Plane(manufacturer: try required(t, i, row, manufacturer), model: try required(t, i, row, model),
                              year: try optionalInt(t, i, row, year), seats: try requiredInt(t, i, row, seats))
            guard result.updateValue(plane, forKey: key) == nil else { throw duplicate(t, i, key) }
        }
        return result
    }

    /// weather.csv: (origin, time_hour) → observation.
    public static func loadWeather(dataDir: String) throws -> [WeatherKey: WeatherObservation] {
        let t = try CSVTable.load(path: path(dataDir, "weather.csv"))
        let origin = try t.index(of: "origin"), timeHour = try t.index(of: "time_hour"), temp = try t.index(of: "temp"),
            windSpeed = try t.index(of: "wind_speed"), windGust = try t.index(of: "wind_gust"),
            precip = try t.index(of: "precip"), visib = try t.index(of: "visib")
        var result: [WeatherKey: WeatherObservation] = [:]
        result.reserveCapacity(t.rows.count)
        for (i, row) in t.rows.enumerated() {
            let key = WeatherKey(origin: try required(t, i, row, origin), timeHour: try required(t, i, row, timeHour))
            let observation = WeatherObservation(
                temp: try optionalDouble(t, i, row, temp), windSpeed: try optionalDouble(t, i, row, windSpeed),
                windGust: try optionalDouble(t, i, row, windGust), precip: try optionalDouble(t, i, row, precip),
                visib: try optionalDouble(t, i, row, visib))
            guard result.updateValue(observation, forKey: key) == nil else {
                throw duplicate(t, i, "\(key.origin) \(key.timeHour)")
            }
        }
        return result
    }

    // MARK: - Helpers

    private static func path(_ dir: String, _ file: String) -> String { (dir as NSString).appendingPathComponent(file) }

    private static func location(_ t: CSVTable, _ row: Int, _ column: Int) -> String {
        "\(t.name) data row \(row + 1), column '\(t.header[column])'"
    }

    private static func duplicate(_ t: CSVTable, _ row: Int, _ key: String) -> CatenaError {
        .configuration("\(t.name) data row \(row + 1): duplicate key '\(key)'")
    }

    private static func required(_ t: CSVTable, _ row: Int, _ fields: [String?], _ column: Int) throws -> String {
        guard let value = fields[column] else {
            throw CatenaError.configuration("\(location(t, row, column)): missing value (NA) in a required column")
        }
        return value
    }

    private static func requiredInt(_ t: CSVTable, _ row: Int, _ fields: [String?], _ column: Int) throws -> Int {
        let raw = try required(t, row, fields, column)
        guard let value = Int(raw) else {
            throw CatenaError.configuration("\(location(t, row, column)): '\(raw)' is not an integer")
        }
        return value
    }

    private static func optionalInt(_ t: CSVTable, _ row: Int, _ fields: [String?], _ column: Int) throws -> Int? {
        guard fields[column] != nil else { return nil }
        return try requiredInt(t, row, fields, column)
    }

    private static func requiredDouble(_ t: CSVTable, _ row: Int, _ fields: [String?], _ column: Int) throws -> Double {
        let raw = try required(t, row, fields, column)
        guard let value = Double(raw), value.isFinite else {
            throw CatenaError.configuration("\(location(t, row, column)): '\(raw)' is not a finite number")
        }
        return value
    }

    private static func optionalDouble(_ t: CSVTable, _ row: Int, _ fields: [String?], _ column: Int) throws -> Double? {
        guard fields[column] != nil else { return nil }
        return try requiredDouble(t, row, fields, column)
    }
}
