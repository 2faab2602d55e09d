//! `boomerang simulate`, run as the real binary: the report it prints recovers the response
//! model's inputs, it is labelled as a simulation everywhere, the same seed prints the same
//! report, and it never touches a real store.

use std::path::Path;
use std::process::{Command, Output};

use boomerang_core::report::wilson;
use serde_json::Value;

const LABEL: &str = "SIMULATION — synthetic data";

/// The defaults of the `--response-*` flags, in report order, and of `--base-rate`.
const RESPONSE: [(&str, f64); 5] =
    [("lapsed_30", 0.13), ("lapsed_60", 0.12), ("lapsed_90", 0.09), ("birthday", 0.35), ("points_expiring", 0.15)];
const BASE_RATE: f64 = 0.03;

/// Runs the binary in `cwd` with no data dir in the environment.
fn simulate(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_boomerang"))
        .arg("simulate")
        .args(args)
        .current_dir(cwd)
        .env_remove("BOOMERANG_DATA_DIR")
        .env_remove("BOOMERANG_CONFIG")
        .env_remove("BOOMERANG_STORE")
        .output()
        .expect("the boomerang binary runs")
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "simulate failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn count(row: &Value, field: &str) -> u64 {
    row[field].as_u64().unwrap_or_else(|| panic!("{field} in {row}"))
}

/// The report's rule for a group big enough to read: 30 outcomes, 5 buyers, 5 non-buyers.
fn enough(x: u64, n: u64) -> bool {
    n >= 30 && x >= 5 && n - x >= 5
}

/// With a seed fixed the run is deterministic. Each 95 % interval misses its true value in
/// about 1 run of 20 by chance: over seeds 1 to 20 of this size, the rates pooled over all
/// runs matched every input (e.g. lapsed_60 0.116 [0.110, 0.123] for 0.12, holdouts
/// 0.029 to 0.032 for 0.03) and the single checks missed at about that rate, so a seed
/// where one misses says nothing about the model; this seed is one where none does.
#[test]
fn the_report_recovers_the_response_rates_the_base_rate_and_the_lift() {
    let cwd = tempfile::tempdir().unwrap();
    let args = ["--customers", "2000", "--days", "200", "--seed", "4", "--holdout-percent", "50", "--json"];
    let report: Value = serde_json::from_str(&stdout_of(&simulate(cwd.path(), &args))).expect("JSON on stdout");
    assert_eq!(report["simulation"], Value::Bool(true));
    assert_eq!(report["label"], LABEL);
    assert_eq!(report["inputs"]["seed"], 4);
    assert_eq!(report["inputs"]["base_rate"], BASE_RATE);
    let rows = report["rows"].as_array().expect("rows");
    let mut checked = Vec::new();
    for (trigger, p) in RESPONSE {
        assert_eq!(report["inputs"]["response"][trigger], p);
        assert_eq!(report["inputs"]["holdout_percent"][trigger], 50);
        let row = rows.iter().find(|r| r["trigger"] == trigger).expect("a row per trigger");
        let (x_t, n_t) = (count(row, "responders"), count(row, "treated"));
        let (x_h, n_h) = (count(row, "holdout_responders"), count(row, "holdout_reachable"));
        if enough(x_t, n_t) {
            let ci = wilson(x_t, n_t).unwrap();
            assert!(ci.low <= p && p <= ci.high, "{trigger}: {x_t}/{n_t} bought, 95% [{:.4}, {:.4}], configured {p}", ci.low, ci.high);
            checked.push(format!("{trigger} treated"));
        }
        if enough(x_h, n_h) {
            let ci = wilson(x_h, n_h).unwrap();
            assert!(
                ci.low <= BASE_RATE && BASE_RATE <= ci.high,
                "{trigger} holdout: {x_h}/{n_h} bought, 95% [{:.4}, {:.4}], base rate {BASE_RATE}",
                ci.low,
                ci.high
            );
            checked.push(format!("{trigger} holdout"));
        }
        if row["verdict"] != "not_enough_data" {
            let (low, high) = (row["lift_ci_low_pp"].as_f64().unwrap(), row["lift_ci_high_pp"].as_f64().unwrap());
            let lift = (p - BASE_RATE) * 100.0;
            assert!(low <= lift && lift <= high, "{trigger}: lift 95% [{low:.2}, {high:.2}] pp, configured {lift:.2} pp");
            assert_eq!(row["verdict"], "works", "{trigger}: every configured rate is above the base rate");
            checked.push(format!("{trigger} lift"));
        }
    }
    // Not vacuous: this size gives every trigger enough data in both groups.
    assert_eq!(checked.len(), 15, "checked only {checked:?}");
    // The response purchases spent gift points, and no window was left unaccounted for.
    assert!(rows.iter().any(|r| count(r, "gift_points_redeemed") > 0), "gift points were spent");
    let overlaps = &report["simulated"]["overlaps"];
    for (trigger, _) in RESPONSE {
        for group in ["treated", "holdout"] {
            let o = &overlaps[trigger][group];
            assert_eq!(count(o, "overlapped"), count(o, "cancelled") + count(o, "owed"), "{trigger} {group}: {o}");
        }
    }
}

