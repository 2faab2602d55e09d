//! The trigger report as one self-contained HTML page for a shop owner: inline CSS, inline
//! SVG charts, no scripts, no external fonts, images or links. Pure: it returns a String.
//!
//! The page holds, in order: an optional "SIMULATION — synthetic data" banner, how to read
//! it, a paragraph per trigger in plain words (what it does, the verdict and why, the next
//! step), the report table, and four charts, each an `<svg>` with a
//! `data-chart` attribute whose `rect`, `line` and `circle` elements are exactly the data
//! marks (class `mark`, with `data-trigger`/`data-date`, `data-series` and `data-value`);
//! axes and grid lines are `path`s, legends are HTML outside the SVG:
//!
//! * `data-chart="response"`: per trigger, the response rate of the messaged (`treated`)
//!   and the held out (`holdout`) as bars — one `rect` per group that is not empty — and
//!   below them the lift in percentage points with its 95 % Newcombe interval (the interval
//!   the verdict is read from, not the groups' own Wilson intervals): one `circle` (series
//!   `lift`) and one `line` (series `lift_ci`) per trigger with a lift.
//! * `data-chart="revenue"`: per trigger, the estimated extra revenue (series
//!   `incremental_revenue`, one `rect` when known, below the axis when negative) and the
//!   costs: gift points spent, expiring points spent, messages (series `cost`, always one `rect`).
//! * `data-chart="messages"`: per day of the period, stacked email and SMS messages sent:
//!   two `rect`s per day (series `email`, `sms`; zero height on a day without any).
//! * `data-chart="messages-by-trigger"`: the same days stacked by trigger: five `rect`s per
//!   day (series the trigger's name, in report order).

use std::fmt::Write;

use chrono::Datelike;

use crate::domain::config::ProgramConfig;
use crate::domain::kinds::TriggerKind;
use crate::domain::template::html_escape as escape;
use super::explain::{suggested_action, what_it_does, why_not_enough};
use super::{format_rate, row_title, Report, TriggerRow, Verdict};
use super::text::{currency_sign, format_amount, format_pp, signed, LineKind, MoneyStyle, NOTES};

const SIMULATION_LABEL: &str = "SIMULATION — synthetic data";
const WIDTH: f64 = 760.0;

