#!/usr/bin/env python3
"""What a POS vendor does with docs/openapi.yaml: generate a Python client with
openapi-python-client (run with the Python of the virtualenv it is installed in), check that it
made one model per enum and per object (no `..._type_2_type_1` classes), and run the README
walk-through's API calls through that client against the real `boomerang serve`: every call
gets the status, headers and body the README shows, parsed into the documented models.

usage: python tests/generated_client.py path/to/boomerang
"""

import importlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from readme_walkthrough import CARGO_RUN, blocks, http_message, same, wait_until_serving  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "boomerang_pos_client"
# The models a generator must make from the document, and no others.
MODELS = {
    "balance_response", "channel", "channel_consent_evidence", "consent", "consent_change", "consent_details",
    "consent_evidence", "consent_record", "customer_body", "error", "error_code", "error_detail",
    "expiring_points", "locale", "messages_on_day", "profile_view", "purchase_body", "purchase_response",
    "referral_check", "refund_body", "refund_response", "report", "report_trigger", "trigger_row", "verdict",
    # the owner's figures and the word-of-mouth report
    "burning", "points_month", "points_summary", "store_row", "nps_group", "nps_row", "nps_section", "nps_verdict",
    "referral_section", "top_referrer", "word_of_mouth_report", "survey_answer", "survey_answer_body",
    "survey_answer_form",
}


def generate(out_dir):
    """Generates the client package into out_dir; fails on any warning of the generator."""
    config = os.path.join(out_dir, "generator.yaml")
    with open(config, "w") as f:
        f.write("post_hooks: []\n")  # no formatter run: the code is only imported
    target = os.path.join(out_dir, PACKAGE)
    run = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "openapi-python-client"), "generate",
         "--path", os.path.join(ROOT, "docs", "openapi.yaml"), "--meta", "none",
         "--output-path", target, "--config", config],
        capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"the generator failed:\n{output}"
    assert "Warning" not in output and "Error" not in output, f"the generator warned:\n{output}"
    models = {name[:-3] for name in os.listdir(os.path.join(target, "models"))
              if name.endswith(".py") and name != "__init__.py"}
    clumsy = sorted(m for m in models if re.search(r"_type_\d", m))
    assert not clumsy, f"models per union member instead of one per field: {clumsy}"
    assert models == MODELS, f"models: extra {sorted(models - MODELS)}, missing {sorted(MODELS - models)}"
    sys.path.insert(0, out_dir)


# The checker covers the walk-through up to this heading. The referral section after it passes
# a code from one answer to the next request through the shell (`CODE=$(curl … | python3 …)`),
# which this curl stand-in cannot replay; tests/readme_walkthrough.py runs it with the real curl
# and tests/openapi.rs checks its routes against the document.
LAST_SECTION = "\n### Tell a friend\n"


def calls(readme, key):
    """The walk-through's curl calls with what the README shows for each:
    (method, path, JSON body or None, shown status line, shown headers, shown body)."""
    out = []
    pending = None
    assert LAST_SECTION in readme, f"the README has no {LAST_SECTION.strip()!r} section to stop at"
    for lang, body in blocks(readme.split(LAST_SECTION, 1)[0]):
        if lang == "sh" and "curl " in body:
            # The shell expands the command (the key, the time); a curl stand-in prints its argv.
            script = ('KEY="$1"\nNOW="$(date -Iseconds)"\n'
                      'curl() { python3 -c "import json, sys; print(json.dumps(sys.argv[1:]))" "$@"; }\n'
                      + body)
            run = subprocess.run(["bash", "-c", script, "walkthrough", key], capture_output=True, text=True,
                                 check=True)
            argv = json.loads(run.stdout)
            method = argv[argv.index("-X") + 1] if "-X" in argv else "GET"
            url = next(a for a in argv if a.startswith("http://"))
            data = json.loads(argv[argv.index("-d") + 1]) if "-d" in argv else None
            pending = (method, url.split("8080", 1)[1], data)
        elif lang == "sh":
            assert CARGO_RUN in body or " serve" in body, f"an unexpected command in the walk-through:\n{body}"
            pending = None
        elif lang == "http" and pending is not None:
            out.append(pending + http_message(body))
            pending = None
    assert len(out) >= 8, f"only {len(out)} API calls found in the README walk-through"
    return out


