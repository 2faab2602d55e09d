//! The report's NPS section: per month (of the date the survey was asked) and per store, the
//! surveys sent, the answers, the response rate, the shares of promoters, passives and
//! detractors, and the NPS with its 95 % interval (see `domain::survey::nps`), "not enough
//! data" below 30 answers. Pure: the caller loads the surveys asked in the period, one
//! date-keyed read per day.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::kinds::SendStatus;
use crate::domain::survey::nps::{NpsCounts, MIN_ANSWERS};
use crate::domain::survey::Survey;
use crate::domain::template::html_escape as escape;
use super::export::csv_field;

/// One line: a month (`2026-11`), a store, or `total`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NpsRow {
    /// `month`, `store` or `total`.
    pub group: &'static str,
    /// The month (`YYYY-MM`), the store_id, or `total`.
    pub key: String,
    /// Surveys whose message went out.
    pub sent: u64,
    pub answers: u64,
    /// answers / sent; `null` when none was sent.
    pub response_rate: Option<f64>,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    pub promoters_percent: Option<f64>,
    pub passives_percent: Option<f64>,
    pub detractors_percent: Option<f64>,
    pub nps: Option<f64>,
    pub nps_ci_low: Option<f64>,
    pub nps_ci_high: Option<f64>,
    /// `not enough data` below 30 answers, else `ok`.
    pub verdict: &'static str,
}

/// The NPS section of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NpsSection {
    pub by_month: Vec<NpsRow>,
    pub by_store: Vec<NpsRow>,
    pub total: NpsRow,
}

#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) sent: u64,
    pub(crate) counts: NpsCounts,
}

impl Tally {
    fn add(&mut self, survey: &Survey) {
        // A survey answered counts as sent whatever its message's record says (a send cut
        // off mid-way may still have reached the customer).
        let answer = survey.answer.as_ref();
        if survey.delivery.status == SendStatus::Sent || answer.is_some() {
            self.sent += 1;
        }
        if let Some(a) = answer {
            self.counts.add(a.score.group());
        }
    }

    pub(crate) fn row(&self, group: &'static str, key: String) -> NpsRow {
        let score = self.counts.score();
        let answers = self.counts.answers();
        let interval = score.and_then(|s| s.interval);
        NpsRow {
            group,
            key,
            sent: self.sent,
            answers,
            response_rate: (self.sent > 0).then(|| answers as f64 / self.sent as f64),
            promoters: self.counts.promoters,
            passives: self.counts.passives,
            detractors: self.counts.detractors,
            promoters_percent: score.map(|s| s.promoters_percent),
            passives_percent: score.map(|s| s.passives_percent),
            detractors_percent: score.map(|s| s.detractors_percent),
            nps: score.map(|s| s.nps),
            nps_ci_low: interval.map(|i| i.0),
            nps_ci_high: interval.map(|i| i.1),
            verdict: if answers < MIN_ANSWERS { "not enough data" } else { "ok" },
        }
    }
}

/// The section over the surveys asked from `from` to `to` (the caller's read).
pub fn nps_section(surveys: &[Survey], from: NaiveDate, to: NaiveDate) -> NpsSection {
    let mut months: BTreeMap<String, Tally> = BTreeMap::new();
    let mut stores: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for survey in surveys.iter().filter(|s| (from..=to).contains(&s.asked_on)) {
        months.entry(survey.asked_on.format("%Y-%m").to_string()).or_default().add(survey);
        stores.entry(survey.store_id.to_string()).or_default().add(survey);
        total.add(survey);
    }
    NpsSection {
        by_month: months.iter().map(|(k, t)| t.row("month", k.clone())).collect(),
        by_store: stores.iter().map(|(k, t)| t.row("store", k.clone())).collect(),
        total: total.row("total", "total".to_owned()),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}%"))
}

fn nps_text(row: &NpsRow) -> String {
    match (row.nps, row.nps_ci_low, row.nps_ci_high) {
        (Some(n), Some(lo), Some(hi)) => format!("{n:+.0} [{lo:+.0}, {hi:+.0}]"),
        (Some(n), _, _) => format!("{n:+.0} (not enough data)"),
        _ => "not enough data".to_owned(),
    }
}

/// CSV columns of the section (one file: month rows, store rows, then the total).
pub const NPS_CSV_COLUMNS: [&str; 15] = [
    "group",
    "key",
    "sent",
    "answers",
    "response_rate",
    "promoters",
    "passives",
    "detractors",
    "promoters_percent",
    "passives_percent",
    "detractors_percent",
    "nps",
    "nps_ci_low",
    "nps_ci_high",
    "verdict",
];

