#!/usr/bin/env python3
"""The NPS survey page in headless Chromium: a tap on 9 records 9.

    python3 tests/survey_browser.py path/to/boomerang

Against the real binary, on a fresh data directory: `serve` on a free loopback port, a
customer enrolled with email consent who bought yesterday, `sweep` (every purchaser asked,
email around the clock) writes the survey message to the outbox; the link from it is opened
in Chromium, which taps the "9" button of the page's form (a copy of the page with a click
added: the page itself has no script, so the form's own POST is what records the answer);
then the server is asked, without the browser, what the survey holds.

Chromium as tests/report_browser.py finds and runs it (fresh profile, no network but the
loopback server). Python standard library only."""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report_browser import Failure, check, find_chromium, run_chromium  # noqa: E402

# Clicks the score button once the page is there, as a finger would.
TAP = """<script>
window.addEventListener("load", () => {
  const button = document.querySelector('button[name="score"][value="9"]');
  button.dispatchEvent(new PointerEvent("pointerdown", {bubbles: true}));
  button.click();
});
</script>"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, key=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    if data:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, r.read().decode()


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="survey-browser-") as work:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        config = os.path.join(work, "program.toml")
        with open(config, "w") as f:
            f.write(f'[messaging]\nemail_window = "00:00-23:59"\nunsubscribe_base_url = "{base}"\n'
                    "[survey]\nsample_percent = 100\n")
        cli = [binary, "--data-dir", os.path.join(work, "data"), "--config", config]
        key = subprocess.run([*cli, "keys", "issue", "--terminal", "till-1"], check=True,
                             capture_output=True, text=True).stdout.strip()
        server = subprocess.Popen([*cli, "serve", "--addr", str(port)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            request("PUT", f"{base}/v1/customers/card-9", key,
                    {"email": "nine@example.com", "consent": {"email": True}, "locale": "en"})
            yesterday = datetime.now(timezone.utc) - timedelta(days=1)
            request("POST", f"{base}/v1/purchases", key, {
                "receipt_id": "R-9", "customer_id": "card-9", "amount": 150000, "currency": "RUB",
                "occurred_at": yesterday.isoformat(timespec="seconds"), "store_id": "moscow-1"})
            today = subprocess.run([*cli, "sweep", "--json"], check=True, capture_output=True, text=True)
            check(json.loads(today.stdout)["surveys"]["sent_email"] == 1, f"one survey sent: {today.stdout}")
            with open(os.path.join(work, "data", "outbox.jsonl")) as f:
                message = [json.loads(line) for line in f if json.loads(line)["kind"] == "survey"][-1]
            link = re.search(r"(http://\S+/v1/survey\?token=\S+)", message["text"]).group(1)
            status, page = request("GET", link)
            check(status == 200 and page.count('name="score"') == 11, "the page has eleven score buttons")
            check("<script" not in page, "the page itself has no script")

            # The page as the browser got it, with the tap added; its relative form action
            # resolves against the server, so the form's POST goes there.
            tapped = page.replace("<head>", f'<head><base href="{base}/v1/">', 1).replace("</body>", TAP + "</body>")
            copy = os.path.join(work, "survey.html")
            with open(copy, "w") as f:
                f.write(tapped)
            # On a loaded machine Chromium may dump the document while the form's navigation is
            # still in flight (an empty DOM): tapped again, as a person would; a second answer
            # within 7 days replaces the first, so the check below still asks for 9.
            for _ in range(3):
                dom = run_chromium(chromium, ["--dump-dom", "--virtual-time-budget=10000"], "file://" + copy)
                dom = dom.decode("utf-8", errors="replace")
                if dom.strip():
                    break
            check("Thank you for your answer!" in dom, f"Chromium ended on the thank-you page: {dom[:2000]}")
            check("<b>" in dom and "Tell a friend" in dom, "a promoter is invited with their code")

            status, after = request("GET", link)
            check("You answered 9" in after, f"the survey holds 9: {after[:2000]}")
        except Failure as e:
            print(f"survey_browser: FAIL: {e}", file=sys.stderr)
            return 1
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("survey_browser: a tap on 9 recorded 9; 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
