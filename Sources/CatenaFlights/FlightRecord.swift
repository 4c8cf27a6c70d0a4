import Catena
import Foundation

/// The delay class `flights.classify` assigns.
public enum FlightStatus: String, Codable, Sendable, CaseIterable {
    /// No departure time: the flight was cancelled.
    case cancelled
    /// Arrived less than 15 minutes late (or early).
    case onTime = "on_time"
    /// Arrived 15 to 59 minutes late.
    case delayed
    /// Arrived 60 minutes late or more.
    case severelyDelayed = "severely_delayed"
}

/// One flight as it travels through the chain, carried between steps as JSON (snake_case keys, sorted).
///
/// Each step adds a group of fields. A group is absent from the JSON until its step has run; once it has
/// run, every key of the group is present, with `null` for values that are unknown:
/// - `flights.parse`: the 19 flights.csv columns (times as integers `hhmm`, delays and `air_time` in
///   minutes, `distance` in miles) and `cancelled`;
/// - `flights.enrich`: `airline_name`, `origin_name/lat/lon/tz`, `dest_name/lat/lon/tz`, `dest_known`, `plane`;
/// - `flights.weather`: `weather`, `weather_known`;
/// - `flights.classify`: `status`, `weather_suspect`.
public struct FlightRecord: Codable, Sendable, Equatable {
    // MARK: flights.parse
    public var year: Int
    public var month: Int
    public var day: Int
    /// Actual departure time (local, `hhmm`); `nil` for a cancelled flight.
    public var depTime: Int?
    public var schedDepTime: Int
    /// Departure delay in minutes (negative = early).
    public var depDelay: Double?
    public var arrTime: Int?
    public var schedArrTime: Int
    /// Arrival delay in minutes (negative = early); `nil` when the flight was cancelled or diverted.
    public var arrDelay: Double?
    public var carrier: String
    public var flight: Int
    public var tailnum: String?
    public var origin: String
    public var dest: String
    public var airTime: Double?
    public var distance: Double
    public var hour: Int
    public var minute: Int
    /// Scheduled departure hour in UTC, e.g. `2013-01-01T10:00:00Z`; with `origin`, the weather key.
    public var timeHour: String

    /// Whether the flight was cancelled (it has no departure time). Encoded, but derived on decoding.
    public var cancelled: Bool { depTime == nil }

    // MARK: flights.enrich (dest_known != nil once the step has run)
    public var airlineName: String?
    public var originName: String?
    public var originLat: Double?
    public var originLon: Double?
    public var originTz: Int?
    public var destName: String?
    public var destLat: Double?
    public var destLon: Double?
    public var destTz: Int?
    /// Whether `dest` is in airports.csv; `nil` until `flights.enrich` has run.
    public var destKnown: Bool?
    /// The plane, when the tail number is known and in planes.csv.
    public var plane: Plane?

    // MARK: flights.weather (weather_known != nil once the step has run)
    /// The weather at the origin in the scheduled departure hour, when weather.csv has that hour.
    public var weather: WeatherObservation?
    /// Whether weather.csv has a row for (origin, time_hour); `nil` until `flights.weather` has run.
    public var weatherKnown: Bool?

    // MARK: flights.classify (status != nil once the step has run)
    public var status: FlightStatus?
    /// Delayed or severely delayed, with weather present and visib < 3 or precip > 0.1 or wind_speed > 25.
    public var weatherSuspect: Bool?

    /// A freshly parsed record (no step-added fields yet).
    public init(year: Int, month: Int, day: Int, depTime: Int?, schedDepTime: Int, depDelay: Double?, arrTime: Int?,
                schedArrTime: Int, arrDelay: Double?, carrier: String, flight: Int, tailnum: String?, origin: String,
                dest: String, airTime: Double?, distance: Double, hour: Int, minute: Int, timeHour: String) {
        self.year = year
        self.month = month
        self.day = day
        self.depTime = depTime
        self.schedDepTime = schedDepTime
        self.depDelay = depDelay
        self.arrTime = arrTime
        self.schedArrTime = schedArrTime
        self.arrDelay = arrDelay
        self.carrier = carrier
        self.flight = flight
        self.tailnum = tailnum
        self.origin = origin
        self.dest = dest
        self.airTime = airTime
        self.distance = distance
        self.hour = hour
        self.minute = minute
        self.timeHour = timeHour
    }