/// The report page for the program `config` (its shop name, currency and trigger settings);
/// `simulation` labels the page "SIMULATION — synthetic data" in the title and at the top.
pub fn to_html(report: &Report, config: &ProgramConfig, simulation: bool) -> String {
    let shop = escape(&config.shop_name);
    // Money as people write it: `1 909 517 ₽`, whole units for estimates.
    let code = config.currency.as_str();
    let cur = escape(currency_sign(code));
    let period_days = report.period_days();
    let sim_prefix = if simulation { format!("{SIMULATION_LABEL} — ") } else { String::new() };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{sim_prefix}{shop}: trigger report {} to {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        report.from, report.to
    );
    if simulation {
        let _ = writeln!(h, "<div class=\"simulation\" role=\"note\">{SIMULATION_LABEL}</div>");
    }
    let _ = writeln!(h, "<header><h1>{shop}: do the triggers pay for themselves?</h1>");
    let _ = writeln!(
        h,
        "<p class=\"period\">Messages sent from {} to {}; gifts counted as expired up to {}. \
         All purchases in the period: {}, average check {}.</p></header>",
        report.from,
        report.to,
        report.today,
        report.all_purchases,
        report.all_avg_check_minor.map_or_else(|| "n/a".to_owned(), |v| amount(signed(v), code, false)),
    );

    let triggers: Vec<&TriggerRow> = report.rows.iter().filter(|r| r.trigger_kind().is_some()).collect();

    h.push_str("<section>\n<h2>How to read this</h2>\n<ul class=\"notes\">\n");
    for note in NOTES {
        let _ = writeln!(h, "<li>{}</li>", escape(note));
    }
    h.push_str("</ul>\n</section>\n");

    h.push_str("<section>\n<h2>In short</h2>\n<ul class=\"summary\">\n");
    for row in &report.rows {
        let mut item = summary(row, code);
        if let Some(kind) = row.trigger_kind() {
            let _ = write!(
                item,
                " <span class=\"does\">It works like this: {}.</span> <b class=\"next\">Next: {}.</b>",
                escape(&what_it_does(config, kind)),
                escape(&suggested_action(row, period_days))
            );
        }
        let _ = writeln!(h, "<li class=\"{}\">{item}</li>", verdict_class(row.verdict));
    }
    h.push_str("</ul>\n</section>\n");

    h.push_str("<section>\n<h2>The numbers</h2>\n<div class=\"scroll\"><table>\n<thead><tr><th></th>");
    for row in &report.rows {
        let _ = write!(h, "<th>{}</th>", escape(row_title(&row.trigger)));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for line in report.table_lines(currency_sign(code), MoneyStyle::Grouped) {
        let class = match line.kind {
            LineKind::Count => "count",
            LineKind::Detail => "detail",
            LineKind::Verdict => "verdict",
            LineKind::Money => "money",
        };
        let _ = write!(h, "<tr class=\"{class}\"><th scope=\"row\">{}</th>", escape(line.label.trim()));
        for (cell, row) in line.cells.iter().zip(&report.rows) {
            if line.kind == LineKind::Verdict {
                let _ = write!(h, "<td class=\"{}\">{}</td>", verdict_class(row.verdict), escape(cell));
            } else {
                let _ = write!(h, "<td>{}</td>", escape(cell));
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table></div>\n</section>\n");

    h.push_str(
        "<section>\n<h2>Who bought: messaged vs held out</h2>\n\
         <p class=\"legend\"><span class=\"key treated\"></span>messaged \
         <span class=\"key holdout\"></span>held out (control group) \
         — below: the lift in percentage points, the dot the estimate, the line its 95% interval; \
         a line wholly right of 0 means the trigger works.</p>\n",
    );
    h.push_str(&response_chart(&triggers));
    h.push_str("</section>\n");

    let _ = write!(
        h,
        "<section>\n<h2>Extra revenue and costs, {cur}</h2>\n\
         <p class=\"legend\"><span class=\"key incremental\"></span>extra revenue (estimate from the lift) \
         <span class=\"key cost\"></span>costs: gift points and expiring points spent, messages sent</p>\n"
    );
    h.push_str(&revenue_chart(&triggers, code));
    h.push_str("</section>\n");

    h.push_str(
        "<section>\n<h2>Messages sent per day</h2>\n\
         <p class=\"legend\"><span class=\"key email\"></span>email <span class=\"key sms\"></span>SMS</p>\n",
    );
    h.push_str(&messages_chart(&report.messages_per_day));
    h.push_str("<p class=\"legend\">By trigger:");
    for kind in TriggerKind::ALL {
        let _ = write!(h, " <span class=\"key {}\"></span>{}", kind.as_str(), escape(row_title(kind.as_str())));
    }
    h.push_str("</p>\n");
    h.push_str(&messages_by_trigger_chart(&report.messages_by_trigger));
    h.push_str("</section>\n");
    h.push_str(&super::sections::sections(report, code));
    h.push_str("</body>\n</html>\n");
    h
}

const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;max-width:84rem;padding:1rem;color:#1f2937;background:#fff}\
h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}\
.simulation{background:#b91c1c;color:#fff;font-weight:700;text-align:center;padding:.6rem;font-size:1.2rem;letter-spacing:.05em}\
.period{color:#4b5563}\
.scroll{overflow-x:auto}\
table{border-collapse:collapse;font-size:.9rem;font-variant-numeric:tabular-nums}\
th,td{padding:.25rem .4rem;border-bottom:1px solid #e5e7eb;text-align:right;white-space:nowrap}\
td{white-space:normal}\
thead th{border-bottom:2px solid #9ca3af;white-space:normal;vertical-align:bottom}\
tbody th{text-align:left;font-weight:400;white-space:normal;min-width:9rem}\
tr.detail th{padding-left:1.6rem;color:#4b5563}tr.detail td{color:#4b5563}\
tr.money th,tr.money td,tr.verdict th{font-weight:600}\
td.works,li.works::marker{color:#15803d}td.hurts,li.hurts::marker{color:#b91c1c}\
td.works,td.hurts,td.no-effect,td.not-enough{font-weight:700}\
td.no-effect{color:#4b5563}td.not-enough{color:#a16207}\
.summary li{margin:.3rem 0}\
.legend{font-size:.9rem;color:#4b5563}\
.key{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 .8rem;vertical-align:middle}\
.key.treated,.key.email{background:#2563eb}.key.holdout{background:#9ca3af}.key.sms{background:#7c3aed}\
.key.incremental{background:#16a34a}.key.cost{background:#f59e0b}\
svg{max-width:100%;height:auto;font-size:11px}svg text{fill:#374151}\
svg .grid{stroke:#e5e7eb}svg .axis{stroke:#6b7280}\
.treated{fill:#2563eb}.holdout{fill:#9ca3af}.email{fill:#2563eb}.sms{fill:#7c3aed}\
.lapsed_30{fill:#0ea5e9;background:#0ea5e9}.lapsed_60{fill:#6366f1;background:#6366f1}.lapsed_90{fill:#a855f7;background:#a855f7}\
.birthday{fill:#ec4899;background:#ec4899}.points_expiring{fill:#f59e0b;background:#f59e0b}\
.incremental{fill:#16a34a}.cost{fill:#f59e0b}\
circle.works{fill:#15803d}circle.hurts{fill:#b91c1c}circle.no-effect{fill:#4b5563}circle.not-enough{fill:#a16207}\
line.works{stroke:#15803d}line.hurts{stroke:#b91c1c}line.no-effect{stroke:#4b5563}line.not-enough{stroke:#a16207}\
line.mark{stroke-width:3}\
";

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Works => "works",
        Verdict::Hurts => "hurts",
        Verdict::NoMeasurableEffect => "no-effect",
        Verdict::NotEnoughData => "not-enough",
    }
}

/// One sentence in plain words about a row (already escaped).
fn summary(row: &TriggerRow, code: &str) -> String {
    let title = escape(row_title(&row.trigger));
    if row.eligible == 0 {
        return format!("<b>{title}:</b> nobody was eligible in this period.");
    }
    let window = row.attribution_days.map_or_else(|| "the trigger's window".to_owned(), |d| format!("{d} days"));
    let compare = format!(
        "{} of the {} customers messaged bought within {window}, against {} of the {} held out who could have been reached",
        format_rate(row.response_rate),
        row.treated,
        format_rate(row.holdout_response_rate),
        row.holdout_reachable
    );
    let lift = match (row.lift_pp, row.lift_ci_low_pp, row.lift_ci_high_pp) {
        (Some(l), Some(lo), Some(hi)) => {
            format!(" ({} percentage points, 95% interval {} to {})", format_pp(l), format_pp(lo), format_pp(hi))
        }
        _ => String::new(),
    };
    let costs = costs_in_words(row, code);
    let money = match (row.incremental_revenue_minor, row.net_minor) {
        (Some(inc), Some(net)) => {
            format!(" Estimated extra revenue {}, {costs}: net {}.", amount(inc, code, true), amount(net, code, true))
        }
        _ => format!(" {}.", capitalized(&costs)),
    };
    let head = match row.verdict {
        Verdict::Works => format!("<b>{title} works.</b> {compare}{lift}."),
        Verdict::Hurts => format!("<b>{title} hurts:</b> {compare}{lift}."),
        Verdict::NoMeasurableEffect => {
            format!("<b>{title}: no measurable effect.</b> {compare}{lift}; the difference may be chance.")
        }
        Verdict::NotEnoughData => format!(
            "<b>{title}: not enough data yet</b> ({}). {compare}{lift}.",
            escape(&why_not_enough(row).unwrap_or_else(|| "the groups are too small".to_owned()))
        ),
    };
    head + &money
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `v` (1 for nothing to show).
/// "gift points spent cost 120.00 RUB, messages 3.50 RUB": each cost the row has, in words.
fn costs_in_words(row: &TriggerRow, code: &str) -> String {
    let exact = |minor: u64| amount(signed(minor), code, false);
    let mut parts = vec![format!("gift points spent cost {}", exact(row.gift_cost_minor))];
    if row.reminded_points_cost_minor > 0 {
        parts.push(format!("expiring points spent {}", exact(row.reminded_points_cost_minor)));
    }
    parts.push(format!("messages {}", exact(row.message_cost_minor)));
    parts.join(", ")
}

/// An amount with its currency sign, escaped for the page.
fn amount(minor: i64, code: &str, estimate: bool) -> String {
    escape(&format_amount(minor, code, estimate))
}

/// Every cost the net subtracts.
fn all_costs(row: &TriggerRow) -> u64 {
    row.gift_cost_minor.saturating_add(row.reminded_points_cost_minor).saturating_add(row.message_cost_minor)
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn nice_ceiling(v: f64) -> f64 {
    if v.is_nan() || v <= 0.0 || v.is_infinite() {
        return 1.0;
    }
    let base = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * base).find(|c| *c >= v * (1.0 - 1e-12)).unwrap_or(10.0 * base)
}

fn svg_open(chart: &str, height: f64, label: &str) -> String {
    format!(
        "<svg data-chart=\"{chart}\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" \
         role=\"img\" aria-label=\"{}\">\n<title>{}</title>\n",
        escape(label),
        escape(label)
    )
}

fn hline(x1: f64, x2: f64, y: f64, class: &str) -> String {
    format!("<path class=\"{class}\" d=\"M{x1:.1} {y:.1}H{x2:.1}\"/>\n")
}

fn vline(x: f64, y1: f64, y2: f64, class: &str) -> String {
    format!("<path class=\"{class}\" d=\"M{x:.1} {y1:.1}V{y2:.1}\"/>\n")
}

fn text(x: f64, y: f64, anchor: &str, content: &str) -> String {
    format!("<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\">{}</text>\n", escape(content))
}

/// A bar from value 0 at `y0` to `y1`, as a rect with a tooltip.
#[allow(clippy::too_many_arguments)]
fn bar(x: f64, w: f64, y0: f64, y1: f64, class: &str, key_attr: &str, series: &str, value: &str, tip: &str) -> String {
    let (top, height) = if y1 <= y0 { (y1, y0 - y1) } else { (y0, y1 - y0) };
    format!(
        "<rect class=\"mark {class}\" {key_attr} data-series=\"{series}\" data-value=\"{}\" \
         x=\"{x:.1}\" y=\"{top:.1}\" width=\"{w:.1}\" height=\"{height:.1}\"><title>{}</title></rect>\n",
        escape(value),
        escape(tip)
    )
}

/// One trigger's place in a chart of two bars per trigger: its row, the centre of its group,
/// the bar width, its `data-trigger` attribute and its title.
struct BarGroup<'a> {
    row: &'a TriggerRow,
    cx: f64,
    bw: f64,
    key: String,
    title: &'a str,
}

/// The triggers' bar groups, side by side from `left` to `right`.
fn bar_groups<'a>(rows: &'a [&'a TriggerRow], left: f64, right: f64) -> impl Iterator<Item = BarGroup<'a>> {
    let group = (right - left) / rows.len().max(1) as f64;
    let bw = (group * 0.3).min(48.0);
    rows.iter().enumerate().map(move |(i, row)| BarGroup {
        row,
        cx: left + group * (i as f64 + 0.5),
        bw,
        key: format!("data-trigger=\"{}\"", escape(&row.trigger)),
        title: row_title(&row.trigger),
    })
}

fn response_chart(rows: &[&TriggerRow]) -> String {
    let (left, right, top, bottom) = (56.0, WIDTH - 16.0, 20.0, 200.0);
    let max_rate = rows
        .iter()
        .flat_map(|r| [r.response_rate, r.holdout_response_rate])
        .flatten()
        .fold(0.0f64, f64::max);
    let y_max = nice_ceiling(max_rate.max(0.1));
    let y = |rate: f64| bottom - rate / y_max * (bottom - top);

    let forest_top = 250.0;
    let row_h = 28.0;
    let height = forest_top + 20.0 + row_h * rows.len() as f64 + 24.0;
    let mut s = svg_open("response", height, "Response rate of messaged and held-out customers, and the lift with its 95% interval");
    for frac in [0.0, 0.5, 1.0] {
        let v = y_max * frac;
        s.push_str(&hline(left, right, y(v), if frac == 0.0 { "axis" } else { "grid" }));
        s.push_str(&text(left - 6.0, y(v) + 4.0, "end", &format!("{:.0}%", v * 100.0)));
    }
    for BarGroup { row: r, cx, bw, key, title } in bar_groups(rows, left, right) {
        for (rate, x, class, series, who, x_of, n_of) in [
            (r.response_rate, cx - bw - 2.0, "treated", "treated", "messaged", r.responders, r.treated),
            (r.holdout_response_rate, cx + 2.0, "holdout", "holdout", "held out", r.holdout_responders, r.holdout_reachable),
        ] {
            if let Some(rate) = rate {
                let tip = format!("{title}, {who}: {} ({x_of} of {n_of})", format_rate(Some(rate)));
                s.push_str(&bar(x, bw, y(0.0), y(rate), class, &key, series, &rate.to_string(), &tip));
            }
        }
        if r.response_rate.is_none() && r.holdout_response_rate.is_none() {
            s.push_str(&text(cx, bottom - 6.0, "middle", "no data"));
        }
        s.push_str(&text(cx, bottom + 16.0, "middle", title));
    }

    // The lift with its 95% interval, one row per trigger.
    let extent = rows
        .iter()
        .flat_map(|r| [r.lift_pp, r.lift_ci_low_pp, r.lift_ci_high_pp])
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let x_max = nice_ceiling(extent.max(5.0));
    let (fl, fr) = (180.0, WIDTH - 30.0);
    let x = |pp: f64| fl + (pp + x_max) / (2.0 * x_max) * (fr - fl);
    s.push_str(&text(fl, forest_top - 8.0, "start", "Lift, percentage points (95% interval)"));
    let (ft, fb) = (forest_top, forest_top + 20.0 + row_h * rows.len() as f64 - 12.0);
    s.push_str(&vline(x(0.0), ft, fb, "axis"));
    for v in [-x_max, -x_max / 2.0, x_max / 2.0, x_max] {
        s.push_str(&vline(x(v), ft, fb, "grid"));
    }
    for v in [-x_max, 0.0, x_max] {
        s.push_str(&text(x(v), fb + 14.0, "middle", &format_pp(v)));
    }
    for (i, r) in rows.iter().enumerate() {
        let cy = ft + 14.0 + row_h * i as f64;
        let title = row_title(&r.trigger);
        s.push_str(&text(fl - 8.0, cy + 4.0, "end", title));
        let key = format!("data-trigger=\"{}\"", escape(&r.trigger));
        let class = verdict_class(r.verdict);
        match (r.lift_pp, r.lift_ci_low_pp, r.lift_ci_high_pp) {
            (Some(l), Some(lo), Some(hi)) => {
                let tip = format!(
                    "{title}: lift {} pp, 95% interval {} to {} ({})",
                    format_pp(l),
                    format_pp(lo),
                    format_pp(hi),
                    r.verdict.words()
                );
                let _ = writeln!(
                    s,
                    "<line class=\"mark {class}\" {key} data-series=\"lift_ci\" data-value=\"{lo} {hi}\" \
                     x1=\"{:.1}\" y1=\"{cy:.1}\" x2=\"{:.1}\" y2=\"{cy:.1}\"><title>{}</title></line>",
                    x(lo),
                    x(hi),
                    escape(&tip)
                );
                let _ = writeln!(
                    s,
                    "<circle class=\"mark {class}\" {key} data-series=\"lift\" data-value=\"{l}\" \
                     cx=\"{:.1}\" cy=\"{cy:.1}\" r=\"5\"><title>{}</title></circle>",
                    x(l),
                    escape(&tip)
                );
            }
            _ => s.push_str(&text(x(0.0) + 8.0, cy + 4.0, "start", "no data")),
        }
    }
    s.push_str("</svg>\n");
    s
}

fn revenue_chart(rows: &[&TriggerRow], code: &str) -> String {
    let (left, right, top, bottom) = (80.0, WIDTH - 16.0, 20.0, 220.0);
    let values = rows
        .iter()
        .flat_map(|r| [r.incremental_revenue_minor.map(|v| v as f64), Some(all_costs(r) as f64)])
        .flatten();
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let hi = if hi > 0.0 || lo == 0.0 { nice_ceiling(hi) } else { 0.0 };
    let lo = if lo < 0.0 { -nice_ceiling(-lo) } else { 0.0 };
    let y = |v: f64| top + (hi - v) / (hi - lo) * (bottom - top);
    let height = bottom + 44.0;
    let mut s = svg_open("revenue", height, "Estimated extra revenue and costs (gift points, expiring points, messages) per trigger");
    for v in [lo, 0.0, hi] {
        s.push_str(&hline(left, right, y(v), if v == 0.0 { "axis" } else { "grid" }));
        s.push_str(&text(left - 6.0, y(v) + 4.0, "end", &MoneyStyle::Grouped.format(v as i64, true)));
    }
    for BarGroup { row: r, cx, bw, key, title } in bar_groups(rows, left, right) {
        match r.incremental_revenue_minor {
            Some(v) => {
                let tip = format!("{title}: extra revenue {}", amount(v, code, true));
                s.push_str(&bar(cx - bw - 2.0, bw, y(0.0), y(v as f64), "incremental", &key, "incremental_revenue", &v.to_string(), &tip));
            }
            None => s.push_str(&text(cx - bw / 2.0 - 2.0, y(0.0) - 4.0, "middle", "n/a")),
        }
        let cost = all_costs(r);
        let tip = format!("{title}: {}", costs_in_words(r, code));
        s.push_str(&bar(cx + 2.0, bw, y(0.0), y(cost as f64), "cost", &key, "cost", &cost.to_string(), &tip));
        s.push_str(&text(cx, bottom + 16.0, "middle", title));
        let net = r.net_minor.map_or_else(|| "net n/a".to_owned(), |v| format!("net {}", MoneyStyle::Grouped.format(v, true)));
        s.push_str(&text(cx, bottom + 32.0, "middle", &net));
    }
    s.push_str("</svg>\n");
    s
}

fn messages_chart(days: &[(chrono::NaiveDate, u64, u64)]) -> String {
    let days: Vec<(chrono::NaiveDate, Vec<u64>)> = days.iter().map(|(d, e, m)| (*d, vec![*e, *m])).collect();
    stacked_days_chart("messages", "Messages sent per day, email and SMS", &[("email", "email"), ("sms", "SMS")], &days)
}

/// The messages sent per day stacked by trigger: one `rect` per trigger and day (series the
/// trigger's name; zero height on a day it sent nothing).
fn messages_by_trigger_chart(days: &[(chrono::NaiveDate, [u64; 5])]) -> String {
    let series: Vec<(&str, &str)> = TriggerKind::ALL.iter().map(|k| (k.as_str(), row_title(k.as_str()))).collect();
    let days: Vec<(chrono::NaiveDate, Vec<u64>)> = days.iter().map(|(d, counts)| (*d, counts.to_vec())).collect();
    stacked_days_chart("messages-by-trigger", "Messages sent per day, by trigger", &series, &days)
}

/// Bars per day, each stacked from its `series` (name, which is also the CSS class, and the
/// words of its tooltip), with the date under every few bars: the year on the first label
/// and wherever it changes.
fn stacked_days_chart(chart: &str, label: &str, series: &[(&str, &str)], days: &[(chrono::NaiveDate, Vec<u64>)]) -> String {
    let (left, right, top, bottom) = (56.0, WIDTH - 16.0, 20.0, 200.0);
    let max = days.iter().map(|(_, values)| values.iter().sum::<u64>()).max().unwrap_or(0);
    let y_max = nice_ceiling(max.max(2) as f64);
    let y = |v: f64| bottom - v / y_max * (bottom - top);
    let mut s = svg_open(chart, bottom + 30.0, label);
    for frac in [0.0, 0.5, 1.0] {
        let v = y_max * frac;
        s.push_str(&hline(left, right, y(v), if frac == 0.0 { "axis" } else { "grid" }));
        s.push_str(&text(left - 6.0, y(v) + 4.0, "end", &format!("{v}")));
    }
    if days.is_empty() {
        s.push_str(&text((left + right) / 2.0, (top + bottom) / 2.0, "middle", "no days in the period"));
    }
    let step = (right - left) / days.len().max(1) as f64;
    let bw = (step * 0.8).max(0.5);
    let label_every = days.len().div_ceil(10).max(1);
    let mut labelled_year = None;
    for (i, (date, values)) in days.iter().enumerate() {
        let x = left + step * i as f64 + (step - bw) / 2.0;
        let key = format!("data-date=\"{date}\"");
        let mut below = 0.0;
        for ((name, words), value) in series.iter().zip(values) {
            let above = below + *value as f64;
            s.push_str(&bar(x, bw, y(below), y(above), name, &key, name, &value.to_string(), &format!("{date}: {value} {words}")));
            below = above;
        }
        if i % label_every == 0 {
            let year = Some(date.year());
            let format = if labelled_year == year { "%m-%d" } else { "%Y-%m-%d" };
            labelled_year = year;
            s.push_str(&text(x + bw / 2.0, bottom + 16.0, "middle", &date.format(format).to_string()));
        }
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests;
