#!/usr/bin/env python3
"""End to end: the real Lambda binaries, run by `cargo lambda watch`, invoked with the sample
events of events/, against DynamoDB emulated by moto; asserts the answers and the table.

Needs AWS_ENDPOINT_URL (scripts/moto.sh start), `cargo lambda` on PATH and boto3 (the moto
virtualenv has both). Fails loudly when any of them is missing: it never skips."""

import copy
import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOMERANG = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/debug/boomerang")
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL")
if not ENDPOINT or not ENDPOINT.startswith("http://127.0.0.1"):
    sys.exit("lambda_e2e: AWS_ENDPOINT_URL must point at the local moto server (eval \"$(bash scripts/moto.sh start)\")")
try:
    import boto3
except ImportError:
    sys.exit("lambda_e2e: boto3 is missing: run this with the moto virtualenv's python")

TABLE = f"e2e-{uuid.uuid4().hex[:12]}"
failures = []
passed = 0


def check(name, condition, detail=""):
    global passed
    if condition:
        passed += 1
    else:
        failures.append(f"{name}: {detail}")
        print(f"FAIL {name}: {detail}", file=sys.stderr)


def cli(*args):
    out = subprocess.run([BOOMERANG, "--store", f"dynamodb:{TABLE}", *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"lambda_e2e: boomerang {' '.join(args)} failed: {out.stderr}")
    return out.stdout.strip()


def event(name):
    with open(os.path.join(ROOT, "events", name), encoding="utf-8") as f:
        return json.load(f)


def with_body(ev, **changes):
    ev = copy.deepcopy(ev)
    body = json.loads(ev["body"])
    body.update(changes)
    ev["body"] = json.dumps(body)
    return ev


class Watch:
    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = open(os.path.join(tempfile.gettempdir(), f"cargo-lambda-watch-{self.port}.log"), "w")
        self.proc = subprocess.Popen(
            ["cargo", "lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port", str(self.port),
             "--ignore-changes", "--env-var", f"BOOMERANG_TABLE={TABLE}"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)

    def invoke(self, function, payload):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(payload, f)
            path = f.name
        try:
            for attempt in range(120):
                out = subprocess.run(
                    ["cargo", "lambda", "invoke", function, "--invoke-address", "127.0.0.1",
                     "--invoke-port", str(self.port), "--data-file", path],
                    cwd=ROOT, capture_output=True, text=True)
                if out.returncode == 0:
                    return json.loads(out.stdout)
                if "onnection refused" not in out.stderr and "error sending request" not in out.stderr:
                    sys.exit(f"lambda_e2e: invoking {function} failed: {out.stderr}")
                time.sleep(0.5)  # watch is still starting
            sys.exit(f"lambda_e2e: cargo lambda watch did not answer (log: {self.log.name})")
        finally:
            os.unlink(path)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def api(watch, function, ev):
    answer = watch.invoke(function, ev)
    body = json.loads(answer["body"]) if answer.get("body") else None
    return answer["statusCode"], {k.lower(): v for k, v in answer.get("headers", {}).items()}, body


def main():
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    cli("tenant", "init", "--table", TABLE)
    key = cli("keys", "issue", "--terminal", "till-1")
    dynamo = boto3.client("dynamodb", endpoint_url=ENDPOINT, region_name=os.environ.get("AWS_REGION", "us-east-1"))
    watch = Watch()
    try:
        # The authorizer: a live key passes its terminal on; an unknown one is flagged.
        ev = event("authorizer/request.json")
        ev["headers"]["authorization"] = f"Bearer {key}"
        ev["identitySource"] = [f"Bearer {key}"]
        answer = watch.invoke("authorizer", ev)
        check("authorizer passes a live key", answer == {"isAuthorized": True, "context": {"authenticated": True, "terminal": "till-1", "admin": False}}, answer)
        answer = watch.invoke("authorizer", event("authorizer/request-unknown-key.json"))
        check("authorizer flags an unknown key", answer["context"] == {"authenticated": False}, answer)

        status, _, body = api(watch, "customers", event("customers/put-customer.json"))
        check("PUT customer is 201", status == 201 and body["customer_id"] == "card-1001", (status, body))

        purchase = with_body(event("purchases/post-purchase.json"), occurred_at=now)
        status, headers, first = api(watch, "purchases", purchase)
        check("purchase is 201", status == 201 and first == {"receipt_id": "R-0001", "customer_id": "card-1001", "points_earned": 125, "points_redeemed": 0, "balance": 125}, (status, first))
        status, headers, again = api(watch, "purchases", purchase)
        check("replay is 200 with the same body", status == 200 and again == first and headers.get("idempotent-replayed") == "true", (status, headers, again))
        status, _, body = api(watch, "purchases", with_body(event("purchases/post-purchase-conflict.json"), occurred_at=now))
        check("conflict is 409", status == 409 and body["error"]["code"] == "receipt_conflict", (status, body))
        status, _, body = api(watch, "purchases", with_body(event("purchases/post-purchase-with-spend.json"), occurred_at=now))
        check("spend is 201", status == 201 and body["balance"] == 70, (status, body))
        status, _, body = api(watch, "purchases", with_body(event("purchases/post-purchase-insufficient-points.json"), occurred_at=now))
        check("overspend is 422", status == 422 and body["error"]["code"] == "insufficient_points", (status, body))
        for name, code, error in [("post-purchase-bad-amount.json", 400, "invalid_field"),
                                  ("post-purchase-malformed-json.json", 400, "malformed_json"),
                                  ("post-purchase-revoked-key.json", 401, "unauthorized")]:
            status, _, body = api(watch, "purchases", event(f"purchases/{name}"))
            check(name, status == code and body["error"]["code"] == error, (status, body))
        status, _, body = api(watch, "purchases", with_body(event("purchases/post-refund.json"), occurred_at=now, customer_id="card-2002"))
        check("a refund naming another customer is 422", status == 422 and body["error"]["code"] == "receipt_customer_mismatch", (status, body))
        status, _, body = api(watch, "purchases", with_body(event("purchases/post-refund.json"), occurred_at=now))
        check("refund is 201", status == 201 and body["points_restored"] == 50 and body["points_clawed_back"] == 22 and body["balance"] == 98, (status, body))
        status, _, body = api(watch, "purchases", event("purchases/post-refund-unknown-receipt.json"))
        check("unknown receipt is 404", status == 404, (status, body))

        status, _, body = api(watch, "balance", event("balance/get-balance.json"))
        check("balance is 98", status == 200 and body["balance"] == 98, (status, body))
        status, _, body = api(watch, "balance", event("balance/get-customer-not-found.json"))
        check("unknown customer is 404", status == 404 and body["error"]["code"] == "customer_not_found", (status, body))
        status, _, body = api(watch, "balance", event("balance/get-balance-unauthenticated.json"))
        check("no principal is 401", status == 401, (status, body))

        # The table holds what the answers say.
        def item(pk, sk="#"):
            return dynamo.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True).get("Item")
        receipt = item("R#R-0001")
        check("the receipt is stored", receipt is not None and json.loads(receipt["rec"]["S"])["points_earned"] == 125, receipt)
        check("the refund is stored", item("F#F-0001") is not None, "no F#F-0001")
        customer = item("C#card-1001")
        record = json.loads(customer["rec"]["S"]) if customer else {}
        check("the customer record has version 4 (enroll, 2 purchases, refund)", customer is not None and customer["v"]["N"] == "4", customer and customer["v"])
        check("the customer's lots hold the balance", sum(record.get("account", {}).get("lots", {}).values()) == 98, record.get("account"))
        check("the last-purchase index key is set", customer is not None and customer.get("lp_pk", {}).get("S", "").startswith("LP#"), customer and customer.get("lp_pk"))

        status, _, _ = api(watch, "customers", event("customers/delete-customer.json"))
        check("DELETE is 204", status == 204, status)
        status, _, body = api(watch, "balance", event("balance/get-customer.json"))
        check("the erased profile has no contacts", status == 200 and body["erased"] is True and body["email"] is None and body["balance"] == 98, body)
        status, _, body = api(watch, "customers", event("customers/unsubscribe-one-click.json"))
        check("a forged unsubscribe token is 400", status == 400 and body["error"]["code"] == "invalid_token", (status, body))

        answer = watch.invoke("sweep", event("sweep/scheduled.json"))
        check("the sweep plans its local date", answer.get("date") == "2026-11-24", answer)
    finally:
        watch.stop()
    print(f"lambda_e2e: {passed} passed, {len(failures)} failed")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
