//! Points as money: what the programme owes (the liability), what burns soon, and each
//! month's movements with the breakage. Computed from the day book (`domain::book`), never
//! from every receipt.
//!
//! # Definitions
//!
//! * **Liability** at the end of `to`: the points credited (earned, gifted, restored) on or
//!   before `to` to lots still live after `to`, minus what was spent or clawed back from them
//!   on or before `to`; valued at `point_value_minor`. Every movement dated `d` is in a lot
//!   expiring after `d`, so it is the points now recorded per expiry date after `to`, minus
//!   the net credits dated after `to`.
//! * **Burning in the next N days** (30, 60, 90): the points credited to lots expiring in
//!   `(to, to + N]` and not spent or clawed back so far: for a date to come, what burns
//!   unless spent; for a date already past, what did burn.
//! * **Per month** (calendar months, clipped to the period): points earned, gifted (trigger
//!   gifts and referral points), restored by refunds, redeemed, expired (dated by the lot's
//!   expiry date), clawed back by refunds and written off (owed back by a refund but already
//!   spent), each on the date of its business event (see `domain::book`).
//! * **Breakage** = expired ÷ (expired + redeemed); `null` when both are 0. Retail
//!   programmes usually see 20–30 % ([`TYPICAL_BREAKAGE`]).

use std::fmt::Write as _;

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

use crate::domain::book::{BookRead, DayFigures};
use super::text::{format_rate, signed, MoneyStyle};

/// The usual breakage of retail programmes: a fraction from, to.
pub const TYPICAL_BREAKAGE: (f64, f64) = (0.20, 0.30);

/// The horizons of the burn forecast, in days after the period's end.
pub const BURN_HORIZONS: [u32; 3] = [30, 60, 90];

/// One month's points movements (or the whole period's, `month` = `"total"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointsMonth {
    /// `YYYY-MM`, or `total`.
    pub month: String,
    /// The days of the period it covers.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub earned: u64,
    pub gifted: u64,
    pub restored: u64,
    pub redeemed: u64,
    pub expired: u64,
    pub clawed_back: u64,
    pub written_off: u64,
    /// expired ÷ (expired + redeemed); `null` when both are 0.
    pub breakage: Option<f64>,
}

/// Points that burn within `days` after the period's end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Burning {
    pub days: u32,
    pub points: u64,
    pub value_minor: u64,
}

/// The points section of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointsSummary {
    pub point_value_minor: u64,
    /// Points outstanding at the end of the period, and their value.
    pub liability_points: u64,
    pub liability_minor: u64,
    /// 30, 60 and 90 days.
    pub burning: Vec<Burning>,
    /// Calendar months of the period, then `total`.
    pub months: Vec<PointsMonth>,
    /// The usual range of breakage in retail, for comparison: `[0.2, 0.3]`.
    pub typical_breakage: [f64; 2],
}

fn non_negative(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn month_of(from: NaiveDate, to: NaiveDate, label: String, f: &DayFigures) -> PointsMonth {
    let (expired, redeemed) = (non_negative(f.expired), non_negative(f.redeemed));
    let total = expired + redeemed;
    PointsMonth {
        month: label,
        from,
        to,
        earned: non_negative(f.earned),
        gifted: non_negative(f.gifted),
        restored: non_negative(f.restored),
        redeemed,
        expired,
        clawed_back: non_negative(f.clawed_back),
        written_off: non_negative(f.written_off),
        breakage: (total > 0).then(|| expired as f64 / total as f64),
    }
}

/// The first day of the month after `d`'s.
fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, 1).expect("the first of a month exists")
}