/// The contact rules (governor, priorities, windows) decide before the holdout split, so the
/// held out and the treated stay comparable: with messages that change nothing (every
/// response rate equal to the base rate), no trigger shows a lift, on two seeds.
#[test]
fn with_no_true_effect_every_lift_interval_contains_zero() {
    let cwd = tempfile::tempdir().unwrap();
    for seed in ["4", "11"] {
        let mut args = vec!["--customers", "2000", "--days", "200", "--seed", seed, "--holdout-percent", "50", "--json"];
        for flag in ["--response-lapsed-30", "--response-lapsed-60", "--response-lapsed-90", "--response-birthday", "--response-points-expiring"] {
            args.extend([flag, "0.03"]);
        }
        args.extend(["--base-rate", "0.03"]);
        let report: Value = serde_json::from_str(&stdout_of(&simulate(cwd.path(), &args))).expect("JSON on stdout");
        let rows = report["rows"].as_array().expect("rows");
        let mut read = 0;
        for (trigger, _) in RESPONSE {
            let row = rows.iter().find(|r| r["trigger"] == trigger).expect("a row per trigger");
            assert_ne!(row["verdict"], "works", "seed {seed}, {trigger}: {row}");
            if let (Some(low), Some(high)) = (row["lift_ci_low_pp"].as_f64(), row["lift_ci_high_pp"].as_f64()) {
                assert!(low <= 0.0 && 0.0 <= high, "seed {seed}, {trigger}: lift 95% [{low:.2}, {high:.2}] pp");
                read += 1;
            }
        }
        assert!(read >= 4, "seed {seed}: not vacuous, {read} triggers had an interval");
    }
}

#[test]
fn the_same_seed_prints_the_same_report_labelled_as_a_simulation_and_the_page_too() {
    let cwd = tempfile::tempdir().unwrap();
    let args = ["--customers", "300", "--days", "60", "--seed", "42"];
    let first = stdout_of(&simulate(cwd.path(), &args));
    let page = cwd.path().join("report.html");
    let mut with_html = args.to_vec();
    with_html.extend(["--html", page.to_str().unwrap()]);
    let second = stdout_of(&simulate(cwd.path(), &with_html));
    assert_eq!(first, second, "the same seed prints the same report");

    // The banner before and after the table.
    let table = first.find("Trigger report, messages sent").expect("the report table");
    let before = first.find(LABEL).expect("the label");
    let after = first.rfind(LABEL).unwrap();
    assert!(before < table && table < after, "{first}");
    assert!(first.contains("Store: a temporary directory, discarded at exit"), "{first}");

    let html = std::fs::read_to_string(&page).expect("the page was written");
    assert!(html.contains("<title>SIMULATION"), "labelled in the title");
    assert!(html.contains("<div class=\"simulation\""), "labelled at the top");

    let other = stdout_of(&simulate(cwd.path(), &["--customers", "300", "--days", "60", "--seed", "43"]));
    assert_ne!(first, other, "another seed, another shop");
}

