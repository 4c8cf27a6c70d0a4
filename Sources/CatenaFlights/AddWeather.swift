import Catena

/// `flights.weather`: adds the weather at the origin in the scheduled departure hour (origin, time_hour).
///
/// Parameter `data_dir` (required): the nycflights13 directory; weather.csv is loaded once when the function
/// is built. No weather row for that hour gives `weather: null` and `weather_known: false`; a row gives its
/// temp, wind_speed, wind_gust, precip and visib (each may be null).
public struct AddWeather: CatenaFunction {
    /// (origin, time_hour) → observation.
    public let weather: [WeatherKey: WeatherObservation]

    public init(weather: [WeatherKey: WeatherObservation]) {
        self.weather = weather
    }

    /// Loads weather.csv from `dataDir`.
    /// - Throws: `CatenaError.configuration` when the file is missing, unreadable or malformed.
    public init(dataDir: String) throws {
        self.init(weather: try ReferenceTables.loadWeather(dataDir: dataDir))
    }

    /// The factory: reads `data_dir` from the step parameters.
    public init(configuration: FunctionConfiguration) throws {
        try self.init(dataDir: try ReferenceTables.dataDirectory(configuration))
    }

    public func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
        try addWeather(to: try FlightRecord.decode(payload: payload)).jsonPayload()
    }

    /// Adds the `flights.weather` fields to `record`; never fails.
    public func addWeather(to record: FlightRecord) -> FlightRecord {
        var r = record
        r.weather = weather[WeatherKey(origin: r.origin, timeHour: r.timeHour)]
        r.weatherKnown = r.weather != nil
        return r
    }
}