/// The points section for the period `[from, to]` (see the module documentation).
pub fn points_summary(book: &BookRead, from: NaiveDate, to: NaiveDate, point_value_minor: u64) -> PointsSummary {
    let mut months = Vec::new();
    let mut total = DayFigures::default();
    let mut start = from;
    while start <= to {
        let end = (next_month(start) - Duration::days(1)).min(to);
        let mut sum = DayFigures::default();
        for row in book.days.iter().filter(|r| start <= r.date && r.date <= end) {
            sum.add(&row.figures);
        }
        total.add(&sum);
        months.push(month_of(start, end, start.format("%Y-%m").to_string(), &sum));
        start = end + Duration::days(1);
    }
    months.push(month_of(from, to, "total".to_owned(), &total));

    let recorded_after: i64 = book.expiring.iter().filter(|(e, _)| *e > to).map(|(_, p)| *p).sum();
    let credited_since: i64 = book.days.iter().filter(|r| r.date > to).map(|r| r.figures.net_credited()).sum();
    let liability_points = non_negative(recorded_after - credited_since);
    let value = |points: u64| points.saturating_mul(point_value_minor);
    let burning = BURN_HORIZONS
        .into_iter()
        .map(|days| {
            let until = to + Duration::days(days.into());
            let points = non_negative(book.expiring.iter().filter(|(e, _)| *e > to && *e <= until).map(|(_, p)| *p).sum());
            Burning { days, points, value_minor: value(points) }
        })
        .collect();
    PointsSummary {
        point_value_minor,
        liability_points,
        liability_minor: value(liability_points),
        burning,
        months,
        typical_breakage: [TYPICAL_BREAKAGE.0, TYPICAL_BREAKAGE.1],
    }
}

/// Breakage against the usual range, in words.
pub fn breakage_in_words(breakage: Option<f64>) -> String {
    let (low, high) = TYPICAL_BREAKAGE;
    match breakage {
        None => "no points expired or were spent".to_owned(),
        Some(b) if b > high => format!(
            "{} of the points that left accounts expired unspent: more than the usual {:.0}–{:.0} % of retail programmes (the points may be too hard to use)",
            format_rate(Some(b)),
            low * 100.0,
            high * 100.0
        ),
        Some(b) if b < low => format!(
            "{} of the points that left accounts expired unspent: less than the usual {:.0}–{:.0} % of retail programmes (the programme may cost more than planned)",
            format_rate(Some(b)),
            low * 100.0,
            high * 100.0
        ),
        Some(b) => format!(
            "{} of the points that left accounts expired unspent: within the usual {:.0}–{:.0} % of retail programmes",
            format_rate(Some(b)),
            low * 100.0,
            high * 100.0
        ),
    }
}

/// The month table's lines: a label and one cell per month (and the total).
pub(crate) fn month_lines(p: &PointsSummary) -> Vec<(String, Vec<String>)> {
    let cells = |f: &dyn Fn(&PointsMonth) -> String| p.months.iter().map(f).collect::<Vec<_>>();
    vec![
        ("Month".to_owned(), cells(&|m| if m.month == "total" { "Period".to_owned() } else { m.month.clone() })),
        ("Points earned".to_owned(), cells(&|m| m.earned.to_string())),
        ("Points gifted".to_owned(), cells(&|m| m.gifted.to_string())),
        ("Points restored by refunds".to_owned(), cells(&|m| m.restored.to_string())),
        ("Points redeemed".to_owned(), cells(&|m| m.redeemed.to_string())),
        ("Points expired".to_owned(), cells(&|m| m.expired.to_string())),
        ("Points clawed back by refunds".to_owned(), cells(&|m| m.clawed_back.to_string())),
        ("Points written off (refund after spending)".to_owned(), cells(&|m| m.written_off.to_string())),
        ("Breakage (expired / (expired + redeemed))".to_owned(), cells(&|m| format_rate(m.breakage))),
    ]
}

/// The liability and the burn forecast as sentences, money in `style` with `currency`.
pub(crate) fn liability_lines(p: &PointsSummary, to: NaiveDate, currency: &str, style: MoneyStyle) -> Vec<String> {
    let money = |minor: u64| format!("{} {currency}", style.format(signed(minor), false));
    let mut lines = vec![format!(
        "Points outstanding at the end of {to}: {} points, worth {} (the programme's liability)",
        p.liability_points,
        money(p.liability_minor)
    )];
    for b in &p.burning {
        lines.push(format!("Burning in the next {} days unless spent: {} points ({})", b.days, b.points, money(b.value_minor)));
    }
    if let Some(total) = p.months.last() {
        lines.push(format!("Breakage in the period: {}", breakage_in_words(total.breakage)));
    }
    lines
}

