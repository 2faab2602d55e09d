//! Tests of the HTML report page: its table, charts and escaping.

use chrono::NaiveDate;
use crate::domain::config::ProgramConfig;
use crate::domain::book::{BookRead, DayFigures, DayRow};
use crate::report::{StoreRow, TriggerRow};
use super::*;

/// The page of `report` for a shop named `shop` with the default program otherwise.
fn page(report: &Report, shop: &str, simulation: bool) -> String {
    let mut config = ProgramConfig::defaults();
    config.shop_name = shop.to_owned();
    to_html(report, &config, simulation)
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn row(trigger: &str, treated: u64, responders: u64, holdout: u64, holdout_responders: u64) -> TriggerRow {
    let rate = |x: u64, n: u64| (n > 0).then(|| x as f64 / n as f64);
    let ci = crate::report::newcombe(responders, treated, holdout_responders, holdout);
    let lift = match (rate(responders, treated), rate(holdout_responders, holdout)) {
        (Some(a), Some(b)) => Some((a - b) * 100.0),
        _ => None,
    };
    TriggerRow {
        trigger: trigger.into(),
        attribution_days: Some(14),
        eligible: treated + holdout,
        holdout,
        holdout_reachable: holdout,
        treated,
        sent_email: treated,
        sent_sms: 0,
        unreachable: 0,
        failed: 0,
        unknown: 0,
        pending: 0,
        capped: 0,
        expired: 0,
        cancelled: 0,
        suppressed: 0,
        responders,
        response_rate: rate(responders, treated),
        holdout_responders,
        holdout_response_rate: rate(holdout_responders, holdout),
        lift_pp: lift,
        lift_ci_low_pp: ci.map(|c| c.low * 100.0),
        lift_ci_high_pp: ci.map(|c| c.high * 100.0),
        verdict: crate::report::verdict(responders, treated, holdout_responders, holdout),
        responder_purchases: responders,
        responder_revenue_minor: responders * 150_000,
        responder_avg_check_minor: (responders > 0).then_some(150_000),
        all_avg_check_minor: Some(100_000),
        incremental_revenue_minor: if treated > 0 && holdout > 0 { Some(-12_345) } else { None },
        gift_points_credited: 600,
        gift_points_redeemed: 300,
        gift_points_expired: 0,
        gift_cost_minor: 30_000,
        reminded_points_spent: 0,
        reminded_points_cost_minor: 0,
        message_cost_minor: 0,
        net_minor: if treated > 0 && holdout > 0 { Some(-42_345) } else { None },
    }
}

fn report() -> Report {
    Report {
        from: d("2026-11-01"),
        to: d("2026-11-04"),
        today: d("2026-12-31"),
        rows: vec![
            row("lapsed_30", 100, 20, 100, 10),
            row("lapsed_60", 50, 10, 0, 0), // no holdout: one bar, no lift
            row("lapsed_90", 0, 0, 0, 0),   // nothing at all
            row("birthday", 80, 40, 40, 8),
            row("points_expiring", 10, 9, 10, 1),
            row("total", 240, 79, 150, 19),
        ],
        all_purchases: 1000,
        all_revenue_minor: 100_000_000,
        all_avg_check_minor: Some(100_000),
        messages_per_day: vec![
            (d("2026-11-01"), 10, 2),
            (d("2026-11-02"), 0, 0),
            (d("2026-11-03"), 5, 7),
            (d("2026-11-04"), 1, 0),
        ],
        messages_by_trigger: vec![
            (d("2026-11-01"), [6, 0, 0, 4, 2]),
            (d("2026-11-02"), [0; 5]),
            (d("2026-11-03"), [0, 2, 0, 10, 0]),
            (d("2026-11-04"), [1, 0, 0, 0, 0]),
        ],
        points: crate::report::points_summary(&book(), d("2026-11-01"), d("2026-11-04"), 100),
        stores: vec![StoreRow {
            store_id: "s1".into(),
            name: Some("Tverskaya & Co".into()),
            city: None,
            receipts: 40,
            revenue_minor: 12_345_600,
            avg_check_minor: Some(308_640),
            points_earned: 6000,
            points_redeemed: 1500,
            responders: 7,
        }],
    }
}

/// A book with one store's day and points expiring after the period.
fn book() -> BookRead {
    let figures = DayFigures { receipts: 40, revenue_minor: 12_345_600, earned: 6000, redeemed: 1500, expired: 500, ..Default::default() };
    BookRead {
        days: vec![DayRow { date: d("2026-11-02"), store: Some("s1".into()), figures }],
        expiring: vec![(d("2026-11-20"), 1200), (d("2027-05-01"), 3300)],
    }
}

#[test]
fn the_page_shows_the_liability_the_burns_breakage_and_each_store_by_name() {
    let html = to_html(&report(), &ProgramConfig::defaults(), false);
    assert!(html.contains("<h2>Points as money</h2>"), "{html}");
    assert!(html.contains("4500 points, worth 4\u{a0}500.00 ₽"), "liability: 1200 + 3300 points at 1.00");
    assert!(html.contains("Burning in the next 30 days unless spent: 1200 points"));
    assert!(html.contains("25.0% of the points that left accounts expired unspent: within the usual 20–30 %"));
    assert!(html.contains("<h2>Per store</h2>") && html.contains("Tverskaya &amp; Co"));
    assert!(html.contains("<td>3\u{a0}086.40</td>"), "average check, grouped");
}

/// The text of the `<svg data-chart="name">` element.
fn chart<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html.find(&format!("<svg data-chart=\"{name}\"")).unwrap_or_else(|| panic!("no {name} chart"));
    let end = start + html[start..].find("</svg>").unwrap();
    &html[start..end]
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn the_page_has_four_charts_with_one_mark_per_data_point() {
    let html = page(&report(), "Shop", false);
    assert_eq!(count(&html, "<svg"), 4);

    let response = chart(&html, "response");
    // Rates: lapsed_30 2, lapsed_60 1, lapsed_90 0, birthday 2, points_expiring 2.
    assert_eq!(count(response, "<rect"), 7);
    assert_eq!(count(response, "<rect class=\"mark"), 7);
    assert_eq!(count(response, "data-series=\"treated\""), 4);
    assert_eq!(count(response, "data-series=\"holdout\""), 3);
    // Lifts: lapsed_30, birthday, points_expiring.
    assert_eq!(count(response, "<circle class=\"mark"), 3);
    assert_eq!(count(response, "<circle"), 3);
    assert_eq!(count(response, "<line class=\"mark"), 3);
    assert_eq!(count(response, "<line"), 3);
    assert!(!response.contains("data-trigger=\"total\""), "per trigger only");

    let revenue = chart(&html, "revenue");
    // Gift cost for all 5 triggers, extra revenue where known (3).
    assert_eq!(count(revenue, "<rect class=\"mark"), 8);
    assert_eq!(count(revenue, "<rect"), 8);
    assert_eq!(count(revenue, "data-series=\"cost\""), 5);
    assert_eq!(count(revenue, "data-series=\"incremental_revenue\""), 3);

    let messages = chart(&html, "messages");
    assert_eq!(count(messages, "<rect class=\"mark"), 2 * 4);
    assert_eq!(count(messages, "<rect"), 2 * 4);
    assert!(messages.contains("data-date=\"2026-11-03\" data-series=\"sms\" data-value=\"7\""));
    assert_eq!(count(messages, "<line") + count(messages, "<circle"), 0);
    let by_trigger = chart(&html, "messages-by-trigger");
    assert_eq!(count(by_trigger, "<rect class=\"mark"), 5 * 4, "one bar per trigger and day");
    assert!(by_trigger.contains("data-date=\"2026-11-03\" data-series=\"birthday\" data-value=\"10\""));
    assert!(by_trigger.contains("<title>2026-11-01: 4 Birthday</title>"));

    let mut longer = report();
    longer.messages_per_day = (0..30).map(|i| (d("2026-11-01") + chrono::Days::new(i), i, 1)).collect();
    let html = page(&longer, "Shop", false);
    assert_eq!(count(chart(&html, "messages"), "<rect class=\"mark"), 60);
}

#[test]
fn the_page_is_self_contained() {
    let html = page(&report(), "Shop", true);
    let lower = html.to_lowercase();
    for banned in ["<script", "http", "src=", "href=", "url(", "@import", "<link", "<img", "<iframe"] {
        assert!(!lower.contains(banned), "found {banned}");
    }
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<style>"));
    assert!(html.trim_end().ends_with("</html>"));
}

#[test]
fn all_text_is_escaped() {
    let shop = "<script>alert(\"x\")</script> & 'Co'";
    let html = page(&report(), shop, false);
    assert!(!html.contains("<script"), "raw shop name leaked");
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;"));
    let mut odd = report();
    odd.rows[0].trigger = "x\"><svg onload=1>".into();
    let html = page(&odd, "Shop", false);
    assert_eq!(count(&html, "<svg"), 4);
    assert!(html.contains("x&quot;&gt;&lt;svg onload=1&gt;"));
}

#[test]
fn a_simulation_is_labelled_in_the_title_and_at_the_top() {
    let html = page(&report(), "Shop", true);
    let title = &html[html.find("<title>").unwrap()..html.find("</title>").unwrap()];
    assert!(title.contains("SIMULATION — synthetic data"), "{title}");
    let body = &html[html.find("<body>").unwrap()..];
    assert!(body.trim_start_matches("<body>").trim_start().starts_with("<div class=\"simulation\""));
    assert!(body.contains("SIMULATION — synthetic data"));
    let real = page(&report(), "Shop", false);
    assert!(!real.contains("SIMULATION"));
}

#[test]
fn the_page_shows_the_table_and_verdicts_in_words() {
    let html = page(&report(), "Shop", false);
    assert!(html.contains("<table>"));
    assert!(html.contains("Lapsed 30 days") && html.contains("All triggers"));
    assert!(html.contains("<td class=\"works\">works</td>"), "birthday 40/80 vs 8/40");
    assert!(html.contains("not enough data"));
    // Money as people write it: estimates in whole units, exact amounts with kopecks,
    // thousands grouped by no-break spaces, the currency's sign.
    assert!(html.contains("<td>-123</td>"), "the extra revenue, an estimate, in whole roubles");
    assert!(html.contains("<td>300.00</td>"), "the gift cost, exact, with kopecks");
    assert!(html.contains("Estimated extra revenue -123\u{a0}₽"), "{html}");
    assert!(html.contains("Revenue of responders, ₽"));
    assert!(html.contains("nobody was eligible"));
}

#[test]
fn the_page_says_how_to_read_it_first_and_per_trigger_what_it_does_why_and_what_next() {
    let html = page(&report(), "Shop", false);
    let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("no {needle}"));
    assert!(at("How to read this") < at("In short") && at("In short") < at("<table>"));
    assert!(html.contains("percentage points"), "the jargon is explained");
    assert!(html.contains("It works like this: customers who have not bought for 30 days get a reminder of their points."));
    // Too few to judge, and the page says which count falls short.
    assert!(html.contains("Points expiring: not enough data yet</b> (only 10 messaged customers were reached; 30 are needed)"));
    assert!(html.contains("Lapsed 60 days: not enough data yet</b> (no held-out customers were reached; 30 are needed)"));
    assert!(html.contains("Next: keep it, but it costs more than it brings"), "birthday works, at a loss");
}

