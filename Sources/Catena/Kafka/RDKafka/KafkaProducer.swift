import CRdKafka
import Foundation

/// A Kafka producer: owns one librdkafka producer handle and the thread that serves its delivery reports.
///
/// Defaults: idempotence on (so retries never reorder or duplicate a partition's records), `acks=all`,
/// a short linger for batching. `send(_:)` enqueues a batch and returns its delivery reports once the
/// broker has answered for every record.
public final class KafkaProducer: @unchecked Sendable {
    private let handle: OpaquePointer
    private let pollThread: Thread
    /// The handle, for the transactional calls in this folder.
    var rawHandle: OpaquePointer { handle }
    private let stopped = Atomic(false)

    /// Creates the producer. Throws when librdkafka refuses a property.
    public init(settings: KafkaSettings, properties: [String: String] = [:]) throws {
        var defaults: [String: String] = [
            "enable.idempotence": "true",
            "acks": "all",
            "linger.ms": "5",
            "batch.num.messages": "10000",
            "queue.buffering.max.messages": "500000",
            "queue.buffering.max.kbytes": "4096",  // a worker has one batch in flight; 4 MB holds a full one
            "message.max.bytes": "1000000",
            "compression.type": "none",
        ]
        for (k, v) in properties { defaults[k] = v }
        let conf = try RDKafkaConfig.make(settings.properties(defaults, for: .producer))
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
            guard let message, let opaque = message.pointee._private else { return }
            let err = message.pointee.err
            DeliveryBatch.complete(opaque: opaque, DeliveryReport(
                errorCode: err.rawValue,
                errorMessage: err == RD_KAFKA_RESP_ERR_NO_ERROR ? "" : String(cString: rd_kafka_err2str(err)),
                partition: message.pointee.partition,
                offset: message.pointee.offset))
        }
        let rk = try RDKafkaConfig.newClient(type: RD_KAFKA_PRODUCER, conf: conf)
        handle = rk
        let handleBits = UInt(bitPattern: rk)
        let stopFlag = stopped
        pollThread = Thread {
            let rk = OpaquePointer(bitPattern: handleBits)!
            while !stopFlag.load() { rd_kafka_poll(rk, 100) }
        }
        pollThread.name = "catena-producer-poll"
        pollThread.start()
    }

    deinit {
        rd_kafka_flush(handle, 10_000)
        stopped.store(true)
        while !pollThread.isFinished { usleep(1000) }
        rd_kafka_poll(handle, 0)
        rd_kafka_destroy(handle)
    }

    /// Sends `records` and waits for the broker's answer for each, in the same order.
    /// Records that librdkafka refuses at once (e.g. too large) get a failed report without reaching the broker.
    public func send(_ records: [OutgoingRecord]) async -> [DeliveryReport] {
        if records.isEmpty { return [] }
        let batch = DeliveryBatch(count: records.count)
        for (index, record) in records.enumerated() { enqueue(record, index: index, batch: batch) }
        return await batch.wait()
    }

    /// The producer's fatal error, if it has hit one (e.g. fenced): it cannot produce again and must be replaced.
    public var fatalError: String? {
        var errstr = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(handle, &errstr, errstr.count)
        return err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : errorText(errstr)
    }

    /// Waits up to `timeoutMs` for every queued record to be delivered; returns false on timeout.
    @discardableResult
    public func flush(timeoutMs: Int32 = 10_000) -> Bool {
        rd_kafka_flush(handle, timeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    // MARK: - Enqueueing

    private func enqueue(_ record: OutgoingRecord, index: Int, batch: DeliveryBatch) {
        while true {
            let error = produce(record, opaque: batch.opaque(for: index))
            guard let error else { return }
            let code = rd_kafka_error_code(error)
            if code == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                rd_kafka_error_destroy(error)
                rd_kafka_poll(handle, 10)  // let deliveries drain the local queue, then try again
                continue
            }
            let message = String(cString: rd_kafka_error_string(error))
            rd_kafka_error_destroy(error)
            batch.complete(index, DeliveryReport(errorCode: code.rawValue, errorMessage: message, partition: -1, offset: -1, refusedLocally: true))
            return
        }
    }

    /// One `rd_kafka_produceva` call; returns the error (owned by the caller) or nil.
    private func produce(_ record: OutgoingRecord, opaque: UnsafeMutableRawPointer) -> OpaquePointer? {
        let headers = rd_kafka_headers_new(record.headers.count)
        // Through the buffer, so each header is lent, not copied (a retain and release of its name and value).
        record.headers.withUnsafeBufferPointer { all in
            for i in all.indices {
                func add(_ name: UnsafePointer<CChar>, _ nameSize: Int) {
                    let added: Void? = all[i].value?.withUnsafeBytes { _ = rd_kafka_header_add(headers, name, nameSize, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), $0.count) }
                    if added == nil { _ = rd_kafka_header_add(headers, name, nameSize, nil, 0) }  // a null value
                }
                if let raw = all[i].rawName {
                    // A name that is not UTF-8 goes back as its own bytes.
                    raw.withUnsafeBytes { add($0.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count) }
                } else {
                    // withCString lends a small string from the stack; passing the String itself copies it to the heap.
                    all[i].name.withCString { add($0, -1) }
                }
            }
        }
        let error: OpaquePointer? = record.topic.withCString { topic in
            withOptionalBytes(record.key) { keyPtr, keyLen in
                withOptionalBytes(record.value) { valuePtr, valueLen in
                    withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 7) { vus in
                        vus.initialize(repeating: rd_kafka_vu_t())
                        vus[0].vtype = RD_KAFKA_VTYPE_TOPIC
                        vus[0].u.cstr = topic
                        vus[1].vtype = RD_KAFKA_VTYPE_PARTITION
                        vus[1].u.i32 = record.partition ?? RD_KAFKA_PARTITION_UA
                        vus[2].vtype = RD_KAFKA_VTYPE_KEY
                        vus[2].u.mem.ptr = keyPtr
                        vus[2].u.mem.size = keyLen
                        vus[3].vtype = RD_KAFKA_VTYPE_VALUE
                        vus[3].u.mem.ptr = valuePtr
                        vus[3].u.mem.size = valueLen
                        vus[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                        vus[4].u.i = RD_KAFKA_MSG_F_COPY
                        vus[5].vtype = RD_KAFKA_VTYPE_OPAQUE
                        vus[5].u.ptr = opaque
                        vus[6].vtype = RD_KAFKA_VTYPE_HEADERS
                        vus[6].u.headers = headers
                        return rd_kafka_produceva(handle, vus.baseAddress, 7)
                    }
                }
            }
        }
        if error != nil { rd_kafka_headers_destroy(headers) }  // ownership passes to librdkafka only on success
        return error
    }
}

/// Lends `bytes` as a (pointer, length) pair; a nil array lends a NULL pointer (Kafka's null), an empty
/// one a non-NULL pointer with length 0 (Kafka's empty value).
func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeMutableRawPointer?, Int) -> R) -> R {
    guard let bytes else { return body(nil, 0) }
    if bytes.isEmpty {
        var dummy: UInt8 = 0
        return withUnsafeMutablePointer(to: &dummy) { body(UnsafeMutableRawPointer($0), 0) }
    }
    return bytes.withUnsafeBytes { body(UnsafeMutableRawPointer(mutating: $0.baseAddress), $0.count) }
}
