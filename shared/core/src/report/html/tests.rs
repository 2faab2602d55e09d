//! Tests of the HTML report page: its table, charts and escaping.

use chrono::NaiveDate;
use crate::report::TriggerRow;
use super::*;

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
    }
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
fn the_page_has_three_charts_with_one_mark_per_data_point() {
    let html = to_html(&report(), "Shop", "RUB", false);
    assert_eq!(count(&html, "<svg"), 3);

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
    assert_eq!(count(revenue, "data-series=\"gift_cost\""), 5);
    assert_eq!(count(revenue, "data-series=\"incremental_revenue\""), 3);

    let messages = chart(&html, "messages");
    assert_eq!(count(messages, "<rect class=\"mark"), 2 * 4);
    assert_eq!(count(messages, "<rect"), 2 * 4);
    assert!(messages.contains("data-date=\"2026-11-03\" data-series=\"sms\" data-value=\"7\""));
    assert_eq!(count(messages, "<line") + count(messages, "<circle"), 0);

    let mut longer = report();
    longer.messages_per_day = (0..30).map(|i| (d("2026-11-01") + chrono::Days::new(i), i, 1)).collect();
    let html = to_html(&longer, "Shop", "RUB", false);
    assert_eq!(count(chart(&html, "messages"), "<rect class=\"mark"), 60);
}

#[test]
fn the_page_is_self_contained() {
    let html = to_html(&report(), "Shop", "RUB", true);
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
    let html = to_html(&report(), shop, "<b>RUB</b>", false);
    assert!(!html.contains("<script"), "raw shop name leaked");
    assert!(!html.contains("<b>RUB"), "raw currency leaked");
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;"));
    assert!(html.contains("&lt;b&gt;RUB&lt;/b&gt;"));
    let mut odd = report();
    odd.rows[0].trigger = "x\"><svg onload=1>".into();
    let html = to_html(&odd, "Shop", "RUB", false);
    assert_eq!(count(&html, "<svg"), 3);
    assert!(html.contains("x&quot;&gt;&lt;svg onload=1&gt;"));
}

#[test]
fn a_simulation_is_labelled_in_the_title_and_at_the_top() {
    let html = to_html(&report(), "Shop", "RUB", true);
    let title = &html[html.find("<title>").unwrap()..html.find("</title>").unwrap()];
    assert!(title.contains("SIMULATION — synthetic data"), "{title}");
    let body = &html[html.find("<body>").unwrap()..];
    assert!(body.trim_start_matches("<body>").trim_start().starts_with("<div class=\"simulation\""));
    assert!(body.contains("SIMULATION — synthetic data"));
    let real = to_html(&report(), "Shop", "RUB", false);
    assert!(!real.contains("SIMULATION"));
}

#[test]
fn the_page_shows_the_table_and_verdicts_in_words() {
    let html = to_html(&report(), "Shop", "RUB", false);
    assert!(html.contains("<table>"));
    assert!(html.contains("Lapsed 30 days") && html.contains("All triggers"));
    assert!(html.contains("<td class=\"works\">works</td>"), "birthday 40/80 vs 8/40");
    assert!(html.contains("not enough data"));
    assert!(html.contains("-123.45"), "money in major units");
    assert!(html.contains("nobody was eligible"));
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
