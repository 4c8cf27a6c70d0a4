#!/usr/bin/env bash
# One step's worker alone, for profiling: a fresh Tansu on a free port, N records with the 11 envelope headers a
# Catena step writes (what every step after the first reads) in a 6-partition input topic, then one worker
# drains it in its consumer group; prints its CPU seconds per 100k records, steady rate and peak RSS, or, with
# --callgrind, the instructions it executed (valgrind), so two builds can be compared repeatably.
#
# usage: bench/worker-profile.sh MODE N [--callgrind] [--binary PATH]
#   MODE: alo | eos (catena worker --delivery at-least-once | exactly-once), relay | relay-env (bench/relay.c,
#         plain or writing the envelope; compiled by `catena bench` into .build/bench/relay)
#   Instructions per record of the work itself: run N=50000 and N=10000 and take the difference / 40000.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=$1 N=$2; shift 2
CALLGRIND=0 C="$ROOT/.build/release/catena"
while [ $# -gt 0 ]; do
  case $1 in --callgrind) CALLGRIND=1 ;; --binary) C=$2; shift ;; *) echo "unknown option $1" >&2; exit 2 ;; esac
  shift
done
PY="$ROOT/.deps/venv/bin/python"
WORK="$(mktemp -d /tmp/catena-profile-XXXXXX)"
PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
B="127.0.0.1:$PORT"
printf 'chain: p\npartitions: 6\nsteps:\n  - name: s1\n    function: builtin.identity\n' > "$WORK/chain.yaml"
"$ROOT/.deps/bin/tansu" broker --listener-url "tcp://$B" --advertised-listener-url "tcp://$B" --storage-engine memory://tansu/ > "$WORK/tansu.log" 2>&1 &
TANSU=$!
W=""
trap 'kill $W 2>/dev/null || true; kill -INT $TANSU 2>/dev/null || true; wait 2>/dev/null || true' EXIT
"$PY" - "$PORT" <<'PY'
import socket, sys, time
deadline = time.time() + 20
while True:
    try: socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5).close(); break
    except OSError:
        if time.time() > deadline: sys.exit("tansu did not start")
        time.sleep(0.02)
PY
"$C" topics --chain "$WORK/chain.yaml" --brokers "$B" > /dev/null
"$PY" - "$B" "$N" <<'PY'
import sys
from confluent_kafka import Producer
brokers, n = sys.argv[1], int(sys.argv[2])
p = Producer({"bootstrap.servers": brokers, "linger.ms": 20, "queue.buffering.max.messages": 1000000, "queue.buffering.max.kbytes": 1048576})
val = b"x" * 200
for i in range(n):
    k = b"k%d" % i
    h = [("ce_specversion", b"1.0"), ("ce_id", k + b"/s0"), ("ce_source", b"/catena/p/s0"), ("ce_type", b"dev.catena.p.s0.output"),
         ("ce_time", b"2026-12-04T06:00:00.000Z"), ("content-type", b"application/octet-stream"), ("ce_correlationid", k),
         ("catena_chain", b"p"), ("catena_step", b"s0"), ("catena_attempt", b"1"), ("catena_worker", b"host:123")]
    while True:
        try: p.produce("p.s1", val, k, headers=h); break
        except BufferError: p.poll(0.05)
    if i % 10000 == 0: p.poll(0)
p.flush(60)
PY
RUN=()
if [ "$CALLGRIND" = 1 ]; then RUN=(valgrind --tool=callgrind "--callgrind-out-file=$WORK/callgrind.out"); fi
case $MODE in
  alo|eos) "${RUN[@]}" "$C" worker --chain "$WORK/chain.yaml" --step s1 --brokers "$B" --delivery "$([ "$MODE" = alo ] && echo at-least-once || echo exactly-once)" > "$WORK/worker.log" 2>&1 & ;;
  relay) "${RUN[@]}" "$ROOT/.build/bench/relay" "$B" p.s1 p.output catena.p.s1 > "$WORK/worker.log" 2>&1 & ;;
  relay-env) "${RUN[@]}" "$ROOT/.build/bench/relay" "$B" p.s1 p.output catena.p.s1 --envelope p/s1 > "$WORK/worker.log" 2>&1 & ;;
  *) echo "MODE: alo, eos, relay or relay-env" >&2; exit 2 ;;
esac
W=$!
committed() {
  "$PY" - "$B" <<'PY'
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "catena.p.s1", "enable.auto.commit": False})
print(sum(max(tp.offset, 0) for tp in c.committed([TopicPartition("p.s1", i) for i in range(6)], timeout=10)))
c.close()
PY
}
start=$(date +%s.%N) t10="" c10=0
while true; do
  c=$(committed); now=$(date +%s.%N)
  if [ -z "$t10" ] && [ "$c" -ge $((N / 10)) ]; then t10=$now c10=$c; fi
  [ "$c" -ge "$N" ] && break
  if [ "$(echo "$now - $start > 600" | bc)" = 1 ]; then echo "timed out with $c of $N committed; see $WORK/worker.log" >&2; exit 1; fi
  sleep 0.2
done
if [ "$CALLGRIND" = 1 ]; then
  kill -TERM $W; wait $W 2>/dev/null || true; W=""
  ir=$(awk '/^summary:/ {print $2}' "$WORK/callgrind.out")
  echo "$MODE N=$N instructions=$ir per record=$((ir / N)) (callgrind output: $WORK/callgrind.out)"
else
  cpu=$(awk '{print ($14 + $15) / 100}' /proc/$W/stat)
  hwm=$(awk '/VmHWM/ {print $2 / 1024}' /proc/$W/status)
  echo "$MODE N=$N cpu_s=$cpu per100k=$(echo "scale=3; $cpu * 100000 / $N" | bc) steady_rate=$(echo "($N - $c10) / ($now - $t10)" | bc) peak_rss_mb=$hwm"
fi
