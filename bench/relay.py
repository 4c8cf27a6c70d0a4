"""The relay chain step users would write with Python's confluent-kafka, for `catena bench`.

The straightforward at-least-once loop: consume a batch, produce each record (key, value, headers
unchanged) to the next topic, flush (wait for every acknowledgement), then commit the consumed offsets.

usage: relay.py BROKERS IN_TOPIC OUT_TOPIC GROUP [-C k=v]... [-P k=v]... [-X k=v]...
  -C consumer property, -P producer property, -X property for both (applied after the defaults).
SIGINT/SIGTERM: finish the batch, commit, leave the group, exit 0. Exits when its parent dies.
"""
import os
import signal
import sys

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    brokers, in_topic, out_topic, group = argv[:4]
    consumer_conf = {
        "bootstrap.servers": brokers,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        "isolation.level": "read_committed",
        "fetch.wait.max.ms": 50,
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 2000,
        "client.id": "relay-py",
    }
    producer_conf = {
        "bootstrap.servers": brokers,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "batch.num.messages": 10000,
        "queue.buffering.max.messages": 500000,
        "client.id": "relay-py",
    }
    rest = argv[4:]
    for flag, kv in zip(rest[::2], rest[1::2]):
        key, _, value = kv.partition("=")
        if flag in ("-C", "-X"):
            consumer_conf[key] = value
        if flag in ("-P", "-X"):
            producer_conf[key] = value

    # Leave when the parent (catena bench) is gone, checked in the loop (PR_SET_PDEATHSIG would fire when the
    # pool thread that started this process exits), and stop cleanly on SIGINT/SIGTERM.
    parent = os.getppid()
    running = True

    def stop(signum, frame):
        nonlocal running
        running = False

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    failures = []

    def on_delivery(err, msg):
        if err is not None:
            failures.append(err)

    producer_conf["on_delivery"] = on_delivery
    consumer = Consumer(consumer_conf)
    producer = Producer(producer_conf)
    consumer.subscribe([in_topic])
    print(f"relay.py: {in_topic} -> {out_topic} in group {group}", file=sys.stderr)
    relayed = 0
    while running and os.getppid() == parent:
        msgs = consumer.consume(num_messages=500, timeout=0.1)
        if not msgs:
            continue
        for msg in msgs:
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    print(f"relay.py: consumer: {msg.error()}", file=sys.stderr)
                continue
            while True:
                try:
                    producer.produce(out_topic, msg.value(), msg.key(), headers=msg.headers())
                    break
                except BufferError:
                    producer.poll(0.01)
            relayed += 1
        producer.flush()
        if failures:
            print(f"relay.py: {len(failures)} deliveries failed ({failures[0]}); exiting without committing", file=sys.stderr)
            return 1
        consumer.commit(asynchronous=True)
    try:
        consumer.commit(asynchronous=False)
    except KafkaException:
        pass  # nothing consumed since the last commit
    consumer.close()
    producer.flush(10)
    print(f"relay.py: stopping: relayed {relayed} records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
