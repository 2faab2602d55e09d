#!/usr/bin/env bash
# A local DynamoDB emulator (moto) for the tests of shared/dynamodb.
#
#   eval "$(bash scripts/moto.sh start)"   # installs moto if needed, starts it, exports its address
#   cargo test -p boomerang-dynamodb
#   bash scripts/moto.sh stop              # stops the server named by $MOTO_PID
#
# `start` prints only `export` lines on stdout (progress goes to stderr), so `eval` is safe.
# The server listens on 127.0.0.1 only; nothing here ever talks to AWS.
set -euo pipefail

MOTO_VERSION="5.2.5"
VENV="${BOOMERANG_VENV:-.venv-moto}"
LOG="${MOTO_LOG:-${TMPDIR:-/tmp}/boomerang-moto.log}"

say() { echo "moto.sh: $*" >&2; }

ensure_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        say "creating virtualenv $VENV"
        python3 -m venv "$VENV" >&2
    fi
    local have
    have="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true)"
    # flask is what the server extra brings; without it moto imports but cannot serve.
    if [[ "$have" != "$MOTO_VERSION" ]] || ! "$VENV/bin/python" -c 'import flask, flask_cors' 2>/dev/null; then
        say "installing moto[server]==$MOTO_VERSION into $VENV"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
    fi
}

# moto's own server (`python -m moto.server`), with one change: requests are served one at a
# time. moto runs each request on its own thread without a lock around a transaction's
# condition checks and writes, and undoes a cancelled transaction by restoring a snapshot of
# the whole table, which can also undo another thread's committed write. DynamoDB itself is
# serializable; the store's concurrency tests need the emulator to be too.
SERIALIZED_SERVER='
import sys, threading
import moto.server

lock = threading.Lock()
dispatcher = moto.server.DomainDispatcherApplication

class Serialized(dispatcher):
    def __call__(self, environ, start_response):
        with lock:
            # Drain the body under the lock too: a lazy one would run outside it.
            return list(super().__call__(environ, start_response))

moto.server.DomainDispatcherApplication = Serialized
moto.server.main(sys.argv[1:])
'

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# True once the server answers HTTP on the port (any status: moto's root path says 200 or 404).
answers() {
    "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=1)
except urllib.error.HTTPError:
    pass
PY
}

start() {
    ensure_venv
    local port pid
    port="$(free_port)"
    # Detached from this shell (setsid) so that `eval "$(...)"` returns at once.
    setsid "$VENV/bin/python" -c "$SERIALIZED_SERVER" -H 127.0.0.1 -p "$port" >"$LOG" 2>&1 </dev/null &
    pid=$!
    for _ in $(seq 1 100); do
        if answers "$port"; then
            say "moto $MOTO_VERSION is listening on 127.0.0.1:$port (pid $pid, log $LOG)"
            cat <<EOF
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export MOTO_PID=$pid
EOF
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            say "the server exited at once; its log ($LOG) says:"
            cat "$LOG" >&2
            return 1
        fi
        sleep 0.1
    done
    say "the server did not answer within 10 s; stopping it (log: $LOG)"
    kill "$pid" 2>/dev/null || true
    return 1
}

stop() {
    if [[ -z "${MOTO_PID:-}" ]]; then
        say "MOTO_PID is not set: nothing to stop"
        return 0
    fi
    if kill "$MOTO_PID" 2>/dev/null; then
        say "stopped moto (pid $MOTO_PID)"
    else
        say "no process $MOTO_PID (already stopped?)"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: bash scripts/moto.sh start|stop" >&2
        exit 2
        ;;
esac