#[test]
fn nice_ceilings() {
    assert_eq!(nice_ceiling(0.0), 1.0);
    assert_eq!(nice_ceiling(0.1), 0.1);
    assert_eq!(nice_ceiling(0.13), 0.2);
    assert_eq!(nice_ceiling(3.0), 5.0);
    assert_eq!(nice_ceiling(700.0), 1000.0);
    assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

#[test]
fn grouped_money_reads_like_print() {
    use crate::report::text::{format_amount, MoneyStyle};
    assert_eq!(format_amount(190_951_749, "RUB", true), "1\u{a0}909\u{a0}517\u{a0}₽");
    assert_eq!(format_amount(190_951_750, "RUB", true), "1\u{a0}909\u{a0}518\u{a0}₽", "halves away from zero");
    assert_eq!(format_amount(-212_600, "RUB", false), "-2\u{a0}126.00\u{a0}₽");
    assert_eq!(format_amount(5, "XYZ", false), "0.05\u{a0}XYZ");
    assert_eq!(MoneyStyle::Grouped.format(99_949, true), "999");
    assert_eq!(MoneyStyle::Plain.format(-123_456, true), "-1234.56", "the terminal keeps its plain form");
}

#[test]
fn the_messages_chart_labels_the_year_first_and_where_it_changes() {
    let mut spanning = report();
    spanning.messages_per_day = (0..10).map(|i| (d("2026-12-27") + chrono::Days::new(i), 1, 0)).collect();
    let html = page(&spanning, "Shop", false);
    let messages = chart(&html, "messages");
    assert!(messages.contains(">2026-12-27<"), "the first label has the year");
    assert!(messages.contains(">12-28<"), "the same year after it does not");
    assert!(messages.contains(">2027-01-01<"), "a new year is named");
    assert!(messages.contains(">01-02<"));
}
