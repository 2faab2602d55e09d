//! The report as a shop owner reads it: money in major units, rates in percent, the verdict
//! in words; the terminal table, whose lines the HTML page shows too.

use super::{Report, TriggerRow};

/// Money in minor units as major units with 2 decimals: `-1234.50`.
pub fn format_money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

pub(crate) fn format_money_u(minor: u64) -> String {
    format_money(signed(minor))
}

/// An unsigned amount as the signed one the formatters take (never above `i64::MAX`).
pub(crate) fn signed(minor: u64) -> i64 {
    i64::try_from(minor).unwrap_or(i64::MAX)
}

/// How money is written: plainly for the terminal, CSV readers and scripts (`-1234.50`), or
/// as people write it for a page an owner reads (`1 909 517`: digits grouped by no-break
/// spaces, whole units for estimates, kopecks only where the amount is exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyStyle {
    Plain,
    Grouped,
}

impl MoneyStyle {
    /// `minor` in this style; an `estimate` is rounded to whole units when grouped.
    pub fn format(self, minor: i64, estimate: bool) -> String {
        match self {
            MoneyStyle::Plain => format_money(minor),
            MoneyStyle::Grouped => format_grouped(minor, estimate),
        }
    }
    fn format_u(self, minor: u64, estimate: bool) -> String {
        self.format(signed(minor), estimate)
    }
}

fn format_grouped(minor: i64, whole: bool) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    // Whole units round halves away from zero, like the estimates themselves.
    let (units, cents) = if whole { ((abs + 50) / 100, None) } else { (abs / 100, Some(abs % 100)) };
    let digits = units.to_string();
    let mut grouped = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('\u{a0}');
        }
        grouped.push(d);
    }
    match cents {
        Some(c) => format!("{sign}{grouped}.{c:02}"),
        None => format!("{sign}{grouped}"),
    }
}

/// The sign people write for a currency (`₽` for RUB), else its ISO code.
pub fn currency_sign(code: &str) -> &str {
    match code {
        "RUB" => "₽",
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "KZT" => "₸",
        "UAH" => "₴",
        other => other,
    }
}

/// An amount with its currency as an owner reads it: `1 909 517 ₽`, `2 126.00 ₽`.
pub fn format_amount(minor: i64, currency: &str, estimate: bool) -> String {
    format!("{}\u{a0}{}", format_grouped(minor, estimate), currency_sign(currency))
}

