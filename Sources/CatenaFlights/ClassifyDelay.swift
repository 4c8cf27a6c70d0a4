import Catena

/// `flights.classify`: adds `status` and `weather_suspect`.
///
/// Needs no parameters. Status: `cancelled` (no dep_time), `on_time` (arr_delay < 15), `delayed`
/// (15 <= arr_delay < 60), `severely_delayed` (arr_delay >= 60). A flight that departed but has no arrival
/// delay is fatal (a deliberate dead letter), and so is a record that has not been through `flights.weather`.
/// `weather_suspect` = delayed or severely delayed, weather present, and visib < 3 or precip > 0.1 or
/// wind_speed > 25 (a missing value never satisfies its condition).
public struct ClassifyDelay: CatenaFunction {
    public init() {}

    public func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
        try classify(try FlightRecord.decode(payload: payload)).jsonPayload()
    }

    /// Adds the `flights.classify` fields to `record`.
    /// - Throws: `StepFailure.fatal` when the flight departed but has no arrival delay, or when the record
    ///   has not been through `flights.weather`.
    public func classify(_ record: FlightRecord) throws -> FlightRecord {
        guard record.weatherKnown != nil else {
            throw StepFailure.fatal("record has not been through flights.weather (no weather_known field)")
        }
        var r = record
        let status: FlightStatus
        if r.depTime == nil {
            status = .cancelled
        } else if let delay = r.arrDelay {
            status = delay < 15 ? .onTime : delay < 60 ? .delayed : .severelyDelayed
        } else {
            throw StepFailure.fatal("departed but has no arrival delay (diverted or missing arrival data)")
        }
        r.status = status
        r.weatherSuspect = Self.isWeatherSuspect(status: status, weather: r.weather)
        return r
    }

    /// The `weather_suspect` rule.
    public static func isWeatherSuspect(status: FlightStatus, weather: WeatherObservation?) -> Bool {
        guard status == .delayed || status == .severelyDelayed, let w = weather else { return false }
        if let visib = w.visib, visib < 3 { return true }
        if let precip = w.precip, precip > 0.1 { return true }
        if let wind = w.windSpeed, wind > 25 { return true }
        return false
    }
}
