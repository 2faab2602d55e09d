//! GET /v1/reports/triggers through the real router: admin keys only, the period's defaults
//! and limits, and a sweep's outcomes and the purchases after it counted in the JSON.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use boomerang_core::app::sweep::SweepOptions;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::ids::TerminalName;
use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::report::CSV_COLUMNS;
use boomerang_store_contract::sweep_cases::{date, noon, RecordingMessenger};
use boomerang_tests::{start, TestApp, TestResponse};
use serde_json::{json, Value};

const TRIGGERS: [&str; 6] = ["lapsed_30", "lapsed_60", "lapsed_90", "birthday", "points_expiring", "total"];

async fn admin(t: &TestApp, uri: &str) -> TestResponse {
    t.send(Method::GET, uri, Some(&t.admin_key), None).await
}

fn row<'a>(report: &'a Value, trigger: &str) -> &'a Value {
    let rows = report["rows"].as_array().expect("rows");
    rows.iter().find(|r| r["trigger"] == trigger).unwrap_or_else(|| panic!("no {trigger} row: {report}"))
}

fn assert_invalid(r: &TestResponse, field: &str, what: &str) {
    assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::BAD_REQUEST, "invalid_field", Some(field)), "{what}: {}", r.text);
}

fn close(value: &Value, want: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - want).abs() < 1e-9)
}

#[tokio::test]
async fn a_pos_key_gets_403_forbidden_and_nothing_else() {
    let t = TestApp::spawn().await;
    let forbidden = json!({"error": {"code": "forbidden", "message": "this route needs an admin key", "field": null}});
    for uri in [
        "/v1/reports/triggers",
        "/v1/reports/triggers?from=2026-11-01&to=2026-11-24",
        // The key is judged before the query: no hint about what a valid query would be.
        "/v1/reports/triggers?from=not-a-date",
        "/v1/reports/triggers?from=2020-01-01&to=2026-11-24",
    ] {
        let r = t.get(uri).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}: {}", r.text);
        assert_eq!(r.body, forbidden, "{uri}: the error and nothing else");
        assert!(r.headers.get("www-authenticate").is_none(), "the key is known: not a 401");
    }
}