    enum CodingKeys: String, CodingKey {
        case year, month, day, depTime = "dep_time", schedDepTime = "sched_dep_time", depDelay = "dep_delay"
        case arrTime = "arr_time", schedArrTime = "sched_arr_time", arrDelay = "arr_delay", carrier, flight, tailnum
        case origin, dest, airTime = "air_time", distance, hour, minute, timeHour = "time_hour", cancelled
        case airlineName = "airline_name", originName = "origin_name", originLat = "origin_lat"
        case originLon = "origin_lon", originTz = "origin_tz", destName = "dest_name", destLat = "dest_lat"
        case destLon = "dest_lon", destTz = "dest_tz", destKnown = "dest_known", plane
        case weather, weatherKnown = "weather_known"
        case status, weatherSuspect = "weather_suspect"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        year = try c.decode(Int.self, forKey: .year)
        month = try c.decode(Int.self, forKey: .month)
        day = try c.decode(Int.self, forKey: .day)
        depTime = try c.decodeIfPresent(Int.self, forKey: .depTime)
        schedDepTime = try c.decode(Int.self, forKey: .schedDepTime)
        depDelay = try c.decodeIfPresent(Double.self, forKey: .depDelay)
        arrTime = try c.decodeIfPresent(Int.self, forKey: .arrTime)
        schedArrTime = try c.decode(Int.self, forKey: .schedArrTime)
        arrDelay = try c.decodeIfPresent(Double.self, forKey: .arrDelay)
        carrier = try c.decode(String.self, forKey: .carrier)
        flight = try c.decode(Int.self, forKey: .flight)
        tailnum = try c.decodeIfPresent(String.self, forKey: .tailnum)
        origin = try c.decode(String.self, forKey: .origin)
        dest = try c.decode(String.self, forKey: .dest)
        airTime = try c.decodeIfPresent(Double.self, forKey: .airTime)
        distance = try c.decode(Double.self, forKey: .distance)
        hour = try c.decode(Int.self, forKey: .hour)
        minute = try c.decode(Int.self, forKey: .minute)
        timeHour = try c.decode(String.self, forKey: .timeHour)
        airlineName = try c.decodeIfPresent(String.self, forKey: .airlineName)
        originName = try c.decodeIfPresent(String.self, forKey: .originName)
        originLat = try c.decodeIfPresent(Double.self, forKey: .originLat)
        originLon = try c.decodeIfPresent(Double.self, forKey: .originLon)
        originTz = try c.decodeIfPresent(Int.self, forKey: .originTz)
        destName = try c.decodeIfPresent(String.self, forKey: .destName)
        destLat = try c.decodeIfPresent(Double.self, forKey: .destLat)
        destLon = try c.decodeIfPresent(Double.self, forKey: .destLon)
        destTz = try c.decodeIfPresent(Int.self, forKey: .destTz)
        destKnown = try c.decodeIfPresent(Bool.self, forKey: .destKnown)
        plane = try c.decodeIfPresent(Plane.self, forKey: .plane)
        weather = try c.decodeIfPresent(WeatherObservation.self, forKey: .weather)
        weatherKnown = try c.decodeIfPresent(Bool.self, forKey: .weatherKnown)
        status = try c.decodeIfPresent(FlightStatus.self, forKey: .status)
        weatherSuspect = try c.decodeIfPresent(Bool.self, forKey: .weatherSuspect)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        // Optional values are encoded as explicit nulls within a group that has run.
        try c.encode(year, forKey: .year)
        try c.encode(month, forKey: .month)
        try c.encode(day, forKey: .day)
        try c.encodeOrNull(depTime, forKey: .depTime)
        try c.encode(schedDepTime, forKey: .schedDepTime)
        try c.encodeOrNull(depDelay, forKey: .depDelay)
        try c.encodeOrNull(arrTime, forKey: .arrTime)
        try c.encode(schedArrTime, forKey: .schedArrTime)
        try c.encodeOrNull(arrDelay, forKey: .arrDelay)
        try c.encode(carrier, forKey: .carrier)
        try c.encode(flight, forKey: .flight)
        try c.encodeOrNull(tailnum, forKey: .tailnum)
        try c.encode(origin, forKey: .origin)
        try c.encode(dest, forKey: .dest)
        try c.encodeOrNull(airTime, forKey: .airTime)
        try c.encode(distance, forKey: .distance)
        try c.encode(hour, forKey: .hour)
        try c.encode(minute, forKey: .minute)
        try c.encode(timeHour, forKey: .timeHour)
        try c.encode(cancelled, forKey: .cancelled)
        if destKnown != nil {
            try c.encodeOrNull(airlineName, forKey: .airlineName)
            try c.encodeOrNull(originName, forKey: .originName)
            try c.encodeOrNull(originLat, forKey: .originLat)
            try c.encodeOrNull(originLon, forKey: .originLon)
            try c.encodeOrNull(originTz, forKey: .originTz)
            try c.encodeOrNull(destName, forKey: .destName)
            try c.encodeOrNull(destLat, forKey: .destLat)
            try c.encodeOrNull(destLon, forKey: .destLon)
            try c.encodeOrNull(destTz, forKey: .destTz)
            try c.encodeOrNull(destKnown, forKey: .destKnown)
            try c.encodeOrNull(plane, forKey: .plane)
        }
        if weatherKnown != nil {
            try c.encodeOrNull(weather, forKey: .weather)
            try c.encodeOrNull(weatherKnown, forKey: .weatherKnown)
        }
        if status != nil {
            try c.encodeOrNull(status, forKey: .status)
            try c.encodeOrNull(weatherSuspect, forKey: .weatherSuspect)
        }
    }

    /// The record as a step's output payload: JSON with sorted keys, so equal records give equal bytes.
    public func jsonPayload() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return Array(try encoder.encode(self))
        } catch {
            throw StepFailure.fatal("cannot encode FlightRecord as JSON: \(error)")
        }
    }

    /// Decodes a step's input payload.
    /// - Throws: `StepFailure.fatal` with the decoding error text when the payload is not a FlightRecord.
    public static func decode(payload: [UInt8]) throws -> FlightRecord {
        do {
            return try JSONDecoder().decode(FlightRecord.self, from: Data(payload))
        } catch {
            throw StepFailure.fatal("input is not a FlightRecord JSON object: \(error)")
        }
    }
}

extension KeyedEncodingContainer {
    /// Encodes `value`, or an explicit `null` when it is `nil` (cheaper than encoding the `Optional` itself).
    mutating func encodeOrNull<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}
