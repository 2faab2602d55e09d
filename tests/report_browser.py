#!/usr/bin/env python3
"""Renders a Boomerang trigger report (the page `boomerang report --html FILE` or
`boomerang simulate ... --html FILE` writes) in headless Chromium and checks that its four
charts are really drawn; with `--digest`, the owner's digest email too (its HTML part, as
`boomerang digest --preview --html FILE` writes it): its text, table, report link and bars.

    python3 tests/report_browser.py REPORT.html [--png OUT.png] [--digest DIGEST.html [--digest-png OUT.png]]

Three Chromium runs, each with a fresh profile and no network:

1. `--dump-dom` of the page as it is: exactly four `svg[data-chart]` (response, revenue,
   messages, messages-by-trigger, whose bars add up to the day's messages) whose marks (`rect`, `line`, `circle` of class `mark`) are consistent: known
   series, one bar of each kind per trigger or day, a lift dot for every interval line,
   consecutive days, numeric `data-value`s.
2. `--dump-dom` of a copy with a probe script added at the end of the body (the report itself
   has no script): the laid-out box and the computed fill or stroke of every chart and mark,
   the page's height, the table's overflow.
3. `--screenshot` of the page as it is, as tall as the page, decoded here (zlib and struct, no
   imaging library): within each chart's box, every colour its visible marks are drawn in
   must show up in the pixels, in proportion to the marks' area, so a chart that lays out
   but paints nothing (no fill, unstyled black, hidden, off its box) fails. The series of a
   chart must have distinct colours, none of them black (SVG's default when CSS is lost).

The report must cover a period in which messages were sent (the response chart of an empty
report has no marks): `boomerang simulate --customers 500 --days 90 --seed 7 --html FILE`
makes one in seconds.

Needs Chromium: /usr/bin/chromium (Debian's `apt-get install -y chromium`), another
`chromium`/`chromium-browser`/`google-chrome` on the PATH, or the path in $CHROMIUM. Without
it the script fails (exit 2) and says so. `--png OUT.png` keeps the screenshot.
Python standard library only.
"""

import argparse
import html
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from datetime import date, timedelta
from html.parser import HTMLParser

WIDTH = 1000  # px: wider than the page's 60rem column, so the layout is the desktop one
MAX_HEIGHT = 16000  # px: a screenshot taller than this means the page went wrong anyway
TIMEOUT = 120  # s per Chromium run

# What keeps headless Chromium off the network and away from the real profile; the machine
# may have no internet, and Chromium's background connections are then refused at best.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--force-color-profile=srgb",
]

TRIGGERS = ["lapsed_30", "lapsed_60", "lapsed_90", "birthday", "points_expiring"]
CHARTS = ["response", "revenue", "messages", "messages-by-trigger"]
SERIES = {
    "response": {"treated", "holdout", "lift", "lift_ci"},
    "revenue": {"incremental_revenue", "cost"},
    "messages": {"email", "sms"},
    "messages-by-trigger": set(TRIGGERS),
}
# The series drawn as bars, one colour each, which must differ within a chart.
BAR_SERIES = {
    "response": ["treated", "holdout"],
    "revenue": ["incremental_revenue", "cost"],
    "messages": ["email", "sms"],
    "messages-by-trigger": TRIGGERS,
}