/// A fraction as a percentage with one decimal: `12.3%`; `n/a` for none.
pub fn format_rate(rate: Option<f64>) -> String {
    rate.map_or_else(|| "n/a".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// Percentage points, signed, one decimal: `+3.4`.
pub(crate) fn format_pp(pp: f64) -> String {
    // -0.0 and tiny negatives print as 0.0, not -0.0.
    let pp = if pp.abs() < 0.05 { 0.0 } else { pp };
    format!("{pp:+.1}")
}

/// The title a shop owner reads for a row's `trigger`.
pub fn row_title(trigger: &str) -> &str {
    match trigger {
        "lapsed_30" => "Lapsed 30 days",
        "lapsed_60" => "Lapsed 60 days",
        "lapsed_90" => "Lapsed 90 days",
        "birthday" => "Birthday",
        "points_expiring" => "Points expiring",
        "total" => "All triggers",
        other => other,
    }
}

/// Which line of the shared table a [`TableLine`] is (the HTML styles some).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineKind {
    Count,
    Detail,
    Verdict,
    Money,
}

/// One line of the report table: a label and one cell per row (trigger columns).
pub(crate) struct TableLine {
    pub label: String,
    pub kind: LineKind,
    pub cells: Vec<String>,
}

impl Report {
    /// The table both the terminal and the HTML page show: metrics down, triggers across.
    pub(crate) fn table_lines(&self, currency: &str, style: MoneyStyle) -> Vec<TableLine> {
        let na = || "n/a".to_owned();
        let estimate = |v: Option<i64>| v.map_or_else(na, |v| style.format(v, true));
        let exact = |v: u64| style.format_u(v, false);
        let money_u = |v: Option<u64>| v.map_or_else(na, exact);
        let line = |label: String, kind: LineKind, f: &dyn Fn(&TriggerRow) -> String| TableLine {
            label,
            kind,
            cells: self.rows.iter().map(f).collect(),
        };
        let c = currency;
        vec![
            line("Eligible customers".into(), LineKind::Count, &|r| r.eligible.to_string()),
            line("  held out".into(), LineKind::Detail, &|r| r.holdout.to_string()),
            line("    of them reachable (control group)".into(), LineKind::Detail, &|r| r.holdout_reachable.to_string()),
            line("  sent by email".into(), LineKind::Detail, &|r| r.sent_email.to_string()),
            line("  sent by SMS".into(), LineKind::Detail, &|r| r.sent_sms.to_string()),
            line("  unreachable".into(), LineKind::Detail, &|r| r.unreachable.to_string()),
            line("  failed".into(), LineKind::Detail, &|r| r.failed.to_string()),
            line("  unknown (cut off mid-send)".into(), LineKind::Detail, &|r| r.unknown.to_string()),
            line("  still pending".into(), LineKind::Detail, &|r| r.pending.to_string()),
            line("  kept back by the contact rules".into(), LineKind::Detail, &|r| r.capped.to_string()),
            line("  too late to send (expired)".into(), LineKind::Detail, &|r| r.expired.to_string()),
            line("  stopped: bought or spent first".into(), LineKind::Detail, &|r| r.cancelled.to_string()),
            line("  stopped: no longer reachable".into(), LineKind::Detail, &|r| r.suppressed.to_string()),
            line("Window, days after sending".into(), LineKind::Detail, &|r| {
                r.attribution_days.map_or_else(|| "mixed".to_owned(), |d| d.to_string())
            }),
            line("Bought (messaged)".into(), LineKind::Count, &|r| format!("{} of {}", r.responders, r.treated)),
            line("  response rate".into(), LineKind::Detail, &|r| format_rate(r.response_rate)),
            line("Bought (held out)".into(), LineKind::Count, &|r| {
                format!("{} of {}", r.holdout_responders, r.holdout_reachable)
            }),
            line("  response rate".into(), LineKind::Detail, &|r| format_rate(r.holdout_response_rate)),
            line("Lift, percentage points".into(), LineKind::Count, &|r| r.lift_pp.map_or_else(na, format_pp)),
            line("  95% confidence interval".into(), LineKind::Detail, &|r| {
                match (r.lift_ci_low_pp, r.lift_ci_high_pp) {
                    (Some(l), Some(h)) => format!("{} to {}", format_pp(l), format_pp(h)),
                    _ => na(),
                }
            }),
            line("Verdict".into(), LineKind::Verdict, &|r| r.verdict.words().to_owned()),
            line(format!("Revenue of responders, {c}"), LineKind::Money, &|r| exact(r.responder_revenue_minor)),
            line(format!("  their average check, {c}"), LineKind::Detail, &|r| money_u(r.responder_avg_check_minor)),
            line(format!("  average check, all purchases, {c}"), LineKind::Detail, &|r| {
                money_u(r.all_avg_check_minor)
            }),
            line(format!("Extra revenue (estimate), {c}"), LineKind::Money, &|r| estimate(r.incremental_revenue_minor)),
            line("Gift points credited".into(), LineKind::Count, &|r| r.gift_points_credited.to_string()),
            line("  redeemed".into(), LineKind::Detail, &|r| r.gift_points_redeemed.to_string()),
            line("  expired".into(), LineKind::Detail, &|r| r.gift_points_expired.to_string()),
            line(format!("Cost of redeemed gifts, {c}"), LineKind::Money, &|r| exact(r.gift_cost_minor)),
            line(format!("Cost of expiring points spent, {c}"), LineKind::Money, &|r| {
                exact(r.reminded_points_cost_minor)
            }),
            line(format!("Cost of the messages, {c}"), LineKind::Money, &|r| exact(r.message_cost_minor)),
            line(format!("Net (extra revenue - costs), {c}"), LineKind::Money, &|r| estimate(r.net_minor)),
        ]
    }

    /// A terminal table: metrics down, triggers across, money in major units with 2
    /// decimals (`currency` names them), the verdict in words, then how to read it.
    pub fn to_table(&self, currency: &str) -> String {
        let lines = self.table_lines(currency, MoneyStyle::Plain);
        let headers: Vec<&str> = self.rows.iter().map(|r| row_title(&r.trigger)).collect();
        let width = |s: &str| s.chars().count();
        let label_w = lines.iter().map(|l| width(&l.label)).max().unwrap_or(0);
        let col_w: Vec<usize> = (0..headers.len())
            .map(|i| lines.iter().map(|l| width(&l.cells[i])).chain([width(headers[i])]).max().unwrap_or(0))
            .collect();
        let pad_left = |s: &str, w: usize| format!("{}{s}", " ".repeat(w.saturating_sub(width(s))));
        let pad_right = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(width(s))));

        let mut out = String::new();
        out.push_str(&format!("Trigger report, messages sent {} to {}\n", self.from, self.to));
        out.push_str(&format!(
            "All purchases in the period: {}, average check {} {currency}\n\n",
            self.all_purchases,
            self.all_avg_check_minor.map_or_else(|| "n/a".to_owned(), format_money_u)
        ));
        let mut header = pad_right("", label_w);
        for (h, w) in headers.iter().zip(&col_w) {
            header.push_str("  ");
            header.push_str(&pad_left(h, *w));
        }
        out.push_str(header.trim_end());
        out.push('\n');
        out.push_str(&"-".repeat(label_w + col_w.iter().map(|w| w + 2).sum::<usize>()));
        out.push('\n');
        for line in &lines {
            let mut text = pad_right(&line.label, label_w);
            for (cell, w) in line.cells.iter().zip(&col_w) {
                text.push_str("  ");
                text.push_str(&pad_left(cell, *w));
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out.push('\n');
        for note in NOTES {
            out.push_str(note);
            out.push('\n');
        }
        out
    }
}

/// Lines of (label, cells) as aligned text: labels left, cells right-aligned in columns.
pub(crate) fn plain_table(lines: &[(String, Vec<String>)]) -> String {
    let width = |s: &str| s.chars().count();
    let label_w = lines.iter().map(|(l, _)| width(l)).max().unwrap_or(0);
    let columns = lines.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
    let col_w: Vec<usize> = (0..columns)
        .map(|i| lines.iter().filter_map(|(_, c)| c.get(i)).map(|c| width(c)).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (label, cells) in lines {
        let mut text = format!("{label}{}", " ".repeat(label_w - width(label)));
        for (cell, w) in cells.iter().zip(&col_w) {
            text.push_str("  ");
            text.push_str(&" ".repeat(w.saturating_sub(width(cell))));
            text.push_str(cell);
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// How to read the table, in plain words (terminal and HTML).
pub(crate) const NOTES: [&str; 6] = [
    "Bought: the customer made a purchase from the send date until the window closes (window days after sending, send day included). The control group was held out: same conditions, no message, no gift.",
    "Lift, in percentage points: how many more customers out of 100 bought because of the message (the share of the messaged who bought minus the share of the held out). The 95% interval is the range the true lift lies in with 95% confidence: the smaller the groups, the wider it is (Newcombe hybrid score method).",
    "Verdict: 'works' if the whole interval is above 0, 'hurts' if below 0, 'no measurable effect' if it contains 0, 'not enough data' with fewer than 30 customers or fewer than 5 buyers or non-buyers in either group.",
    "Extra revenue is an estimate: lift x customers messaged x revenue per buyer. It is only as sure as the lift.",
    "Costs: gift points actually spent, at the value of a point (expired gift points cost nothing); for the points-expiring warning, the points it was about that the warned customers spent (they would have burned); and every message sent, at the program's email and SMS prices.",
    "Refunded amounts are subtracted; a purchase refunded in full does not count. A customer messaged twice counts twice.",
];

#[cfg(test)]
mod tests {
    use crate::domain::config::ProgramConfig;
    use crate::domain::kinds::TriggerKind;
    use crate::domain::triggers::OutcomeStatus;
    use crate::report::fixtures::*;
    use super::*;

    #[test]
    fn the_table_shows_money_in_major_units_and_the_verdict_in_words() {
        let cfg = ProgramConfig::defaults();
        let mut outcomes = Vec::new();
        let mut receipts = Vec::new();
        for (prefix, status, x) in [("a", OutcomeStatus::Sent, 60), ("b", OutcomeStatus::Holdout, 10)] {
            let (o, r) = group(prefix, TriggerKind::Birthday, "2026-11-02", status, 100, x, 123_456);
            outcomes.extend(o);
            receipts.extend(r);
        }
        let table = run(&cfg, "2026-11-01", "2026-11-30", "2026-12-31", &outcomes, &receipts).to_table("RUB");
        assert!(table.contains("Birthday") && table.contains("All triggers"), "{table}");
        assert!(table.contains("1234.56"), "{table}");
        assert!(table.contains("works") && table.contains("not enough data"), "{table}");
        assert!(table.contains("60 of 100") && table.contains("60.0%") && table.contains("+50.0"), "{table}");
        assert!(table.contains(", RUB"));
        assert_eq!(format_money(-5), "-0.05");
        assert_eq!(format_money(123_456), "1234.56");
        assert_eq!(format_pp(-0.0001), "+0.0");
    }
}
