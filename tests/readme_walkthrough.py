#!/usr/bin/env python3
"""Runs the README's curl walk-through against the real `boomerang` binary and checks that
every command prints what the README shows (times, expiry dates and referral codes, which
depend on the day it runs and on the tenant's secret, are compared by shape only).

An output block is `json` (the body only) or `http` (what `curl -i` prints: the status line,
the headers but `content-length` and `date`, which the README leaves out, then the body).
The status line and the set of headers must be exactly those shown."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

VARYING = {"created_at", "updated_at", "expires_on", "at"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# Referral codes are derived from the tenant's secret, new in every run: compared by shape.
CODES = {"referral_code", "code"}
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{6}$")
# Headers the README does not show: they change with the day or the body's exact bytes.
UNSHOWN = {"content-length", "date"}
# How the README runs the CLI; the checker runs the binary it is given instead.
CARGO_RUN = "cargo run -q -p boomerang --"


def blocks(readme):
    section = readme.split("## Walk-through", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w+)\n(.*?)```", section, re.S)


def http_message(text):
    """(status line, {header: value} with lower-case names, body) of an HTTP answer."""
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    status, *lines = head.strip("\n").split("\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status.strip(), headers, body


def same_answer(lang, expected, actual):
    """Checks an output block (json or http) against what the command printed."""
    if lang == "json":
        same(json.loads(expected), json.loads(actual))
        return
    status, headers, body = http_message(expected)
    got_status, got_headers, got_body = http_message(actual)
    assert got_status == status, f"status: expected {status!r}, got {got_status!r}"
    shown = {k: v for k, v in got_headers.items() if k not in UNSHOWN}
    assert shown == headers, f"headers: expected {headers}, got {shown}"
    same(json.loads(body), json.loads(got_body))


def same(expected, actual, path="$"):
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        assert set(expected) == set(actual), f"{path}: keys {sorted(actual)} != {sorted(expected)}"
        for k in expected:
            if k in VARYING and isinstance(expected[k], str):
                assert isinstance(actual[k], str) and DATE.match(actual[k]), f"{path}.{k}: {actual[k]!r}"
            elif k in CODES and isinstance(expected[k], str) and CODE.match(expected[k]):
                assert isinstance(actual[k], str) and CODE.match(actual[k]), f"{path}.{k}: {actual[k]!r}"
            else:
                same(expected[k], actual[k], f"{path}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(expected) == len(actual), f"{path}: {actual!r}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            same(e, a, f"{path}[{i}]")
    else:
        assert expected == actual, f"{path}: expected {expected!r}, got {actual!r}"


def wait_until_serving(base: str) -> None:
    """Polls the server until it answers HTTP (any status), for up to about 10 s."""
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/v1/unsubscribe", timeout=1)
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the server did not start")


def main():
    binary = os.path.abspath(sys.argv[1])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = os.path.join(tmp, "data")
        state = os.path.join(tmp, "state.sh")
        open(state, "w").close()
        env = dict(os.environ, BOOMERANG_DATA_DIR=data_dir, RUST_LOG="warn")
        server = subprocess.Popen([binary, "serve", "--addr", f"127.0.0.1:{port}"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_until_serving(base)
            checked = 0
            pending = None
            for lang, body in blocks(readme):
                if lang == "sh":
                    if " serve" in body:
                        continue  # the checker runs the server itself, on a free port
                    script = body.replace("http://127.0.0.1:8080", base).replace(CARGO_RUN, f'"{binary}"')
                    assert "boomerang " not in script.replace(f'"{binary}"', ""), \
                        f"the walk-through runs the CLI only as `{CARGO_RUN}`:\n{body}"
                    prelude = f'set -ea\nsource "{state}"\n'
                    epilogue = f'\nexport -p > "{state}.new" && mv "{state}.new" "{state}"\n'
                    run = subprocess.run(["bash", "-c", prelude + script + epilogue], env=env,
                                         capture_output=True, text=True, timeout=60)
                    assert run.returncode == 0, f"command failed:\n{body}\n{run.stderr}"
                    pending = (body, run.stdout)
                elif lang in ("json", "http") and pending is not None:
                    command, output = pending
                    try:
                        same_answer(lang, body, output)
                    except (AssertionError, json.JSONDecodeError, ValueError) as e:
                        raise SystemExit(f"README walk-through step differs:\n{command}\nprinted: {output}\n{e}")
                    checked += 1
                    pending = None
            if checked < 8:
                raise SystemExit(f"only {checked} walk-through outputs were found in the README")
            print(f"walkthrough: {checked} passed, 0 failed")
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