impl NpsSection {
    fn rows(&self) -> impl Iterator<Item = &NpsRow> {
        self.by_month.iter().chain(&self.by_store).chain(std::iter::once(&self.total))
    }

    /// The terminal table.
    pub fn to_table(&self) -> String {
        let mut out = String::from("NPS (how likely to recommend us, 0-10; promoters 9-10 minus detractors 0-6)\n");
        let _ = writeln!(
            out,
            "{:<8} {:<16} {:>6} {:>7} {:>8} {:>10} {:>9} {:>11}  NPS [95% interval]",
            "", "", "SENT", "ANSWERS", "RESPONSE", "PROMOTERS", "PASSIVES", "DETRACTORS"
        );
        for row in self.rows() {
            let _ = writeln!(
                out,
                "{:<8} {:<16} {:>6} {:>7} {:>8} {:>10} {:>9} {:>11}  {}",
                row.group,
                row.key,
                row.sent,
                row.answers,
                pct(row.response_rate.map(|r| r * 100.0)),
                pct(row.promoters_percent),
                pct(row.passives_percent),
                pct(row.detractors_percent),
                nps_text(row)
            );
        }
        out
    }

    /// CSV (RFC 4180, CRLF), nulls empty.
    pub fn to_csv(&self) -> String {
        fn opt(v: Option<f64>) -> String {
            v.map(|v| v.to_string()).unwrap_or_default()
        }
        let mut out = NPS_CSV_COLUMNS.join(",") + "\r\n";
        for r in self.rows() {
            let fields = [
                r.group.to_owned(),
                r.key.clone(),
                r.sent.to_string(),
                r.answers.to_string(),
                opt(r.response_rate),
                r.promoters.to_string(),
                r.passives.to_string(),
                r.detractors.to_string(),
                opt(r.promoters_percent),
                opt(r.passives_percent),
                opt(r.detractors_percent),
                opt(r.nps),
                opt(r.nps_ci_low),
                opt(r.nps_ci_high),
                r.verdict.to_owned(),
            ];
            out.push_str(&(fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",") + "\r\n"));
        }
        out
    }

    /// An HTML section: the table and a line chart of NPS by month (its interval as a band
    /// line per month); inline SVG, no script.
    pub fn to_html(&self) -> String {
        let mut h = String::from("<section id=\"nps\">\n<h2>NPS: would customers recommend the shop?</h2>\n");
        h.push_str("<p>Share of 9-10 answers minus share of 0-6 answers, in points from -100 to +100, with its 95 % interval; below 30 answers there is not enough data.</p>\n");
        h.push_str(&self.chart());
        h.push_str("<table class=\"nps\"><thead><tr><th></th><th></th><th>Sent</th><th>Answers</th><th>Response</th><th>Promoters</th><th>Passives</th><th>Detractors</th><th>NPS [95% interval]</th></tr></thead><tbody>\n");
        for r in self.rows() {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                r.group,
                escape(&r.key),
                r.sent,
                r.answers,
                pct(r.response_rate.map(|x| x * 100.0)),
                pct(r.promoters_percent),
                pct(r.passives_percent),
                pct(r.detractors_percent),
                escape(&nps_text(r))
            );
        }
        h.push_str("</tbody></table>\n</section>\n");
        h
    }

    /// NPS by month: one `circle` per month with a score (class `mark`, `data-month`,
    /// `data-value`), joined by a `polyline`, and a `line` for each interval.
    fn chart(&self) -> String {
        let (width, height, left, top, bottom) = (760.0, 240.0, 50.0, 20.0, 200.0);
        let points: Vec<(usize, &NpsRow)> = self.by_month.iter().enumerate().filter(|(_, r)| r.nps.is_some()).collect();
        let n = self.by_month.len().max(1);
        let step = (width - left - 20.0) / n as f64;
        let x = |i: usize| left + step * (i as f64 + 0.5);
        let y = |v: f64| top + (100.0 - v) / 200.0 * (bottom - top);
        let mut s = format!(
            "<svg data-nps-chart=\"by_month\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"NPS by month\">\n<title>NPS by month</title>\n"
        );
        for v in [-100.0, -50.0, 0.0, 50.0, 100.0] {
            let _ = writeln!(s, "<path class=\"grid\" d=\"M{left:.1} {:.1}H{:.1}\" stroke=\"#ccc\"/>", y(v), width - 20.0);
            let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\">{v:+.0}</text>", left - 6.0, y(v) + 4.0);
        }
        let line: Vec<String> = points.iter().map(|(i, r)| format!("{:.1},{:.1}", x(*i), y(r.nps.unwrap_or(0.0)))).collect();
        if line.len() > 1 {
            let _ = writeln!(s, "<polyline fill=\"none\" stroke=\"#2a6fdb\" stroke-width=\"2\" points=\"{}\"/>", line.join(" "));
        }
        for (i, r) in &points {
            if let (Some(lo), Some(hi)) = (r.nps_ci_low, r.nps_ci_high) {
                let _ = writeln!(
                    s,
                    "<line class=\"mark\" data-month=\"{}\" data-series=\"nps_ci\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#9bb8ee\" stroke-width=\"4\"/>",
                    r.key, x(*i), x(*i), y(lo), y(hi)
                );
            }
            let value = r.nps.unwrap_or(0.0);
            let _ = writeln!(
                s,
                "<circle class=\"mark\" data-month=\"{}\" data-series=\"nps\" data-value=\"{value:.1}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"#2a6fdb\"><title>{}: NPS {value:+.0}</title></circle>",
                r.key, x(*i), y(value), r.key
            );
        }
        for (i, r) in self.by_month.iter().enumerate() {
            let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{}</text>", x(i), bottom + 16.0, r.key);
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::survey::{Answer, Score};

    fn survey(month: u32, store: &str, score: Option<u8>, sent: bool) -> Survey {
        let json = format!(
            r#"{{"key":{{"customer_id":"c","purchased_on":"2026-{month:02}-01"}},"receipt_id":"r","store_id":"{store}",
            "asked_on":"2026-{month:02}-02","locale":"en","decided_at":"2026-01-02T06:00:00Z",
            "delivery":{{"status":"{}"}},"revision":2}}"#,
            if sent { "sent" } else { "unreachable" }
        );
        let mut s: Survey = serde_json::from_str(&json).unwrap();
        s.answer = score.map(|n| Answer {
            score: Score::parse(n.into()).unwrap(),
            comment: None,
            first_at: "2026-01-03T00:00:00Z".parse().unwrap(),
            answered_on: s.asked_on,
            at: "2026-01-03T00:00:00Z".parse().unwrap(),
            replaced_on: None,
        });
        s
    }

    #[test]
    fn months_and_stores_count_sent_answers_groups_and_the_score() {
        let mut surveys = Vec::new();
        for n in 0..40 {
            let score = match n % 4 { 0 => Some(10), 1 => Some(8), 2 => Some(3), _ => None };
            surveys.push(survey(10, if n % 2 == 0 { "a" } else { "b" }, score, true));
        }
        surveys.push(survey(11, "a", Some(9), true));
        surveys.push(survey(11, "a", None, false));
        let s = nps_section(&surveys, "2026-10-01".parse().unwrap(), "2026-11-30".parse().unwrap());
        let oct = &s.by_month[0];
        assert_eq!((oct.key.as_str(), oct.sent, oct.answers, oct.promoters, oct.passives, oct.detractors), ("2026-10", 40, 30, 10, 10, 10));
        assert_eq!((oct.nps, oct.verdict), (Some(0.0), "ok"));
        assert!(oct.nps_ci_low.unwrap() < -20.0 && oct.nps_ci_high.unwrap() > 20.0);
        assert_eq!(oct.response_rate, Some(0.75));
        let nov = &s.by_month[1];
        assert_eq!((nov.sent, nov.answers, nov.nps, nov.nps_ci_low, nov.verdict), (1, 1, Some(100.0), None, "not enough data"));
        assert_eq!(s.by_store.iter().map(|r| (r.key.as_str(), r.answers)).collect::<Vec<_>>(), [("a", 21), ("b", 10)]);
        assert_eq!((s.total.sent, s.total.answers), (41, 31));
        let html = s.to_html();
        assert_eq!(html.matches("data-series=\"nps\"").count(), 2, "a point per month with a score");
        assert_eq!(html.matches("data-series=\"nps_ci\"").count(), 1, "an interval where there is enough data");
        assert!(!html.contains("<script"));
        assert_eq!(s.to_csv().lines().count(), 1 + 2 + 2 + 1);
        assert!(s.to_table().contains("2026-11") && s.to_table().contains("not enough data"));
    }
}
