#!/usr/bin/env bash
# The test command: installs what is missing (scripts/setup.sh), builds, starts a local Tansu broker on a
# free port, runs the unit and integration tests against it, and stops the broker.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh --no-build

echo "[test] swift build (debug, with tests)" >&2
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] ' || true
swift build --build-tests >/dev/null

LOGS="$(mktemp -d /tmp/catena-test-XXXXXX)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$ROOT/.deps/bin/tansu" broker --listener-url "tcp://127.0.0.1:$PORT" --advertised-listener-url "tcp://127.0.0.1:$PORT" \
  --storage-engine memory://tansu/ >"$LOGS/tansu.log" 2>&1 &
TANSU_PID=$!
cleanup() {
  kill -INT "$TANSU_PID" 2>/dev/null || true
  wait "$TANSU_PID" 2>/dev/null || true
}
trap cleanup EXIT

# Wait for the broker to listen (condition with a deadline).
python3 - "$PORT" <<'PY'
import socket, sys, time
deadline = time.time() + 20
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5).close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("tansu did not start listening within 20 s")
        time.sleep(0.02)
PY
echo "[test] Tansu listening on 127.0.0.1:$PORT (log: $LOGS/tansu.log)" >&2

export CATENA_TEST_BROKERS="127.0.0.1:$PORT"
export CATENA_BIN="$(swift build --show-bin-path)/catena"
export CATENA_TEST_LOGS="$LOGS"
set +e
swift test --skip-build "$@" 2>&1 | tee "$LOGS/swift-test.log"
rc=${PIPESTATUS[0]}
set -e
total="$(grep -oE 'Test run with [0-9]+ tests?' "$LOGS/swift-test.log" | grep -oE '[0-9]+' | tail -n1 || true)"
failed="$(grep -E '^✘ Test .* failed after' "$LOGS/swift-test.log" | grep -cv '^✘ Test run with' || true)"
echo "[test] logs in $LOGS" >&2
if [ -n "$total" ]; then echo "tests: $((total - failed)) passed, $failed failed"; fi
exit "$rc"