def main():
    binary = os.path.abspath(sys.argv[1])
    started = time.monotonic()
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp)
        client_module = importlib.import_module(PACKAGE)
        api = {name: importlib.import_module(f"{PACKAGE}.api.{group}.{name}") for group, name in [
            ("customers", "put_customer"), ("customers", "get_customer"), ("customers", "get_consent_evidence"),
            ("points", "post_purchase"), ("points", "post_refund"), ("points", "get_balance")]}
        models = importlib.import_module(f"{PACKAGE}.models")

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        data_dir = os.path.join(tmp, "data")
        env = dict(os.environ, BOOMERANG_DATA_DIR=data_dir, RUST_LOG="warn")
        key = subprocess.run([binary, "keys", "issue", "--terminal", "till-1"], env=env, capture_output=True,
                             text=True, check=True).stdout.strip()
        admin_key = subprocess.run([binary, "keys", "issue", "--terminal", "office", "--admin"], env=env,
                                   capture_output=True, text=True, check=True).stdout.strip()
        server = subprocess.Popen([binary, "serve", "--addr", str(port)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_serving(base)
            # An answer the document does not list for the operation raises UnexpectedStatus.
            client = client_module.AuthenticatedClient(base_url=base, token=key, raise_on_unexpected_status=True)
            checked = 0
            for method, path, data, status, headers, body in calls(readme, key):
                what = f"{method} {path}"
                m = re.fullmatch(r"/v1/customers/([^/]+)(/balance)?", path)
                if method == "PUT" and m and not m.group(2):
                    model = models.ProfileView
                    r = api["put_customer"].sync_detailed(m.group(1), client=client,
                                                          body=models.CustomerBody.from_dict(data))
                elif method == "GET" and m and m.group(2):
                    model = models.BalanceResponse
                    r = api["get_balance"].sync_detailed(m.group(1), client=client)
                elif method == "POST" and path == "/v1/purchases":
                    model = models.PurchaseResponse
                    r = api["post_purchase"].sync_detailed(client=client, body=models.PurchaseBody.from_dict(data))
                elif method == "POST" and path == "/v1/refunds":
                    model = models.RefundResponse
                    r = api["post_refund"].sync_detailed(client=client, body=models.RefundBody.from_dict(data))
                else:
                    raise SystemExit(f"{what}: no client call for it in this checker")
                code = int(status.split()[1])
                assert r.status_code == code, f"{what}: status {r.status_code}, the README shows {status}"
                for name, value in headers.items():
                    assert r.headers.get(name) == value, f"{what}: header {name}: {r.headers.get(name)!r}"
                assert ("idempotent-replayed" in r.headers) == ("idempotent-replayed" in headers), what
                model = models.Error if code >= 400 else model
                assert isinstance(r.parsed, model), f"{what}: parsed as {type(r.parsed).__name__}, not {model.__name__}"
                try:
                    same(json.loads(body), r.parsed.to_dict())
                except AssertionError as e:
                    raise SystemExit(f"{what} through the generated client differs from the README: {e}")
                checked += 1

            # The profile's enums and objects are the named models, not per-field unions.
            r = api["get_customer"].sync_detailed("card-1001", client=client)
            profile = r.parsed
            assert isinstance(profile, models.ProfileView), r
            assert profile.preferred_channel is models.Channel.EMAIL, profile.preferred_channel
            assert profile.locale is models.Locale.EN, profile.locale
            assert isinstance(profile.consent, models.Consent) and profile.consent.email is True
            # null clears an enum field, and comes back as None.
            r = api["put_customer"].sync_detailed("card-1001", client=client, body=models.CustomerBody(
                preferred_channel=None, consent=models.ConsentChange(sms=False)))
            assert r.status_code == 200 and r.parsed.preferred_channel is None, r
            assert r.parsed.consent.sms is False and r.parsed.consent.email is True, r.parsed
            # Each consent change is on record, and the evidence is for admin keys.
            details = r.parsed.consent_details
            assert isinstance(details, models.ConsentDetails) and isinstance(details.sms, models.ConsentRecord), details
            assert details.sms.granted is False and details.sms.source == "pos:till-1", details
            admin = client_module.AuthenticatedClient(base_url=base, token=admin_key, raise_on_unexpected_status=True)
            r = api["get_consent_evidence"].sync_detailed("card-1001", client=admin)
            assert r.status_code == 200 and isinstance(r.parsed, models.ConsentEvidence), r
            assert r.parsed.email.granted is True and r.parsed.email.withdrawn_by_customer is False, r.parsed
            r = api["get_consent_evidence"].sync_detailed("card-1001", client=client)
            assert r.status_code == 403 and isinstance(r.parsed, models.Error), r
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(os.path.join(tmp, PACKAGE), ignore_errors=True)
    print(f"generated client: {checked} walk-through calls passed, 0 failed ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
