/*
 * The minimal relay `catena bench` compares Catena with: one process per step, written directly on
 * librdkafka, no framework. Consumes IN_TOPIC in consumer group GROUP, produces every record (key, value
 * and headers unchanged) to OUT_TOPIC, and commits the input offsets only after the broker has
 * acknowledged the batch's outputs (at-least-once). With --transactional ID each batch is instead one
 * Kafka transaction: outputs plus input offsets (exactly-once).
 *
 * With --envelope CHAIN/STEP it writes the envelope Catena writes instead of passing headers through: the
 * CloudEvents binary-mode attributes (ce_specversion, ce_id, ce_source, ce_type, ce_time, content-type if
 * the input has one, ce_correlationid = the key) and catena_chain, catena_step, catena_attempt, then the
 * input's other headers, then catena_worker: the same work per record as a Catena step, without Catena.
 *
 * usage: relay BROKERS IN_TOPIC OUT_TOPIC GROUP [--transactional ID] [--envelope CHAIN/STEP] [-C k=v]...
 *              [-P k=v]... [-X k=v]...
 *   -C consumer property, -P producer property, -X property for both (applied after the defaults).
 * SIGINT/SIGTERM: finish the batch, commit, leave the group, exit 0. Exits when its parent dies.
 * Built by `catena bench`: cc -O2 -o .build/bench/relay bench/relay.c $(pkg-config --cflags --libs rdkafka)
 */
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BATCH 500

static volatile sig_atomic_t running = 1;
static long failed_deliveries = 0;

static void on_signal(int sig) { (void)sig; running = 0; }

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk; (void)opaque;
    if (m->err) {
        failed_deliveries++;
        fprintf(stderr, "relay: delivery failed: %s\n", rd_kafka_err2str(m->err));
    }
}

static void set(rd_kafka_conf_t *conf, const char *kv) {
    char key[256], err[512];
    const char *eq = strchr(kv, '=');
    if (!eq || (size_t)(eq - kv) >= sizeof key) { fprintf(stderr, "relay: expected key=value, got %s\n", kv); exit(2); }
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = 0;
    if (rd_kafka_conf_set(conf, key, eq + 1, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "relay: %s: %s\n", kv, err);
        exit(2);
    }
}

static rd_kafka_t *client(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) { fprintf(stderr, "relay: rd_kafka_new: %s\n", err); exit(1); }
    return rk;
}

/* Exits unless `error` is NULL; an abortable transaction error returns 1 so the batch is redone. */
static int txn_check(rd_kafka_error_t *error, const char *what) {
    if (!error) return 0;
    fprintf(stderr, "relay: %s: %s\n", what, rd_kafka_error_string(error));
    int abortable = rd_kafka_error_txn_requires_abort(error);
    rd_kafka_error_destroy(error);
    if (!abortable) exit(1);
    return 1;
}

/* After an aborted transaction: move every assigned partition back to its committed offset. */
static void rewind_to_committed(rd_kafka_t *c) {
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(c, &assigned) || !assigned) exit(1);
    if (rd_kafka_committed(c, assigned, 10000)) exit(1);
    for (int i = 0; i < assigned->cnt; i++)
        if (assigned->elems[i].offset < 0) assigned->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(c, assigned, 10000);
    if (e) { fprintf(stderr, "relay: seek: %s\n", rd_kafka_error_string(e)); exit(1); }
    rd_kafka_topic_partition_list_destroy(assigned);
}

