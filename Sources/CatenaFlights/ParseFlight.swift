import Catena

/// `flights.parse`: one raw flights.csv line (no header) in, a `FlightRecord` JSON out.
///
/// Needs no parameters. Every rejection is `StepFailure.fatal` (bad input never gets better); see
/// `FlightsFunctions` for the full list of rules.
public struct ParseFlight: CatenaFunction {
    /// The fixed column order of flights.csv.
    public static let columns = [
        "year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time", "sched_arr_time", "arr_delay",
        "carrier", "flight", "tailnum", "origin", "dest", "air_time", "distance", "hour", "minute", "time_hour",
    ]

    public init() {}

    public func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
        try parse(payload: payload).jsonPayload()
    }

    /// Parses a payload (UTF-8 bytes of one CSV line).
    /// - Throws: `StepFailure.fatal` describing the first problem found.
    public func parse(payload: [UInt8]) throws -> FlightRecord {
        guard let line = String(validating: payload, as: UTF8.self) else {
            throw StepFailure.fatal("payload is not valid UTF-8")
        }
        return try parse(line: line)
    }

    /// Parses one CSV line of flights.csv (trailing line breaks allowed).
    /// - Throws: `StepFailure.fatal` describing the first problem found.
    public func parse(line: String) throws -> FlightRecord {
        if line.allSatisfy({ $0 == "\n" || $0 == "\r" || $0 == " " || $0 == "\t" }) {
            throw StepFailure.fatal("empty payload: expected one CSV line of flights.csv")
        }
        let fields: [String?]
        do {
            fields = try CSVReader.parseRecord(line)
        } catch {
            throw StepFailure.fatal("malformed CSV line: \(error)")
        }
        guard fields.count == Self.columns.count else {
            throw StepFailure.fatal("expected \(Self.columns.count) fields (the flights.csv columns), found \(fields.count)")
        }
        if fields.elementsEqual(Self.columns, by: { $0 == $1 }) {
            throw StepFailure.fatal("payload is the flights.csv header line, not a flight")
        }
        let f = Fields(values: fields)
        let record = FlightRecord(
            year: try f.requiredInt(0),
            month: try f.requiredInt(1, in: 1...12),
            day: try f.requiredInt(2, in: 1...31),
            depTime: try f.optionalClock(3),
            schedDepTime: try f.requiredClock(4),
            depDelay: try f.optionalDouble(5),
            arrTime: try f.optionalClock(6),
            schedArrTime: try f.requiredClock(7),
            arrDelay: try f.optionalDouble(8),
            carrier: try f.requiredString(9),
            flight: try f.requiredInt(10),
            tailnum: f.optionalString(11),
            origin: try f.requiredString(12),
            dest: try f.requiredString(13),
            airTime: try f.optionalDouble(14),
            distance: try f.requiredDouble(15),
            hour: try f.requiredInt(16, in: 0...23),
            minute: try f.requiredInt(17, in: 0...59),
            timeHour: try f.requiredTimeHour(18))
        return record
    }

    /// Typed access to the fields of one line, with messages naming the column.
    private struct Fields {
        var values: [String?]

        func name(_ i: Int) -> String { ParseFlight.columns[i] }

        func requiredString(_ i: Int) throws -> String {
            guard let v = values[i] else { throw StepFailure.fatal("required field '\(name(i))' is missing (NA or empty)") }
            return v
        }

        func optionalString(_ i: Int) -> String? { values[i] }

        func requiredInt(_ i: Int, in range: ClosedRange<Int>? = nil) throws -> Int {
            let raw = try requiredString(i)
            guard let v = Int(raw) else { throw StepFailure.fatal("field '\(name(i))' is not an integer: '\(raw)'") }
            if let range, !range.contains(v) {
                throw StepFailure.fatal("field '\(name(i))' is out of range \(range.lowerBound)...\(range.upperBound): \(v)")
            }
            return v
        }

        /// A local clock time written `hhmm`: 0...2400 with minutes below 60 (2400 = midnight, as in the data).
        func requiredClock(_ i: Int) throws -> Int {
            let v = try requiredInt(i)
            guard (0...2400).contains(v), v % 100 < 60 else {
                throw StepFailure.fatal("field '\(name(i))' is not a clock time hhmm (0...2400, minutes < 60): \(v)")
            }
            return v
        }

        func optionalClock(_ i: Int) throws -> Int? {
            values[i] == nil ? nil : try requiredClock(i)
        }

        func requiredDouble(_ i: Int) throws -> Double {
            let raw = try requiredString(i)
            guard let v = Double(raw), v.isFinite else {
                throw StepFailure.fatal("field '\(name(i))' is not a finite number: '\(raw)'")
            }
            return v
        }

        func optionalDouble(_ i: Int) throws -> Double? {
            values[i] == nil ? nil : try requiredDouble(i)
        }

        /// A UTC hour `YYYY-MM-DDTHH:MM:SSZ` (digits checked, as in flights.csv and weather.csv).
        func requiredTimeHour(_ i: Int) throws -> String {
            let raw = try requiredString(i)
            let pattern = Array("dddd-dd-ddTdd:dd:ddZ".utf8)
            let bytes = Array(raw.utf8)
            let ok = bytes.count == pattern.count && zip(bytes, pattern).allSatisfy { b, p in
                p == UInt8(ascii: "d") ? (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) : b == p
            }
            guard ok else {
                throw StepFailure.fatal("field 'time_hour' is not a UTC time YYYY-MM-DDTHH:MM:SSZ: '\(raw)'")
            }
            return raw
        }
    }
}
