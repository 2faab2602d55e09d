//! The `boomerang` binary as an operator uses it: keys, imports, config checks.

use std::process::Command;

mod common;
use common::{boomerang, csv, stderr, stdout, write, CUSTOMER_HEADER, PURCHASE_HEADER};

#[test]
fn keys_issue_prints_only_the_key_and_revoke_and_list_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = boomerang(dir.path(), &["keys", "issue", "--terminal", "till-1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let key = stdout(&out);
    assert_eq!(key.lines().count(), 1);
    assert!(key.starts_with("bmr_"), "{key}");
    // The global option may also come after the subcommand.
    let out = Command::new(env!("CARGO_BIN_EXE_boomerang"))
        .args(["keys", "issue", "--terminal", "office", "--admin", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let again = boomerang(dir.path(), &["keys", "issue", "--terminal", "till-1"]);
    assert!(!again.status.success(), "a terminal has one live key");
    let list = stdout(&boomerang(dir.path(), &["keys", "list"]));
    assert!(list.contains("till-1") && list.contains("office") && list.contains("admin"), "{list}");
    assert!(!list.contains(key.trim()), "keys are never shown again");
    assert!(boomerang(dir.path(), &["keys", "revoke", "till-1"]).status.success());
    assert!(!boomerang(dir.path(), &["keys", "revoke", "till-1"]).status.success());
    assert!(boomerang(dir.path(), &["keys", "issue", "--terminal", "till-1"]).status.success());
}

#[test]
fn imports_apply_whole_files_and_reimports_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let customers = csv(dir.path(), "customers.csv", CUSTOMER_HEADER, &[
        "card-1,+79161234567,anna@example.ru,Anna,1990-03-14,true,false,email,ru",
        "card-2,,,,,,,,",
    ]);
    let purchases = csv(dir.path(), "purchases.csv", PURCHASE_HEADER, &[
        "H-1,card-1,1234.50,RUB,2024-03-01T12:00:00+03:00,s1,",
        "H-2,card-1,2000,RUB,2026-11-01T12:00:00+03:00,s1,0",
    ]);
    // Each file twice: the first import applies it, the second finds it all on record.
    for (kind, file, first, again) in [
        ("customers", &customers, "2 created", "2 unchanged"),
        ("purchases", &purchases, "2 recorded", "0 recorded, 2 already recorded"),
    ] {
        let out = boomerang(dir.path(), &["import", kind, file]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains(first), "{}", stdout(&out));
        let out = boomerang(dir.path(), &["import", kind, file]);
        assert!(stdout(&out).contains(again), "{}", stdout(&out));
    }
}

#[test]
fn consent_evidence_says_when_and_how_and_a_reimport_keeps_the_customers_unsubscribe() {
    let dir = tempfile::tempdir().unwrap();
    let customers = write(
        dir.path(),
        "customers.csv",
        "customer_id,phone,email,email_consent\n\
         card-1,+79161234567,anna@example.ru,true\n\
         card-2,,,\n",
    );
    let out = boomerang(dir.path(), &["import", "customers", &customers]);
    assert!(stdout(&out).contains("2 created, 0 updated, 0 unchanged; kept withdrawn: 0"), "{}", stdout(&out));
    let out = boomerang(dir.path(), &["customers", "consent", "card-1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("Consent of customer card-1\n"), "{text}");
    assert!(text.contains("\nemail: anna@example.ru\n  consent: given; last change: given "), "{text}");
    assert!(text.contains("by a customers import (source import)"), "{text}");
    assert!(text.contains("\nsms: +79161234567\n  consent: not given; no change on record"), "{text}");

    // The customer unsubscribes by the link of an email (the one-click POST's use case).
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = std::sync::Arc::new(boomerang_sqlite::SqliteStore::open(dir.path()).unwrap());
        let config = std::sync::Arc::new(boomerang_core::domain::config::ProgramConfig::defaults());
        let app = boomerang_core::Boomerang::new(store, config);
        let id = boomerang_core::domain::ids::CustomerId::parse("card-1").unwrap();
        let token = app.unsubscribe_token(&id).await.unwrap();
        app.unsubscribe(&token, chrono::Utc::now()).await.unwrap();
    });
    let out = boomerang(dir.path(), &["import", "customers", &customers]);
    assert!(stdout(&out).contains("0 created, 0 updated, 2 unchanged; kept withdrawn: 1"), "{}", stdout(&out));
    let text = stdout(&boomerang(dir.path(), &["customers", "consent", "card-1"]));
    assert!(text.contains("consent: not given; last change: withdrawn "), "{text}");
    assert!(text.contains("by the unsubscribe link of an email (source unsubscribe_link)"), "{text}");
    assert!(text.contains("withdrawn by the customer: only their fresh consent turns it on again"), "{text}");

    let out = boomerang(dir.path(), &["customers", "consent", "card-1", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(json["email"]["withdrawn_by_customer"], true);
    assert_eq!(json["email"]["last_change"]["source"], "unsubscribe_link");
    let out = boomerang(dir.path(), &["customers", "consent", "nobody"]);
    assert_eq!((out.status.code(), stderr(&out).trim()), (Some(1), "error: no customer nobody"));
}

#[test]
fn a_bad_row_names_its_line_and_nothing_of_the_file_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let purchases = csv(dir.path(), "purchases.csv", PURCHASE_HEADER, &[
        "B-1,card-9,100.00,RUB,2026-11-01T12:00:00+03:00,s1,0",
        "B-2,card-9,12.345,RUB,2026-11-01T12:00:00+03:00,s1,0",
    ]);
    let out = boomerang(dir.path(), &["import", "purchases", &purchases]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("line 3") && err.contains("amount"), "{err}");
    // Spending more than the file's own earlier rows earned is refused before any write.
    let overspend = csv(dir.path(), "overspend.csv", PURCHASE_HEADER, &[
        "S-1,card-9,100.00,RUB,2026-11-01T12:00:00+03:00,s1,0",
        "S-2,card-9,100.00,RUB,2026-11-02T12:00:00+03:00,s1,6",
    ]);
    let out = boomerang(dir.path(), &["import", "purchases", &overspend]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("line 3"), "{}", stderr(&out));
    // Nothing from either file landed: the good rows import as new afterwards.
    let good = csv(dir.path(), "good.csv", PURCHASE_HEADER, &[
        "B-1,card-9,100.00,RUB,2026-11-01T12:00:00+03:00,s1,0",
        "S-1,card-9,100.00,RUB,2026-11-01T12:00:00+03:00,s1,0",
    ]);
    let out = boomerang(dir.path(), &["import", "purchases", &good]);
    assert!(stdout(&out).contains("2 recorded, 0 already recorded"), "{} {}", stdout(&out), stderr(&out));
}

#[test]
fn config_check_accepts_a_good_file_and_names_the_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.toml", "earn_percent = 7\n[triggers.birthday]\ngift_points = 700\n");
    let out = boomerang(dir.path(), &["config", "check", &good]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("OK"));
    let bad = write(dir.path(), "bad.toml", "[triggers.lapsed_60]\nholdout_percent = 150\n");
    let out = boomerang(dir.path(), &["config", "check", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("triggers.lapsed_60.holdout_percent"), "{}", stderr(&out));
    let out = boomerang(dir.path(), &["--config", &good, "config", "show"]);
    assert!(stdout(&out).contains("earn_percent = 7"), "{}", stdout(&out));
}

#[test]
fn the_sweep_credits_sends_to_the_outbox_and_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    // The CLI sweeps on the real clock: the purchases are dated from today (in Moscow, the
    // program's zone, UTC+3 all year), and the windows let a send through at any hour.
    let today = (chrono::Utc::now() + chrono::Duration::hours(3)).date_naive();
    let (today, bought) = (today.to_string(), (today - chrono::Duration::days(61)).to_string());
    let config = write(
        dir.path(),
        "program.toml",
        "[messaging]\nsms_window = \"00:00-23:59\"\nemail_window = \"00:00-23:59\"\n\
         [triggers.lapsed_60]\nholdout_percent = 0\n[triggers.lapsed_30]\nholdout_percent = 0\n",
    );
    let customers = csv(dir.path(), "customers.csv", CUSTOMER_HEADER, &[
        "card-1,,anna@example.ru,Anna,,true,false,email,en",
        "card-2,+79161234567,,Boris,,false,true,sms,ru",
    ]);
    let purchases = csv(dir.path(), "purchases.csv", PURCHASE_HEADER, &[
        &format!("P-1,card-1,1000.00,RUB,{bought}T12:00:00+03:00,s1,0"),
        &format!("P-2,card-2,1000.00,RUB,{bought}T12:00:00+03:00,s1,0"),
    ]);
    for args in [["import", "customers", &customers], ["import", "purchases", &purchases]] {
        let out = boomerang(dir.path(), &args);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let dry = boomerang(dir.path(), &["--config", &config, "sweep", "--date", &today, "--dry-run", "--list"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(stdout(&dry).contains("dry run") && stdout(&dry).contains("card-1"), "{}", stdout(&dry));
    assert!(!dir.path().join("outbox.jsonl").exists(), "a dry run sends nothing");

    let out = boomerang(dir.path(), &["--config", &config, "sweep", "--date", &today, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["date"], today.as_str());
    assert_eq!(json["dry_run"], false);
    assert_eq!(
        json["triggers"]["lapsed_60"],
        serde_json::json!({"eligible": 2, "holdout": 0, "sent_email": 1, "sent_sms": 1, "unreachable": 0,
                           "failed": 0, "unknown": 0, "points_credited": 600, "deferred": 0, "capped": 0,
                           "expired": 0, "cancelled": 0, "suppressed": 0})
    );
    let outbox = std::fs::read_to_string(dir.path().join("outbox.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = outbox.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    let email = lines.iter().find(|l| l["channel"] == "email").unwrap();
    assert_eq!((email["customer_id"].as_str(), email["to"].as_str(), email["kind"].as_str()), (Some("card-1"), Some("anna@example.ru"), Some("lapsed_60")));
    assert_eq!(email["trigger"].as_str(), Some("lapsed_60"), "the field readers knew before `kind` stays");
    for field in ["subject", "text", "html", "created_at"] {
        assert!(email[field].is_string(), "{field}: {email}");
    }
    let sms = lines.iter().find(|l| l["channel"] == "sms").unwrap();
    assert_eq!(sms["to"], "+79161234567");
    let eml: Vec<_> = std::fs::read_dir(dir.path().join("outbox")).unwrap().collect();
    assert_eq!(eml.len(), 1, "one .eml per email");
    let mime = std::fs::read_to_string(eml[0].as_ref().unwrap().path()).unwrap();
    assert!(mime.contains("List-Unsubscribe: <") && mime.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));

    let again = boomerang(dir.path(), &["--config", &config, "sweep", "--date", &today]);
    assert!(stdout(&again).contains("already completed"), "{}", stdout(&again));
    assert_eq!(std::fs::read_to_string(dir.path().join("outbox.jsonl")).unwrap(), outbox, "nothing sent twice");
}

#[test]
fn a_sweep_date_in_the_future_is_refused_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let next_year = (chrono::Utc::now() + chrono::Duration::days(365)).date_naive().to_string();
    let out = boomerang(dir.path(), &["sweep", "--date", &next_year]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).starts_with(&format!("error: {next_year} is in the future")), "{}", stderr(&out));
    let report = boomerang(dir.path(), &["report"]);
    assert!(stdout(&report).contains("No sweep has run on this store yet"), "nothing was completed: {}", stdout(&report));
}

#[test]
fn the_digest_is_previewed_and_sent_to_the_owner_into_the_outbox_with_the_report_attached() {
    let dir = tempfile::tempdir().unwrap();
    // The digest day is tomorrow's weekday, so that today's sweep leaves the sending to us.
    let today = chrono::Utc::now().date_naive();
    let weekday = chrono::Datelike::weekday(&(today + chrono::Duration::days(1))).to_string().to_lowercase();
    let program = format!("[owner]\nemail = \"owner@shop.example\"\nlocale = \"en\"\ndigest_weekday = \"{weekday}\"\n");
    let config = write(dir.path(), "boomerang.toml", &program);
    let today = today.to_string();
    assert!(boomerang(dir.path(), &["--config", &config, "sweep", "--date", &today]).status.success());

    let preview = boomerang(dir.path(), &["--config", &config, "digest", "--preview"]);
    assert!(preview.status.success(), "{}", stderr(&preview));
    let text = stdout(&preview);
    assert!(text.starts_with("To: owner@shop.example\nSubject: Boomerang Shop: the week "), "{text}");
    assert!(text.contains("- Birthday: sent 0, came back 0, net not known yet — nobody was due."), "{text}");
    assert!(text.contains("/v1/reports/view?token="), "{text}");
    assert!(!dir.path().join("outbox.jsonl").exists(), "a preview sends nothing");

    let sent = boomerang(dir.path(), &["--config", &config, "digest", "--send"]);
    assert!(sent.status.success(), "{}", stderr(&sent));
    let outbox = std::fs::read_to_string(dir.path().join("outbox.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(outbox.trim()).unwrap();
    assert_eq!((line["kind"].as_str(), line["to"].as_str()), (Some("owner_digest"), Some("owner@shop.example")));
    assert!(line.get("customer_id").is_none() && line["attachment"].as_str().unwrap().starts_with("boomerang-report-"));
    let eml: Vec<_> = std::fs::read_dir(dir.path().join("outbox")).unwrap().map(|e| e.unwrap().path()).collect();
    let mime = std::fs::read_to_string(&eml[0]).unwrap();
    assert!(mime.contains("Content-Disposition: attachment;") && !mime.contains("List-Unsubscribe"), "{mime}");

    let nobody = boomerang(dir.path(), &["digest", "--send"]);
    assert_eq!(nobody.status.code(), Some(2));
    assert!(stderr(&nobody).contains("owner.email"), "{}", stderr(&nobody));
    let neither = boomerang(dir.path(), &["digest"]);
    assert_eq!(neither.status.code(), Some(2), "--preview or --send is required");
}