#[test]
fn it_never_touches_the_default_store_and_never_reuses_one() {
    let cwd = tempfile::tempdir().unwrap();
    let small = ["--customers", "40", "--days", "20", "--seed", "1"];
    stdout_of(&simulate(cwd.path(), &small));
    assert!(!cwd.path().join(".boomerang").exists(), "the default data dir is left alone");

    let dir = cwd.path().join("sim-store");
    let mut kept = small.to_vec();
    kept.extend(["--data-dir", dir.to_str().unwrap()]);
    let out = stdout_of(&simulate(cwd.path(), &kept));
    assert!(out.contains(&format!("kept in {}", dir.display())), "{out}");
    assert!(dir.join("boomerang.db").exists());

    // A directory that holds a store is never written to.
    let again = simulate(cwd.path(), &kept);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a store"));

    let mut dynamo = small.to_vec();
    dynamo.extend(["--store", "dynamodb:some-table"]);
    assert_eq!(simulate(cwd.path(), &dynamo).status.code(), Some(2), "the embedded store only");
    let short = simulate(cwd.path(), &["--customers", "40", "--days", "5", "--seed", "1"]);
    assert_eq!(short.status.code(), Some(2), "no window would close");
}

/// A report on the simulation's data dir shows the simulated period, not the 30 days up to
/// today (which hold nothing there): its default period ends at the last swept date.
#[test]
fn a_report_on_the_simulations_data_dir_defaults_to_the_simulated_period() {
    let cwd = tempfile::tempdir().unwrap();
    let data_dir = cwd.path().join("shop");
    let data_dir_arg = data_dir.to_str().unwrap();
    let args = ["--customers", "200", "--days", "60", "--seed", "1", "--start", "2025-03-03", "--data-dir", data_dir_arg];
    stdout_of(&simulate(cwd.path(), &args));
    let report = Command::new(env!("CARGO_BIN_EXE_boomerang"))
        .args(["report", "--json", "--data-dir", data_dir_arg])
        .env_remove("BOOMERANG_CONFIG")
        .env_remove("BOOMERANG_STORE")
        .output()
        .expect("the boomerang binary runs");
    let report: Value = serde_json::from_str(&stdout_of(&report)).expect("JSON on stdout");
    assert_eq!((report["from"].as_str(), report["to"].as_str()), (Some("2025-04-02"), Some("2025-05-01")));
    assert!(report["all_purchases"].as_u64().unwrap() > 0, "the simulated purchases are in the period: {report}");
}

/// The loop: survey answers drawn around --nps-mean and friends converting with
/// --referral-rate. As above, a 95 % interval misses its true value in about 1 seed of 20;
/// this seed is one where neither does.
#[test]
fn the_report_recovers_the_configured_nps_and_referral_conversion() {
    let cwd = tempfile::tempdir().unwrap();
    let args = [
        "--customers", "2000", "--days", "120", "--seed", "7", "--nps-mean", "8", "--referral-rate", "0.4", "--json",
    ];
    let report: Value = serde_json::from_str(&stdout_of(&simulate(cwd.path(), &args))).expect("JSON on stdout");
    let expected = report["inputs"]["expected_nps"].as_f64().expect("the model's NPS");
    assert!((expected - 17.47).abs() < 0.01, "scores ~ N(8, 2) rounded: 40.1 % promoters − 22.7 % detractors: {expected}");
    let total = &report["nps"]["total"];
    assert!(count(total, "answers") >= 100, "enough answers to read: {total}");
    assert_eq!(total["verdict"], "ok");
    let (low, high) = (total["nps_ci_low"].as_f64().unwrap(), total["nps_ci_high"].as_f64().unwrap());
    assert!(low <= expected && expected <= high, "NPS {expected} outside [{low}, {high}]");
    let months = report["nps"]["by_month"].as_array().unwrap();
    assert_eq!(months.iter().map(|m| count(m, "answers")).sum::<u64>(), count(total, "answers"));
    let stores = report["nps"]["by_store"].as_array().unwrap();
    assert_eq!(stores.len(), 3, "the simulated shop's three stores");

    let referrals = &report["referrals"];
    let (converted, enrolled) = (count(referrals, "converted"), count(referrals, "enrolled_with_code"));
    assert!(enrolled >= 100, "{referrals}");
    let ci = wilson(converted, enrolled).expect("an interval");
    let (low, high) = (ci.low, ci.high);
    assert!(low <= 0.4 && 0.4 <= high, "conversion {converted}/{enrolled} outside [{low}, {high}]");
    let rewards = count(referrals, "rewards_credited") + count(referrals, "rewards_pending") + count(referrals, "rewards_not_credited");
    assert_eq!(rewards, converted, "one reward per converted friend");
    assert_eq!(count(referrals, "referrer_points_credited"), 300 * count(referrals, "rewards_credited"));
    assert!(count(referrals, "promoters_invited") > 0 && !referrals["top_referrers"].as_array().unwrap().is_empty());
}