PROBE = r"""
<script>
(function () {
  function box(el) {
    var b = el.getBoundingClientRect();
    return {x: b.left + window.scrollX, y: b.top + window.scrollY, w: b.width, h: b.height};
  }
  var out = {
    inner_width: window.innerWidth,
    page_width: document.documentElement.scrollWidth,
    page_height: Math.max(document.documentElement.scrollHeight, document.body.scrollHeight),
    scrolls: [],
    charts: []
  };
  document.querySelectorAll('.scroll').forEach(function (s) {
    out.scrolls.push({client_width: s.clientWidth, scroll_width: s.scrollWidth});
  });
  document.querySelectorAll('svg[data-chart]').forEach(function (svg) {
    var chart = box(svg);
    chart.name = svg.getAttribute('data-chart');
    chart.marks = [];
    svg.querySelectorAll('.mark').forEach(function (m) {
      var cs = getComputedStyle(m);
      var mark = box(m);
      mark.tag = m.tagName.toLowerCase();
      mark.series = m.getAttribute('data-series');
      mark.fill = cs.fill;
      mark.stroke = cs.stroke;
      mark.stroke_width = parseFloat(cs.strokeWidth) || 0;
      mark.visible = cs.display !== 'none' && cs.visibility === 'visible' && parseFloat(cs.opacity) > 0 &&
        parseFloat(cs.fillOpacity) > 0;
      chart.marks.push(mark);
    });
    out.charts.push(chart);
  });
  var pre = document.createElement('pre');
  pre.id = 'layout-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


# ---------------------------------------------------------------------------------------------
# Chromium
# ---------------------------------------------------------------------------------------------


def find_chromium():
    candidates = [os.environ.get("CHROMIUM"), "/usr/bin/chromium"]
    candidates += [shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    print(
        "report_browser: FAIL: Chromium is not installed, so the report's charts cannot be checked.\n"
        "  Install it with: apt-get update && apt-get install -y chromium\n"
        "  (or set CHROMIUM to a Chromium or Chrome binary)",
        file=sys.stderr,
    )
    sys.exit(2)


def run_chromium(chromium, args, url):
    """Runs Chromium once with a fresh profile; returns its stdout (bytes)."""
    with tempfile.TemporaryDirectory(prefix="report-browser-profile-") as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, url]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Failure(f"Chromium did not finish within {TIMEOUT} s: {' '.join(cmd)}")
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace")[-3000:]
            raise Failure(f"Chromium exited with {done.returncode}: {' '.join(cmd)}\n{tail}")
        return done.stdout


def file_url(path):
    return "file://" + os.path.abspath(path)


# ---------------------------------------------------------------------------------------------
# The DOM
# ---------------------------------------------------------------------------------------------


class ChartParser(HTMLParser):
    """Collects every `svg[data-chart]` and the marks inside it."""

    def __init__(self):
        super().__init__()
        self.charts = []  # [(name, [attrs of each mark])]
        self.scripts = 0
        self._depth = 0  # nesting inside the current chart's svg

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if self._depth:
            if tag == "svg":
                self._depth += 1
            elif tag in ("rect", "line", "circle") and "mark" in (a.get("class") or "").split():
                self.charts[-1][1].append(dict(a, tag=tag))
        elif tag == "svg" and "data-chart" in a:
            self.charts.append((a["data-chart"], []))
            self._depth = 1

    def handle_endtag(self, tag):
        if self._depth and tag == "svg":
            self._depth -= 1


def numbers(text):
    try:
        return [float(v) for v in text.split()]
    except (AttributeError, ValueError):
        return None


def check_dom(dom):
    parser = ChartParser()
    parser.feed(dom)
    check(parser.scripts == 0, f"the report page runs {parser.scripts} script(s); it must be static")
    names = [name for name, _ in parser.charts]
    check(names == CHARTS, f"expected the charts {CHARTS} in this order, found svg[data-chart] {names}")
    charts = dict(parser.charts)
    summary = {}
    for name, marks in charts.items():
        check(marks, f"chart {name}: no marks at all (give a report over a period with messages sent)")
        for m in marks:
            series = m.get("data-series")
            check(series in SERIES[name], f"chart {name}: a {m['tag']} of unknown series {series!r}")
            values = numbers(m.get("data-value"))
            want = 2 if series == "lift_ci" else 1
            check(values is not None and len(values) == want, f"chart {name}: {series} data-value {m.get('data-value')!r}")
        summary[name] = {s: sum(1 for m in marks if m["data-series"] == s) for s in sorted(SERIES[name])}

    # Response: per trigger at most one bar per group, a dot for every interval line.
    response = charts["response"]
    tags = {"treated": "rect", "holdout": "rect", "lift": "circle", "lift_ci": "line"}
    for m in response:
        check(m["tag"] == tags[m["data-series"]], f"chart response: {m['data-series']} drawn as a {m['tag']}")
    per_trigger = {}
    for m in response:
        key = (m.get("data-trigger"), m["data-series"])
        per_trigger[key] = per_trigger.get(key, 0) + 1
    check(all(n == 1 for n in per_trigger.values()), f"chart response: a trigger has two marks of one series: {per_trigger}")
    check(summary["response"]["treated"] >= 1, "chart response: no bar of the messaged group")
    dots = {m.get("data-trigger") for m in response if m["data-series"] == "lift"}
    lines = {m.get("data-trigger") for m in response if m["data-series"] == "lift_ci"}
    check(dots == lines, f"chart response: lift dots for {sorted(dots)} but interval lines for {sorted(lines)}")
    check("total" not in {m.get("data-trigger") for m in response}, "chart response: the total is per trigger only")

    # Revenue: a cost bar for every trigger, extra revenue at most once.
    revenue = charts["revenue"]
    cost = [m.get("data-trigger") for m in revenue if m["data-series"] == "cost"]
    extra = [m.get("data-trigger") for m in revenue if m["data-series"] == "incremental_revenue"]
    check(len(cost) == len(set(cost)) >= 1, f"chart revenue: cost bars {cost}")
    check(len(extra) == len(set(extra)) and set(extra) <= set(cost), f"chart revenue: extra revenue bars {extra}")
    check({m.get("data-trigger") for m in response} <= set(cost), "chart revenue: fewer triggers than the response chart")
    check(all(m["tag"] == "rect" for m in revenue), "chart revenue: bars only")

    # Messages: an email and an SMS bar for each day, days consecutive.
    messages = charts["messages"]
    check(all(m["tag"] == "rect" for m in messages), "chart messages: bars only")
    days = [m.get("data-date") for m in messages if m["data-series"] == "email"]
    sms_days = [m.get("data-date") for m in messages if m["data-series"] == "sms"]
    check(days == sms_days and days, f"chart messages: email days {days[:3]}… and SMS days {sms_days[:3]}… differ")
    check(all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d or "") for d in days), "chart messages: a bar without a date")
    parsed = [date.fromisoformat(d) for d in days]
    check(all(b - a == timedelta(days=1) for a, b in zip(parsed, parsed[1:])), "chart messages: the days are not consecutive")

    # Messages by trigger: the same days, a bar per trigger, adding up to the day's messages.
    by_trigger = charts["messages-by-trigger"]
    check(all(m["tag"] == "rect" for m in by_trigger), "chart messages-by-trigger: bars only")
    per_day = {}
    for m in by_trigger:
        per_day.setdefault(m.get("data-date"), []).append(m["data-series"])
    check(list(per_day) == days, "chart messages-by-trigger: not the days of the messages chart")
    check(all(series == TRIGGERS for series in per_day.values()), "chart messages-by-trigger: not one bar per trigger and day, in report order")
    sent = {}
    for m in messages:
        sent[m.get("data-date")] = sent.get(m.get("data-date"), 0) + float(m["data-value"])
    split = {}
    for m in by_trigger:
        split[m.get("data-date")] = split.get(m.get("data-date"), 0) + float(m["data-value"])
    check(split == sent, "chart messages-by-trigger: a day's triggers do not add up to its email and SMS")
    check(sum(split.values()) > 0, "chart messages-by-trigger: no message in the period")
    return summary


# ---------------------------------------------------------------------------------------------
# Layout, colours and pixels
# ---------------------------------------------------------------------------------------------


def probe_layout(chromium, page, workdir):
    text = open(page, encoding="utf-8").read()
    check("</body>" in text, "the page has no </body>")
    probe_page = os.path.join(workdir, "probe.html")
    with open(probe_page, "w", encoding="utf-8") as f:
        f.write(text.replace("</body>", PROBE + "</body>", 1))
    dom = run_chromium(chromium, ["--dump-dom", f"--window-size={WIDTH},1000"], file_url(probe_page)).decode("utf-8")
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', dom, re.S)
    check(found, "the layout probe did not run (no #layout-probe in the dumped DOM)")
    return json.loads(html.unescape(found.group(1)))


def rgb(css):
    """`rgb(37, 99, 235)` → (37, 99, 235); None for `none`, transparency or anything else."""
    found = re.fullmatch(r"rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\)", (css or "").strip())
    if not found or (found.group(4) is not None and float(found.group(4)) == 0):
        return None
    return tuple(int(found.group(i)) for i in (1, 2, 3))


def paint(mark):
    """The colour a mark is drawn in and the area it should cover, in px²."""
    if mark["tag"] == "line":
        length = (mark["w"] ** 2 + mark["h"] ** 2) ** 0.5
        return rgb(mark["stroke"]), length * mark["stroke_width"]
    if mark["tag"] == "circle":
        return rgb(mark["fill"]), 3.14159 / 4 * mark["w"] * mark["h"]
    return rgb(mark["fill"]), mark["w"] * mark["h"]


def check_layout(layout):
    check(layout["inner_width"] == WIDTH, f"the viewport is {layout['inner_width']} px wide, not {WIDTH}")
    check(0 < layout["page_height"] <= MAX_HEIGHT, f"the page is {layout['page_height']} px tall")
    names = [c["name"] for c in layout["charts"]]
    check(names == CHARTS, f"laid-out charts {names}")
    colours = {}
    for chart in layout["charts"]:
        name = chart["name"]
        check(chart["w"] >= 300 and chart["h"] >= 100, f"chart {name} is {chart['w']:.0f}×{chart['h']:.0f} px")
        check(chart["x"] >= 0 and chart["x"] + chart["w"] <= layout["inner_width"] + 1, f"chart {name} is not within the page's width")
        by_series = {}
        for m in chart["marks"]:
            check(m["visible"], f"chart {name}: a {m['series']} mark is hidden or transparent")
            colour, _ = paint(m)
            check(colour is not None, f"chart {name}: a {m['series']} {m['tag']} has no colour ({m['fill']} / {m['stroke']})")
            check(colour != (0, 0, 0), f"chart {name}: a {m['series']} {m['tag']} is black, SVG's default: its CSS did not apply")
            inside = (
                m["x"] >= chart["x"] - 2
                and m["y"] >= chart["y"] - 2
                and m["x"] + m["w"] <= chart["x"] + chart["w"] + 2
                and m["y"] + m["h"] <= chart["y"] + chart["h"] + 2
            )
            check(inside, f"chart {name}: a {m['series']} mark lies outside the chart's box: {m}")
            by_series.setdefault(m["series"], set()).add(colour)
        for series in BAR_SERIES[name]:
            check(len(by_series.get(series, ())) <= 1, f"chart {name}: {series} bars in several colours {by_series[series]}")
        bars = [next(iter(by_series[s])) for s in BAR_SERIES[name] if s in by_series]
        check(len(bars) == len(set(bars)), f"chart {name}: the series {BAR_SERIES[name]} share a colour {bars}")
        colours[name] = {s: sorted(c) for s, c in by_series.items()}
    return colours


def read_png(path):
    """(width, height, rows of RGB bytes) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    data = open(path, "rb").read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    check(header is not None, "the PNG has no IHDR")
    width, height, depth, colour_type, _, _, interlace = header
    check(depth == 8 and colour_type in (2, 6) and interlace == 0, f"unsupported PNG: depth {depth}, colour type {colour_type}, interlace {interlace}")
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    check(len(raw) == height * (stride + 1), "the PNG's image data has the wrong size")
    rows, prev = [], bytes(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]
        if kind == 0:
            cur = line
        elif kind == 2:
            cur = bytes((a + b) & 255 for a, b in zip(line, prev))
        else:
            cur = bytearray(line)
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                if kind == 1:
                    cur[i] = (cur[i] + left) & 255
                elif kind == 3:
                    cur[i] = (cur[i] + ((left + prev[i]) >> 1)) & 255
                elif kind == 4:
                    up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    cur[i] = (cur[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
                else:
                    raise Failure(f"PNG filter type {kind} on row {y}")
            cur = bytes(cur)
        prev = cur  # the next row unfilters against this one, alpha included
        if bpp == 4:
            cur = bytes(b for i, b in enumerate(cur) if i % 4 != 3)
        rows.append(cur)
    return width, height, rows


def count_colour(rows, box, colour, tolerance=3):
    """Pixels in box (x, y, w, h) within `tolerance` of `colour` in every channel."""
    x0, y0 = max(int(box["x"]), 0), max(int(box["y"]), 0)
    x1, y1 = int(box["x"] + box["w"] + 1), int(box["y"] + box["h"] + 1)
    r, g, b = colour
    n = 0
    for row in rows[y0:y1]:
        segment = row[x0 * 3 : x1 * 3]
        for i in range(0, len(segment), 3):
            if abs(segment[i] - r) <= tolerance and abs(segment[i + 1] - g) <= tolerance and abs(segment[i + 2] - b) <= tolerance:
                n += 1
    return n


def check_pixels(layout, png):
    width, height, rows = read_png(png)
    check(width == WIDTH, f"the screenshot is {width} px wide, not {WIDTH}")
    check(height >= layout["page_height"], f"the screenshot ({height} px) is shorter than the page ({layout['page_height']} px)")
    seen = {}
    for chart in layout["charts"]:
        expected = {}
        for m in chart["marks"]:
            colour, area = paint(m)
            expected[colour] = expected.get(colour, 0.0) + area
        for colour, area in sorted(expected.items()):
            if area < 2:
                continue  # zero-height bars only: nothing to see
            found = count_colour(rows, chart, colour)
            seen[(chart["name"], colour)] = (found, area)
            check(
                found >= max(1, 0.25 * area),
                f"chart {chart['name']}: marks of colour rgb{colour} cover {area:.0f} px² but only {found} pixels "
                f"of that colour were painted in the chart's box",
            )
    return seen


# ---------------------------------------------------------------------------------------------
# The owner's digest email (its HTML part, as `boomerang digest --preview --html FILE` writes it)
# ---------------------------------------------------------------------------------------------

DIGEST_PROBE = r"""
<script>
(function () {
  var out = {inner_width: window.innerWidth, page_width: document.documentElement.scrollWidth,
             page_height: Math.max(document.documentElement.scrollHeight, document.body.scrollHeight), bars: []};
  document.querySelectorAll('[data-chart="digest-triggers"] .bar').forEach(function (b) {
    var r = b.getBoundingClientRect(), st = getComputedStyle(b);
    out.bars.push({series: b.getAttribute('data-series'), value: Number(b.getAttribute('data-value')),
                   x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height,
                   fill: st.backgroundColor, visible: st.visibility !== 'hidden' && st.display !== 'none'});
  });
  var pre = document.createElement('pre');
  pre.id = 'layout-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def check_digest(chromium, page, work, png_out):
    """The digest's HTML part: its text, its table of triggers, the report link, and its
    bars laid out in proportion and painted."""
    dom = run_chromium(chromium, ["--dump-dom", f"--window-size={WIDTH},1000"], file_url(page)).decode("utf-8")
    check("<script" not in dom, "the digest runs a script; an email must be static")
    table = re.search(r'<table[^>]*data-digest="triggers".*?</table>', dom, re.S)
    check(table, "the digest has no table of triggers")
    rows = re.findall(r"<tr[^>]*><th[^>]*>([^<]+)</th>", table.group(0).split("<tbody>")[1])
    check(len(rows) == 6, f"the digest's table has {len(rows)} rows, not 5 triggers and the total: {rows}")
    for what, pattern in [
        ("the liability", r'data-digest="points">[^<]*\d'),
        ("the word of mouth (NPS, referrals)", r'data-digest="word-of-mouth">[^<]*(survey|Net Promoter)[^<]*Tell a friend: \d'),
        ("the link to the report page", r'href="[^"]*/v1/reports/view\?token=[^"]+"'),
        ("the attached report's name", r"boomerang-report-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.html"),
    ]:
        check(re.search(pattern, dom), f"the digest does not show {what}")
    check("unsubscribe" not in dom.lower(), "the digest is not a marketing message: no unsubscribe link")

    text = open(page, encoding="utf-8").read()
    probe_page = os.path.join(work, "digest-probe.html")
    with open(probe_page, "w", encoding="utf-8") as f:
        f.write(text.replace("</body>", DIGEST_PROBE + "</body>", 1))
    probed = run_chromium(chromium, ["--dump-dom", f"--window-size={WIDTH},1000"], file_url(probe_page)).decode("utf-8")
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', probed, re.S)
    check(found, "the digest's layout probe did not run")
    layout = json.loads(html.unescape(found.group(1)))
    bars = layout["bars"]
    check(len(bars) == 10, f"the digest's chart has {len(bars)} bars, not a sent and a came-back bar per trigger")
    check(layout["page_width"] <= layout["inner_width"], "the digest scrolls sideways")
    widest = max(bars, key=lambda b: b["value"])
    check(widest["value"] > 0 and widest["w"] >= 50, f"the digest's longest bar is {widest['w']:.0f} px wide")
    for b in bars:
        check(b["visible"] and rgb(b["fill"]) not in (None, (0, 0, 0)), f"a digest bar ({b['series']}) has no colour: {b['fill']}")
        # Widths in proportion to the values, in whole percent of the longest (at least 1 %).
        want = max(b["value"] / widest["value"], 0.01) * widest["w"]
        check(abs(b["w"] - want) <= 0.01 * widest["w"] + 1, f"a digest bar of {b['value']} is {b['w']:.1f} px wide, not {want:.1f}")
    colours = {b["series"]: rgb(b["fill"]) for b in bars}
    check(colours["sent"] != colours["came_back"], "the digest's two series share a colour")

    png = os.path.join(work, "digest.png")
    height = min(int(layout["page_height"]) + 1, MAX_HEIGHT)
    run_chromium(chromium, [f"--screenshot={png}", f"--window-size={WIDTH},{height}"], file_url(page))
    _, _, pixels = read_png(png)
    for series in ("sent", "came_back"):
        drawn = [b for b in bars if b["series"] == series]
        area = sum(b["w"] * b["h"] for b in drawn)
        box = {"x": min(b["x"] for b in drawn), "y": min(b["y"] for b in drawn)}
        box["w"] = max(b["x"] + b["w"] for b in drawn) - box["x"]
        box["h"] = max(b["y"] + b["h"] for b in drawn) - box["y"]
        painted = count_colour(pixels, box, colours[series])
        check(painted >= 0.25 * area, f"the digest's {series} bars cover {area:.0f} px² but {painted} pixels were painted")
        print(f"digest: {series} bars painted {painted} px for {area:.0f} px²")
    if png_out:
        shutil.copyfile(png, png_out)
        print(f"digest screenshot: {png_out}")
    print(f"digest: {len(rows)} rows, {len(bars)} bars, page {layout['page_width']}×{layout['page_height']} px")


# ---------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", help="the HTML report to check")
    parser.add_argument("--png", help="keep the screenshot here")
    parser.add_argument("--digest", help="also check the owner's digest email (its HTML part)")
    parser.add_argument("--digest-png", help="keep the digest's screenshot here")
    args = parser.parse_args()
    if not os.path.isfile(args.report):
        print(f"report_browser: FAIL: no such file {args.report}", file=sys.stderr)
        return 2
    chromium = find_chromium()
    try:
        with tempfile.TemporaryDirectory(prefix="report-browser-") as work:
            dom = run_chromium(chromium, ["--dump-dom", f"--window-size={WIDTH},1000"], file_url(args.report))
            marks = check_dom(dom.decode("utf-8"))
            print(f"DOM: charts {', '.join(CHARTS)}; marks per series {json.dumps(marks)}")

            layout = probe_layout(chromium, args.report, work)
            colours = check_layout(layout)
            print(f"layout: page {layout['page_width']}×{layout['page_height']} px; colours {json.dumps(colours)}")
            # An owner reads the table on a 1,000 px page without scrolling sideways.
            for s in layout["scrolls"]:
                check(s["scroll_width"] <= s["client_width"],
                      f"the table is {s['scroll_width']} px wide in a {s['client_width']} px box: "
                      f"{s['scroll_width'] - s['client_width']} px of it scroll out of view")

            png = os.path.join(work, "report.png")
            height = min(int(layout["page_height"]) + 1, MAX_HEIGHT)
            run_chromium(chromium, [f"--screenshot={png}", f"--window-size={WIDTH},{height}"], file_url(args.report))
            check(os.path.isfile(png), "Chromium wrote no screenshot")
            seen = check_pixels(layout, png)
            for (chart, colour), (found, area) in sorted(seen.items()):
                print(f"pixels: {chart:8} rgb{colour}: {found} px painted for {area:.0f} px² of marks")
            if args.png:
                shutil.copyfile(png, args.png)
                print(f"screenshot: {args.png}")
            if args.digest:
                check(os.path.isfile(args.digest), f"no such file {args.digest}")
                check_digest(chromium, args.digest, work, args.digest_png)
    except Failure as e:
        print(f"report_browser: FAIL: {e}", file=sys.stderr)
        return 1
    print(f"report_browser: {2 if args.digest else 1} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