#[tokio::test]
async fn no_key_an_unknown_key_or_a_revoked_admin_key_gets_401() {
    let t = TestApp::spawn().await;
    let r = t.send(Method::GET, "/v1/reports/triggers", None, None).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::UNAUTHORIZED, "unauthorized"), "{}", r.text);
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    assert!(r.body.get("rows").is_none());
    let r = t.send(Method::GET, "/v1/reports/triggers", Some("bmr_not-a-real-key"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    assert_eq!(admin(&t, "/v1/reports/triggers").await.status, StatusCode::OK);
    let revoked = t.app.store().revoke_key(&TerminalName::parse("office").unwrap(), start()).await.unwrap();
    assert_eq!(revoked, 1);
    let r = admin(&t, "/v1/reports/triggers").await;
    assert_eq!((r.status, r.error_code()), (StatusCode::UNAUTHORIZED, "unauthorized"), "{}", r.text);
}

#[tokio::test]
async fn the_admin_key_gets_one_row_per_trigger_and_the_total() {
    let t = TestApp::spawn().await;
    let r = admin(&t, "/v1/reports/triggers").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("application/json"));
    let keys: BTreeSet<&str> = r.body.as_object().unwrap().keys().map(String::as_str).collect();
    let want: BTreeSet<&str> =
        ["from", "to", "today", "rows", "all_purchases", "all_revenue_minor", "all_avg_check_minor", "messages_per_day", "points", "stores"]
            .into_iter()
            .collect();
    assert_eq!(keys, want);
    // Points as money and stores: an empty shop owes nothing and has no store to list.
    assert_eq!((&r.body["points"]["liability_points"], &r.body["stores"]), (&json!(0), &json!([])));
    assert_eq!(r.body["points"]["burning"].as_array().map(Vec::len), Some(3), "30, 60 and 90 days");
    // The clock stands at 2026-11-24 in Moscow: the 30 days up to today.
    assert_eq!((&r.body["from"], &r.body["to"], &r.body["today"]), (&json!("2026-10-26"), &json!("2026-11-24"), &json!("2026-11-24")));
    let rows = r.body["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["trigger"].as_str().unwrap()).collect();
    assert_eq!(names, TRIGGERS);
    for row in rows {
        let fields: BTreeSet<&str> = row.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(fields, CSV_COLUMNS.into_iter().collect(), "the row's fields are the documented ones");
        assert_eq!((&row["eligible"], &row["treated"], &row["responders"]), (&json!(0), &json!(0), &json!(0)));
        assert_eq!(row["verdict"], "not_enough_data");
        assert!(row["response_rate"].is_null() && row["lift_pp"].is_null() && row["net_minor"].is_null());
        assert_eq!(row["attribution_days"], 14);
    }
    assert_eq!((&r.body["all_purchases"], &r.body["all_avg_check_minor"]), (&json!(0), &Value::Null));
    let days = r.body["messages_per_day"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(days[0], json!({"date": "2026-10-26", "email": 0, "sms": 0}));
    assert_eq!(days[29]["date"], "2026-11-24");
}

#[tokio::test]
async fn the_default_period_ends_at_the_last_swept_date() {
    let t = TestApp::spawn().await;
    t.app.store().complete_sweep(date("2026-11-10")).await.expect("complete a sweep");
    let period = |r: &TestResponse| (r.body["from"].clone(), r.body["to"].clone(), r.body["today"].clone());
    let r = admin(&t, "/v1/reports/triggers").await;
    assert_eq!(period(&r), (json!("2026-10-12"), json!("2026-11-10"), json!("2026-11-24")), "{}", r.text);
    let r = admin(&t, "/v1/reports/triggers?from=2026-11-01").await;
    assert_eq!(period(&r), (json!("2026-11-01"), json!("2026-11-10"), json!("2026-11-24")), "{}", r.text);
    // A period starting after the last sweep ends today, as before any sweep.
    let r = admin(&t, "/v1/reports/triggers?from=2026-11-20").await;
    assert_eq!(period(&r), (json!("2026-11-20"), json!("2026-11-24"), json!("2026-11-24")), "{}", r.text);
}

#[tokio::test]
async fn the_period_has_defaults_and_limits_and_a_bad_date_names_its_field() {
    let t = TestApp::spawn().await;
    let period = |r: &TestResponse| (r.body["from"].as_str().unwrap_or("").to_owned(), r.body["to"].as_str().unwrap_or("").to_owned());
    for (query, from, to) in [
        ("", "2026-10-26", "2026-11-24"),
        ("?to=2026-11-10", "2026-10-12", "2026-11-10"),
        ("?from=2026-11-01", "2026-11-01", "2026-11-24"),
        ("?from=2026-11-24&to=2026-11-24", "2026-11-24", "2026-11-24"),
        // 366 days, both ends included: the longest period.
        ("?from=2025-11-24&to=2026-11-24", "2025-11-24", "2026-11-24"),
        // A period in the future is just empty.
        ("?from=2027-01-01&to=2027-01-31", "2027-01-01", "2027-01-31"),
        ("?from=2026-11-01&to=2026-11-02&extra=1", "2026-11-01", "2026-11-02"),
    ] {
        let r = admin(&t, &format!("/v1/reports/triggers{query}")).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text);
        assert_eq!(period(&r), (from.to_owned(), to.to_owned()), "{query}");
    }
    for (query, field) in [
        ("from=2026-13-01", "from"),
        ("from=2026-02-29", "from"),
        ("from=2026-11-1", "from"),
        ("from=01.11.2026", "from"),
        ("from=", "from"),
        ("from=2026-11-01T00:00:00", "from"),
        ("to=2026-11-31", "to"),
        ("to=tomorrow", "to"),
        ("to=", "to"),
        ("from=2026-11-01&to=2026-11-5", "to"),
        // Both bad: `to` is read first.
        ("from=x&to=y", "to"),
        ("from=2026-11-02&to=2026-11-01", "from"),
        // Only `from`, after today: from > to.
        ("from=2026-11-25", "from"),
        // 367 days.
        ("from=2025-11-23&to=2026-11-24", "to"),
        ("from=2025-11-23", "to"),
        ("from=2026-11-01&from=2026-11-02", "from"),
    ] {
        let r = admin(&t, &format!("/v1/reports/triggers?{query}")).await;
        assert_invalid(&r, field, query);
        assert!(r.body.get("rows").is_none());
    }
    // The message says which date is wanted and why this one is not one (the CLI's words).
    for (query, message) in [
        ("from=2026-02-29", "from 2026-02-29 is not a date: February 2026 has days 01 to 28"),
        ("to=2026-13-01", "to 2026-13-01 is not a date: there is no month 13 (months are 01 to 12)"),
        ("to=tomorrow", "to must be a date as YYYY-MM-DD, e.g. 2026-11-24; got \"tomorrow\""),
    ] {
        let r = admin(&t, &format!("/v1/reports/triggers?{query}")).await;
        assert_eq!(r.body["error"]["message"], message, "{query}: {}", r.text);
    }
}

// ---------------------------------------------------------------------------------------------
// A lapsed_60 sweep and the purchases after it
// ---------------------------------------------------------------------------------------------

/// Half of lapsed_60 held out, and no send pacing to wait for.
fn program() -> ProgramConfig {
    ProgramConfig::from_toml_str("[messaging]\nmax_sends_per_second = 10000\n[triggers.lapsed_60]\nholdout_percent = 50\n")
        .expect("a valid program")
}

/// Enrolls `id` on 1 August with an email address; see [`TestApp::enroll_contact`].
async fn enroll(t: &TestApp, id: &str, consent: bool, sms: bool) {
    t.enroll_contact(id, consent, sms, noon(date("2026-08-01"))).await;
}

/// A purchase at noon in Moscow on `day`, recorded then.
async fn buy(t: &TestApp, receipt: &str, customer: &str, day: &str, amount_minor: u64, redeem_points: u64) {
    t.record_purchase(receipt, customer, noon(date(day)), amount_minor, redeem_points).await;
}

#[tokio::test]
async fn a_lapsed_60_sweep_and_the_purchases_after_it_show_in_the_report() {
    let t = TestApp::with_config(program()).await;
    // Treated: 6 messaged (the last by SMS) and 1 with no consent (unreachable). Held out: 4
    // reachable and 1 without consent (held out, but not in the control group).
    let treated = t.holdout_ids(TriggerKind::Lapsed60, 2026, "c", false, 7);
    let held = t.holdout_ids(TriggerKind::Lapsed60, 2026, "c", true, 5);
    for (i, id) in treated.iter().enumerate() {
        enroll(&t, id, i < 6, i == 5).await;
    }
    for (i, id) in held.iter().enumerate() {
        enroll(&t, id, i < 4, false).await;
    }
    // Everyone last bought on 1 August (50 points each): lapsed_60 on 1 October.
    for id in treated.iter().chain(&held) {
        buy(&t, &format!("{id}-aug"), id, "2026-08-01", 100_000, 0).await;
    }
    let messenger = RecordingMessenger::default();
    let report = t.app.sweep(&messenger, date("2026-10-01"), noon(date("2026-10-01")), SweepOptions::default()).await;
    let report = report.expect("sweep");
    assert_eq!(report.dates, vec![date("2026-10-01")]);
    let sent = messenger.sent();
    assert_eq!(sent.len(), 6, "the six reachable treated were messaged");
    assert!(sent.iter().all(|m| m.key.kind == TriggerKind::Lapsed60.into()));

    // Within the window (1 to 14 October): treated[0] twice, spending 100 gift points the
    // first time, treated[1] on its last day; held[0] once. treated[2] a day too late.
    buy(&t, "a-1", &treated[0], "2026-10-03", 100_000, 100).await;
    buy(&t, "a-2", &treated[0], "2026-10-10", 50_000, 0).await;
    buy(&t, "b-1", &treated[1], "2026-10-14", 200_000, 0).await;
    buy(&t, "c-1", &treated[2], "2026-10-15", 70_000, 0).await;
    buy(&t, "h-1", &held[0], "2026-10-05", 30_000, 0).await;

    // On 20 October, after the daily sweeps of 2 to 20 October found nobody else due, the
    // default period: the 30 days up to the last swept date (21 September to 20 October).
    t.app.store().complete_sweep(date("2026-10-20")).await.expect("complete the sweeps");
    t.clock.set(noon(date("2026-10-20")));
    let r = admin(&t, "/v1/reports/triggers").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((&r.body["from"], &r.body["to"], &r.body["today"]), (&json!("2026-09-21"), &json!("2026-10-20"), &json!("2026-10-20")));
    let l60 = row(&r.body, "lapsed_60");
    let counts = |row: &Value, fields: &[&str]| -> Vec<u64> { fields.iter().map(|f| row[*f].as_u64().unwrap_or(u64::MAX)).collect() };
    let count_fields = [
        "eligible",
        "holdout",
        "holdout_reachable",
        "treated",
        "sent_email",
        "sent_sms",
        "unreachable",
        "failed",
        "unknown",
        "pending",
        "responders",
        "holdout_responders",
        "responder_purchases",
    ];
    assert_eq!(counts(l60, &count_fields), vec![12, 5, 4, 6, 5, 1, 1, 0, 0, 0, 2, 1, 3], "{l60:#}");
    assert!(close(&l60["response_rate"], 2.0 / 6.0), "{l60}");
    assert!(close(&l60["holdout_response_rate"], 0.25), "{l60}");
    assert!(close(&l60["lift_pp"], (2.0 / 6.0 - 0.25) * 100.0), "{l60}");
    let (low, high) = (l60["lift_ci_low_pp"].as_f64().unwrap(), l60["lift_ci_high_pp"].as_f64().unwrap());
    assert!(low < 8.33 && 8.34 < high, "the interval holds the lift: {l60}");
    assert_eq!(l60["verdict"], "not_enough_data", "6 and 4 customers are far too few");
    assert_eq!(l60["attribution_days"], 14);
    // 1 000 + 500 + 2 000 (c's 700 was a day late), 3 purchases.
    assert_eq!(l60["responder_revenue_minor"], 350_000);
    assert_eq!(l60["responder_avg_check_minor"], 116_667);
    // Every purchase of the period: 1 000 + 500 + 2 000 + 700 + 300 over 5.
    assert_eq!((&r.body["all_purchases"], &r.body["all_revenue_minor"]), (&json!(5), &json!(450_000)));
    assert_eq!((&r.body["all_avg_check_minor"], &l60["all_avg_check_minor"]), (&json!(90_000), &json!(90_000)));
    // (2/6 − 1/4) × 6 × 350 000 / 2 = 87 500; 100 gift points spent at 1.00 each.
    assert_eq!(l60["incremental_revenue_minor"], 87_500);
    assert_eq!(counts(l60, &["gift_points_credited", "gift_points_redeemed", "gift_points_expired"]), vec![1_800, 100, 0]);
    assert_eq!(l60["gift_cost_minor"], 10_000);
    // 5 emails at 0.01 and 1 SMS at 25.00 (the default prices).
    assert_eq!(l60["message_cost_minor"], 5 + 2_500);
    assert_eq!(l60["net_minor"], 87_500 - 10_000 - 2_505);
    for trigger in ["lapsed_30", "lapsed_90", "birthday", "points_expiring"] {
        assert_eq!(row(&r.body, trigger)["eligible"], 0, "{trigger}: nobody else was due on 1 October");
    }
    let total = row(&r.body, "total");
    assert_eq!(counts(total, &count_fields), counts(l60, &count_fields), "the total pools one trigger");
    let days = r.body["messages_per_day"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    let sending_days: Vec<&Value> = days.iter().filter(|d| d["email"] != 0 || d["sms"] != 0).collect();
    assert_eq!(sending_days, vec![&json!({"date": "2026-10-01", "email": 5, "sms": 1})]);

    // On 24 November the gift lots (valid until 31 October) have expired: what was not spent.
    t.clock.set(start());
    let r = admin(&t, "/v1/reports/triggers?from=2026-10-01&to=2026-10-31").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let l60 = row(&r.body, "lapsed_60");
    assert_eq!(counts(l60, &count_fields), vec![12, 5, 4, 6, 5, 1, 1, 0, 0, 0, 2, 1, 3]);
    assert_eq!(counts(l60, &["gift_points_credited", "gift_points_redeemed", "gift_points_expired"]), vec![1_800, 100, 1_700]);
    assert_eq!(r.body["messages_per_day"][0], json!({"date": "2026-10-01", "email": 5, "sms": 1}));
    assert_eq!(r.body["messages_per_day"].as_array().map(Vec::len), Some(31));

    // A period that starts after the send date has none of its outcomes, but the purchases.
    let r = admin(&t, "/v1/reports/triggers?from=2026-10-02&to=2026-10-31").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(counts(row(&r.body, "lapsed_60"), &["eligible", "treated", "responders"]), vec![0, 0, 0]);
    assert_eq!(r.body["all_purchases"], 5);
    // And one that ends before it, none at all.
    let r = admin(&t, "/v1/reports/triggers?from=2026-09-01&to=2026-09-30").await;
    assert_eq!((&row(&r.body, "total")["eligible"], &r.body["all_purchases"]), (&json!(0), &json!(0)));
}