/* The envelope headers Catena writes for one output record (see --envelope). */
static rd_kafka_headers_t *envelope(const rd_kafka_message_t *m, const char *chain, const char *step,
                                    const char *source, const char *type, const char *worker) {
    rd_kafka_headers_t *in = NULL, *h = rd_kafka_headers_new(12);
    if (rd_kafka_message_headers(m, &in) != RD_KAFKA_RESP_ERR_NO_ERROR) in = NULL;
    char id[600], when[32];
    int klen = m->key_len > 512 ? 512 : (int)m->key_len;
    snprintf(id, sizeof id, "%.*s/%s", klen, m->key ? (const char *)m->key : "", step);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm t;
    gmtime_r(&tv.tv_sec, &t);
    size_t w = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &t);
    snprintf(when + w, sizeof when - w, ".%03ldZ", (long)(tv.tv_usec / 1000));
    rd_kafka_header_add(h, "ce_specversion", -1, "1.0", 3);
    rd_kafka_header_add(h, "ce_id", -1, id, (ssize_t)strlen(id));
    rd_kafka_header_add(h, "ce_source", -1, source, (ssize_t)strlen(source));
    rd_kafka_header_add(h, "ce_type", -1, type, (ssize_t)strlen(type));
    rd_kafka_header_add(h, "ce_time", -1, when, (ssize_t)strlen(when));
    const void *ct; size_t ctlen;
    if (in && rd_kafka_header_get_last(in, "content-type", &ct, &ctlen) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_header_add(h, "content-type", -1, ct, (ssize_t)ctlen);
    rd_kafka_header_add(h, "ce_correlationid", -1, m->key, (ssize_t)m->key_len);
    rd_kafka_header_add(h, "catena_chain", -1, chain, (ssize_t)strlen(chain));
    rd_kafka_header_add(h, "catena_step", -1, step, (ssize_t)strlen(step));
    rd_kafka_header_add(h, "catena_attempt", -1, "1", 1);
    const char *name; const void *value; size_t size;
    for (size_t i = 0; in && rd_kafka_header_get_all(in, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
        if (!strncmp(name, "ce_", 3) || !strncmp(name, "catena_", 7) || !strcmp(name, "content-type")) continue;
        rd_kafka_header_add(h, name, -1, value, (ssize_t)size);
    }
    rd_kafka_header_add(h, "catena_worker", -1, worker, (ssize_t)strlen(worker));
    return h;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: relay BROKERS IN_TOPIC OUT_TOPIC GROUP [--transactional ID] [-C k=v] [-P k=v] [-X k=v]\n");
        return 2;
    }
    const char *brokers = argv[1], *in = argv[2], *out = argv[3], *group = argv[4];
    /* Leave when the parent (catena bench) is gone: checked in the loop, not with PR_SET_PDEATHSIG, which fires
     * when the *thread* that started the relay exits (catena bench starts it from a pool thread, which may end
     * while the bench runs on: a relay was stopped mid-scenario that way). */
    pid_t parent = getppid();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    rd_kafka_conf_t *cc = rd_kafka_conf_new(), *pc = rd_kafka_conf_new();
    char kv[1024];
    snprintf(kv, sizeof kv, "bootstrap.servers=%s", brokers); set(cc, kv); set(pc, kv);
    snprintf(kv, sizeof kv, "group.id=%s", group); set(cc, kv);
    /* The same client settings as Catena's worker, so the comparison is of the code, not the tuning. */
    const char *consumer_defaults[] = {"enable.auto.commit=false", "enable.auto.offset.store=false",
        "auto.offset.reset=earliest", "partition.assignment.strategy=cooperative-sticky",
        "isolation.level=read_committed", "fetch.wait.max.ms=50", "session.timeout.ms=10000",
        "heartbeat.interval.ms=2000", "client.id=relay-c", NULL};
    const char *producer_defaults[] = {"enable.idempotence=true", "acks=all", "linger.ms=5",
        "batch.num.messages=10000", "queue.buffering.max.messages=500000", "compression.type=none",
        "client.id=relay-c", NULL};
    for (const char **p = consumer_defaults; *p; p++) set(cc, *p);
    for (const char **p = producer_defaults; *p; p++) set(pc, *p);
    const char *txn_id = NULL, *envelope_of = NULL;
    for (int i = 5; i < argc; i++) {
        if (i + 1 >= argc) { fprintf(stderr, "relay: %s needs a value\n", argv[i]); return 2; }
        if (!strcmp(argv[i], "--transactional")) txn_id = argv[++i];
        else if (!strcmp(argv[i], "--envelope")) envelope_of = argv[++i];
        else if (!strcmp(argv[i], "-C")) set(cc, argv[++i]);
        else if (!strcmp(argv[i], "-P")) set(pc, argv[++i]);
        else if (!strcmp(argv[i], "-X")) { set(cc, argv[i + 1]); set(pc, argv[++i]); }
        else { fprintf(stderr, "relay: unknown option %s\n", argv[i]); return 2; }
    }
    if (txn_id) { snprintf(kv, sizeof kv, "transactional.id=%s", txn_id); set(pc, kv); }
    char chain[256] = "", step[256] = "", source[600], type[600], worker[300];
    if (envelope_of) {
        const char *slash = strchr(envelope_of, '/');
        if (!slash) { fprintf(stderr, "relay: --envelope needs CHAIN/STEP\n"); return 2; }
        snprintf(chain, sizeof chain, "%.*s", (int)(slash - envelope_of), envelope_of);
        snprintf(step, sizeof step, "%s", slash + 1);
    }
    snprintf(source, sizeof source, "/catena/%s/%s", chain, step);
    snprintf(type, sizeof type, "dev.catena.%s.%s.output", chain, step);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    snprintf(worker, sizeof worker, "%s:%d", host, (int)getpid());
    rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);

    rd_kafka_t *p = client(RD_KAFKA_PRODUCER, pc);
    rd_kafka_t *c = client(RD_KAFKA_CONSUMER, cc);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(c);
    if (txn_id && txn_check(rd_kafka_init_transactions(p, 30000), "init_transactions")) return 1;
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, in, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) { fprintf(stderr, "relay: subscribe: %s\n", rd_kafka_err2str(err)); return 1; }
    fprintf(stderr, "relay: %s -> %s in group %s (%s)\n", in, out, group, txn_id ? "transactional" : "at-least-once");

    rd_kafka_message_t *msgs[BATCH];
    long relayed = 0;
    while (running && getppid() == parent) {
        ssize_t n = rd_kafka_consume_batch_queue(queue, 100, msgs, BATCH);
        if (n <= 0) { rd_kafka_poll(p, 0); continue; }
        if (txn_id) txn_check(rd_kafka_begin_transaction(p), "begin_transaction");
        rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(8);
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = msgs[i];
            if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) fprintf(stderr, "relay: consumer: %s\n", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                continue;
            }
            rd_kafka_headers_t *hdrs = NULL;
            if (envelope_of) hdrs = envelope(m, chain, step, source, type, worker);
            else if (rd_kafka_message_detach_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) hdrs = NULL;
            for (;;) {
                err = hdrs ? rd_kafka_producev(p, RD_KAFKA_V_TOPIC(out), RD_KAFKA_V_KEY(m->key, m->key_len),
                                               RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                               RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END)
                           : rd_kafka_producev(p, RD_KAFKA_V_TOPIC(out), RD_KAFKA_V_KEY(m->key, m->key_len),
                                               RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                               RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
                rd_kafka_poll(p, 10);
            }
            if (err) { fprintf(stderr, "relay: produce: %s\n", rd_kafka_err2str(err)); return 1; }
            rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(offsets, rd_kafka_topic_name(m->rkt), m->partition);
            if (!tp) tp = rd_kafka_topic_partition_list_add(offsets, rd_kafka_topic_name(m->rkt), m->partition);
            tp->offset = m->offset + 1;
            relayed++;
            rd_kafka_message_destroy(m);
        }
        if (txn_id) {
            rd_kafka_consumer_group_metadata_t *meta = rd_kafka_consumer_group_metadata(c);
            int aborted = txn_check(rd_kafka_send_offsets_to_transaction(p, offsets, meta, 30000), "send_offsets_to_transaction")
                       || txn_check(rd_kafka_commit_transaction(p, 30000), "commit_transaction");
            rd_kafka_consumer_group_metadata_destroy(meta);
            if (aborted) {
                txn_check(rd_kafka_abort_transaction(p, 30000), "abort_transaction");
                rewind_to_committed(c);
            }
        } else {
            /* At least once: every output acknowledged before the inputs' offsets are committed. */
            while (rd_kafka_flush(p, 1000) == RD_KAFKA_RESP_ERR__TIMED_OUT) {}
            if (failed_deliveries) { fprintf(stderr, "relay: %ld deliveries failed; exiting without committing\n", failed_deliveries); return 1; }
            rd_kafka_offsets_store(c, offsets);
            rd_kafka_commit(c, NULL, 1);
        }
        rd_kafka_topic_partition_list_destroy(offsets);
    }
    if (!txn_id) rd_kafka_commit(c, NULL, 0);
    rd_kafka_consumer_close(c);
    rd_kafka_queue_destroy(queue);
    rd_kafka_destroy(c);
    rd_kafka_flush(p, 10000);
    rd_kafka_destroy(p);
    fprintf(stderr, "relay: stopping: relayed %ld records\n", relayed);
    return 0;
}