/// The section for the terminal: the sentences, then the month table.
pub(crate) fn points_text(p: &PointsSummary, to: NaiveDate, currency: &str) -> String {
    let mut out = String::from("Points as money\n");
    for line in liability_lines(p, to, currency, MoneyStyle::Plain) {
        let _ = writeln!(out, "  {line}");
    }
    out.push('\n');
    out.push_str(&super::text::plain_table(&month_lines(p)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::book::DayRow;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn day(date: &str, figures: DayFigures) -> DayRow {
        DayRow { date: d(date), store: None, figures }
    }

    #[test]
    fn the_liability_at_the_period_end_leaves_out_what_moved_after_it() {
        // 1000 earned in the period into a lot expiring 2027-05-01; after the period, 300 of
        // them were spent and 200 new points earned into a lot expiring 2027-06-01.
        let book = BookRead {
            days: vec![
                day("2026-11-10", DayFigures { earned: 1000, ..Default::default() }),
                day("2026-12-05", DayFigures { earned: 200, redeemed: 300, ..Default::default() }),
            ],
            expiring: vec![(d("2027-05-01"), 700), (d("2027-06-01"), 200)],
        };
        let p = points_summary(&book, d("2026-11-01"), d("2026-11-30"), 50);
        assert_eq!(p.liability_points, 1000, "as it stood on 2026-11-30");
        assert_eq!(p.liability_minor, 50_000);
        let p = points_summary(&book, d("2026-12-01"), d("2026-12-31"), 50);
        assert_eq!(p.liability_points, 900);
    }

    #[test]
    fn burns_count_the_lots_expiring_within_each_horizon() {
        let book = BookRead {
            days: Vec::new(),
            expiring: vec![(d("2026-12-01"), 10), (d("2026-12-30"), 20), (d("2027-01-29"), 40), (d("2027-03-01"), 80)],
        };
        let p = points_summary(&book, d("2026-11-01"), d("2026-11-30"), 1);
        let burning: Vec<(u32, u64)> = p.burning.iter().map(|b| (b.days, b.points)).collect();
        assert_eq!(burning, vec![(30, 30), (60, 70), (90, 70)]);
        assert_eq!(p.liability_points, 150);
    }

    #[test]
    fn months_are_clipped_to_the_period_and_breakage_is_expired_over_expired_and_redeemed() {
        let book = BookRead {
            days: vec![
                day("2026-10-31", DayFigures { expired: 1000, ..Default::default() }),
                day("2026-11-15", DayFigures { expired: 30, redeemed: 70, written_off: 5, ..Default::default() }),
                day("2026-12-01", DayFigures { redeemed: 100, gifted: 300, ..Default::default() }),
                day("2026-12-20", DayFigures { redeemed: 100, ..Default::default() }),
            ],
            expiring: Vec::new(),
        };
        let p = points_summary(&book, d("2026-11-10"), d("2026-12-01"), 1);
        let months: Vec<(&str, u64, u64, Option<f64>)> =
            p.months.iter().map(|m| (m.month.as_str(), m.expired, m.redeemed, m.breakage)).collect();
        assert_eq!(
            months,
            vec![("2026-11", 30, 70, Some(0.3)), ("2026-12", 0, 100, Some(0.0)), ("total", 30, 170, Some(0.15))]
        );
        assert_eq!((p.months[0].from, p.months[0].to), (d("2026-11-10"), d("2026-11-30")));
        assert_eq!((p.months[2].written_off, p.months[2].gifted), (5, 300));
        assert!(breakage_in_words(Some(0.15)).contains("less than the usual 20–30 %"));
        assert!(breakage_in_words(Some(0.5)).contains("more than the usual"));
        assert_eq!(points_summary(&BookRead::default(), d("2026-11-10"), d("2026-11-10"), 1).months[0].breakage, None);
    }
}
