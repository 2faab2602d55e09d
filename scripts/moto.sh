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

# moto's own server (`python -m moto.server`) with three changes, all for the tests' sake:
# 1. Requests are served one at a time. moto runs each request on its own thread with no lock
#    around a transaction's condition checks and writes, and undoes a cancelled transaction by
#    restoring a snapshot of the whole table, which can also undo another thread's committed
#    write. DynamoDB itself is serializable; the store's concurrency tests need that. Checked
#    with 50 tills spending at once from one customer through `boomerang serve --store
#    dynamodb:T`: on plain `python -m moto.server`, 2 runs of 3 answered distinct receipts as
#    replays and ended with a balance the successful answers did not imply; behind this lock,
#    5 runs of 5 ended with exactly the implied balance and every applied receipt still there.
#    Everything in the repository that needs moto (cargo test, tests/lambda_e2e.py,
#    scripts/bench, the README) starts it through this script.
# 2. That snapshot shares the items instead of deep-copying them. A deep copy costs time in
#    proportion to the table (~30 us an item), so 2,000 purchases on one table took minutes.
#    Puts, deletes and condition checks replace or remove items in the table's dicts and never
#    change an item in place, so a copy of the dicts restores the table exactly; an Update does
#    change its item in place, so the snapshot holds a deep copy of the items a transaction's
#    Updates name (the day book's counters are Updates in every purchase: a whole-table deep
#    copy there made the contract cases on moto several times slower).
# 3. Model objects are not tracked. moto keeps every item object it ever made (for its
#    dashboard, unused here), so its memory grew by gigabytes over one test run.
# 4. Less work per request, none of it visible to a client (measured with py-spy over the
#    DynamoDB contract cases, where these took about half of the server's time; the cases ran
#    in 470 s instead of 568 s):
#    - a Query of the table reads only its own partition, and no Query sorts the whole table
#      first (moto sorts what it found before answering anyway; a Query on an index still
#      looks at every item, as it must);
#    - the list of moto's services, which it reads from the disk on every request, is read once;
#    - no line per request in the log (errors are still logged).
PATCHED_SERVER='
import collections, copy, inspect, sys, threading
import moto.server
import moto.dynamodb.models as dynamodb
from moto.core.common_models import BaseModel
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.dynamo_type import DynamoType

BaseModel.__new__ = staticmethod(lambda cls, *args, **kwargs: object.__new__(cls))

lock = threading.Lock()

class Serialized(moto.server.DomainDispatcherApplication):
    def __call__(self, environ, start_response):
        with lock:
            # Drain the body under the lock too: a lazy one would run outside it.
            return list(super().__call__(environ, start_response))

class SnapshotCopy:
    share_items = False
    updated = ()
    def __getattr__(self, name):
        return getattr(copy, name)
    def deepcopy(self, value, memo=None):
        if self.share_items and isinstance(value, Table):
            snapshot = copy.copy(value)
            snapshot.items = collections.defaultdict(
                dict, {h: dict(r) if isinstance(r, dict) else r for h, r in value.items.items()}
            )
            for table_name, key in self.updated:
                if table_name != value.name:
                    continue
                h = DynamoType(key[value.hash_key_attr])
                if value.range_key_attr is None:
                    if h in snapshot.items:
                        snapshot.items[h] = copy.deepcopy(snapshot.items[h])
                    continue
                r = DynamoType(key[value.range_key_attr])
                rows = snapshot.items.get(h)
                if rows is not None and r in rows:
                    rows[r] = copy.deepcopy(rows[r])
            return snapshot
        return copy.deepcopy(value, memo)

snapshot_copy = SnapshotCopy()
dynamodb.copy = snapshot_copy
transact = dynamodb.DynamoDBBackend.transact_write_items

def transact_write_items(self, transact_items):
    snapshot_copy.share_items = True
    snapshot_copy.updated = [
        (op["Update"]["TableName"], op["Update"]["Key"]) for op in transact_items if "Update" in op
    ]
    try:
        return transact(self, transact_items)
    finally:
        snapshot_copy.share_items = False
        snapshot_copy.updated = ()

dynamodb.DynamoDBBackend.transact_write_items = transact_write_items

import moto.backends
import werkzeug.serving
services = list(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: services
werkzeug.serving.WSGIRequestHandler.log_request = lambda *args, **kwargs: None

class QueryScope(threading.local):
    active = False
    partition = None
query_scope = QueryScope()
every_item = Table.all_items

def all_items(self):
    if not query_scope.active:
        return every_item(self)
    if query_scope.partition is not None:
        rows = self.items.get(query_scope.partition)
        if rows is None:
            return []
        return list(rows.values()) if self.range_key_attr else [rows]
    return [item for rows in self.items.values() for item in (rows.values() if self.range_key_attr else [rows])]

table_query = Table.query
query_parameters = inspect.signature(table_query)

def query(self, hash_key, *args, **kwargs):
    index_name = query_parameters.bind(self, hash_key, *args, **kwargs).arguments.get("index_name")
    query_scope.active = True
    # A Query of the table itself names its partition; one of an index does not.
    query_scope.partition = hash_key if index_name is None and isinstance(hash_key, DynamoType) else None
    try:
        return table_query(self, hash_key, *args, **kwargs)
    finally:
        query_scope.active = False
        query_scope.partition = None

Table.all_items = all_items
Table.query = query
moto.server.DomainDispatcherApplication = Serialized
moto.server.main(sys.argv[1:])
'

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# True once the server answers HTTP on the port (its dashboard path, any status).
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
    local port pid log
    port="$(free_port)"
    # One log per server: several may run at once (parallel sessions, CI).
    log="${MOTO_LOG:-${TMPDIR:-/tmp}/boomerang-moto-$port.log}"
    # Detached from this shell (setsid) so that `eval "$(...)"` returns at once.
    MOTO_RECORDER_FILEPATH="${TMPDIR:-/tmp}/boomerang-moto-recording-$port" \
        setsid "$VENV/bin/python" -c "$PATCHED_SERVER" -H 127.0.0.1 -p "$port" >"$log" 2>&1 </dev/null &
    pid=$!
    for _ in $(seq 1 100); do
        if answers "$port"; then
            say "moto $MOTO_VERSION is listening on 127.0.0.1:$port (pid $pid, log $log)"
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
            say "the server exited at once; its log ($log) says:"
            cat "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    say "the server did not answer within 10 s; stopping it (log: $log)"
    kill "$pid" 2>/dev/null || true
    return 1
}

stop() {
    if [[ -z "${MOTO_PID:-}" ]]; then
        say "MOTO_PID is not set: nothing to stop"
        return 0
    fi
    if kill "$MOTO_PID" 2>/dev/null; then
        # Wait for it to go; a server still waiting on open connections after 5 s is killed.
        for _ in $(seq 1 50); do
            kill -0 "$MOTO_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$MOTO_PID" 2>/dev/null; then
            kill -KILL "$MOTO_PID" 2>/dev/null || true
        fi
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
