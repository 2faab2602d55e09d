//! What the contract cannot see: one file shared by several stores (the server and a CLI
//! command open it at once), reopening, migrations and the mirror tables the sweep will read.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use rusqlite::Connection;

use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::{Currency, CustomerId, ReceiptId, RefundId, StoreId, TerminalName};
use boomerang_core::ports::{
    CustomerReader, CustomerWriter, Expected, LedgerWriter, PurchaseCommit, RefundCommit, RefundKeys, SecretStore, StoreError,
    SweepStore,
};
use boomerang_core::{Boomerang, Error};
use boomerang_core::domain::purchase::{decide_purchase, decide_refund, Backdating, PurchaseRequest, RefundRequest};
use boomerang_sqlite::{SqliteStore, DB_FILE, SCHEMA_VERSION};

fn now() -> DateTime<Utc> {
    "2026-03-10T09:00:00Z".parse().expect("a valid instant")
}

fn local(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).expect("a valid instant")
}

fn app(store: &SqliteStore, config: ProgramConfig) -> Boomerang {
    Boomerang::new(Arc::new(store.clone()), Arc::new(config))
}

fn purchase(customer: &str, receipt: &str, amount_minor: u64, redeem_points: u64) -> PurchaseRequest {
    PurchaseRequest {
        receipt_id: ReceiptId::parse(receipt).expect("a receipt id"),
        customer_id: CustomerId::parse(customer).expect("a customer id"),
        amount_minor,
        currency: Currency::parse("RUB").expect("a currency"),
        occurred_at: local("2026-03-10T11:30:00+03:00"),
        store_id: StoreId::parse("shop-1").expect("a store id"),
        redeem_points,
    }
}

fn terminal(name: &str) -> TerminalName {
    TerminalName::parse(name).expect("a terminal name")
}

fn raw(dir: &Path) -> Connection {
    Connection::open(dir.join(DB_FILE)).expect("the file opens")
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |row| row.get(0)).expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_data_dir_see_each_others_writes_at_once() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, cli) = (SqliteStore::open(dir.path()).expect("open"), SqliteStore::open(dir.path()).expect("open"));
    let (server, cli) = (app(&server, ProgramConfig::defaults()), app(&cli, ProgramConfig::defaults()));

    let key = cli.issue_key(terminal("till-1"), false, [3; 32], now()).await.expect("the CLI issues a key");
    let header = format!("Bearer {key}");
    server.authenticate(Some(&header)).await.expect("the server accepts it at once");
    assert_eq!(cli.store().revoke_key(&terminal("till-1"), now()).await.expect("revoke"), 1);
    let refused = server.authenticate(Some(&header)).await;
    assert!(matches!(refused, Err(Error::Unauthorized)), "the server refuses the revoked key at once: {refused:?}");

    server.purchase(&purchase("anna", "r-1", 100_000, 0), now(), Backdating::Limited).await.expect("purchase");
    cli.purchase(&purchase("anna", "r-2", 100_000, 20), now(), Backdating::Limited).await.expect("purchase on top");
    let seen = server.customer(&CustomerId::parse("anna").expect("id")).await.expect("read");
    assert_eq!(seen.version, 2, "the server sees the CLI's write");
    assert_eq!(seen.account.balance(server.today(now())), 50 - 20 + 49, "(1000 - 20) * 5% = 49 earned");
    assert_eq!(
        server.unsubscribe_token(&seen.customer.customer_id).await.expect("token"),
        cli.unsubscribe_token(&seen.customer.customer_id).await.expect("token"),
        "both sign with the same secret"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_spends_through_two_stores_never_overdraw() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = ProgramConfig::from_toml_str("earn_percent = 0").expect("a config");
    let apps = [
        app(&SqliteStore::open(dir.path()).expect("open"), config.clone()),
        app(&SqliteStore::open(dir.path()).expect("open"), config),
    ];
    let mut seed = CustomerRecord::new(CustomerId::parse("anna").expect("id"), now());
    seed.account.earn(boomerang_core::domain::ledger::LotKey::earned("2026-12-01".parse().expect("date")), 200, "seed");
    seed.version = 1;
    apps[0].store().put_customer(&seed, Expected::Absent).await.expect("seed");

    // Two connections: the file's own locking (BEGIN IMMEDIATE, busy timeout) keeps order.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let app = apps[i % 2].clone();
            tokio::spawn(async move {
                app.purchase(&purchase("anna", &format!("s-{i}"), 10_000, 10), now(), Backdating::Limited).await
            })
        })
        .collect();
    let mut balances = BTreeSet::new();
    let mut contention = 0;
    for task in tasks {
        match task.await.expect("the task finishes") {
            Ok(o) => assert!(balances.insert(o.receipt.balance_after), "two spends saw one balance"),
            Err(Error::InsufficientPoints { .. }) => {}
            Err(Error::Contention) => contention += 1,
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    let won = balances.len() as u64;
    let after = apps[1].customer(&seed.customer.customer_id).await.expect("read");
    assert_eq!(after.account.balance(apps[1].today(now())), 200 - 10 * won, "no spend was lost or doubled");
    assert_eq!(balances, (1..=won).map(|k| 200 - 10 * k).collect(), "the spends are serial");
    if contention == 0 {
        assert_eq!(won, 20, "without contention, 20 spends fit in 200 points");
    }
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let data_dir = dir.path().join("nested").join("data");
    let (receipt, refund, key, secret) = {
        let store = SqliteStore::open(&data_dir).expect("open creates the data dir");
        let app = app(&store, ProgramConfig::defaults());
        let bought = app.purchase(&purchase("anna", "r-1", 100_000, 0), now(), Backdating::Limited).await;
        let receipt = bought.expect("purchase").receipt;
        let req = RefundRequest {
            customer_id: None,
            refund_id: RefundId::parse("f-1").expect("id"),
            receipt_id: receipt.receipt_id.clone(),
            amount_minor: 10_000,
            occurred_at: local("2026-03-10T11:40:00+03:00"),
        };
        let refund = app.refund(&req, now()).await.expect("refund").refund;
        let key = app.issue_key(terminal("till-1"), true, [5; 32], now()).await.expect("key");
        let secret = store.unsubscribe_secret().await.expect("secret");
        (receipt, refund, key, secret)
    };

    let store = SqliteStore::open(&data_dir).expect("reopen");
    let app = app(&store, ProgramConfig::defaults());
    let view = store.refund_view(RefundKeys::new(&refund.refund_id, &receipt.receipt_id, None)).await.expect("view");
    assert_eq!(view.refund, Some(refund), "the refund survived");
    assert_eq!(view.receipt.map(|r| (r.receipt_id, r.refund.refunds)), Some((receipt.receipt_id, 1)));
    assert_eq!(view.customer.map(|c| c.version), Some(2), "the customer survived");
    let principal = app.authenticate(Some(&format!("Bearer {key}"))).await.expect("the key survived");
    assert!(principal.admin);
    assert_eq!(store.unsubscribe_secret().await.expect("secret"), secret, "the secret survived");
    assert_eq!(count(&raw(&data_dir), "PRAGMA user_version"), SCHEMA_VERSION as i64);
}

#[test]
fn concurrent_opens_of_a_new_data_dir_agree_on_one_schema() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let opened: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| SqliteStore::open(dir.path()).map(|_| ()))).collect();
        handles.into_iter().map(|h| h.join().expect("the thread finishes")).collect()
    });
    for result in opened {
        result.expect("every concurrent open succeeds");
    }
    let conn = raw(dir.path());
    assert_eq!(count(&conn, "PRAGMA user_version"), SCHEMA_VERSION as i64);
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0)).expect("mode");
    assert_eq!(mode, "wal");
}

/// A file written by the build before the sweep (schema version 1) gets the sweep's tables
/// on open and keeps everything else.
#[tokio::test]
async fn a_version_1_file_is_migrated_to_the_sweep_tables_and_keeps_its_data() {
    let dir = tempfile::tempdir().expect("a temp dir");
    {
        let store = SqliteStore::open(dir.path()).expect("open");
        let app = app(&store, ProgramConfig::defaults());
        app.purchase(&purchase("anna", "r-1", 100_000, 0), now(), Backdating::Limited).await.expect("purchase");
    }
    // Back to what version 1 had: no sweep tables.
    let conn = raw(dir.path());
    conn.execute_batch(
        "DROP TABLE sweep_outcomes; DROP TABLE sweep_progress; DROP TABLE referral_codes; \
         DROP TABLE referral_rewards; DROP TABLE book_days; DROP TABLE book_expiring; DROP TABLE owner_digests; \
         DROP TABLE surveys; DROP TABLE survey_alerts; \
         DROP INDEX customers_by_referred_on; ALTER TABLE customers DROP COLUMN referred_on; \
         DROP INDEX receipts_by_customer_date; CREATE INDEX receipts_by_local_date ON receipts (local_date); \
         PRAGMA user_version = 1;",
    )
        .expect("a version 1 file");
    drop(conn);

    let store = SqliteStore::open(dir.path()).expect("the old file opens");
    assert_eq!(count(&raw(dir.path()), "PRAGMA user_version"), SCHEMA_VERSION as i64);
    let anna = CustomerId::parse("anna").expect("id");
    assert_eq!(store.customer(&anna).await.expect("read").map(|c| c.version), Some(1), "the customer survived");
    let bought = store.customers_last_bought_on("2026-03-10".parse().expect("a date")).await.expect("query");
    assert_eq!(bought, vec![anna], "the old rows are found by the sweep's queries");
    assert_eq!(store.last_completed_sweep().await.expect("read"), None);
    store.complete_sweep("2026-03-10".parse().expect("a date")).await.expect("the new table takes writes");
    assert_eq!(store.outcomes_on("2026-03-10".parse().expect("a date")).await.expect("query"), vec![]);
}

#[test]
fn a_file_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().expect("a temp dir");
    SqliteStore::open(dir.path()).expect("open");
    raw(dir.path()).pragma_update(None, "user_version", 99).expect("set the version");
    match SqliteStore::open(dir.path()) {
        Err(StoreError::Unavailable(e)) => assert!(e.to_string().contains("schema version 99"), "{e}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// A commit made by the core's rules, so the entry count is known.
fn purchase_commit(before: Option<&CustomerRecord>, receipt: &str, amount: u64, redeem: u64) -> PurchaseCommit {
    let expected = Expected::of(&before.cloned());
    let mut record =
        before.cloned().unwrap_or_else(|| CustomerRecord::new(CustomerId::parse("anna").expect("id"), now()));
    let decision = decide_purchase(
        &ProgramConfig::defaults(),
        &record.account,
        &purchase("anna", receipt, amount, redeem),
        now(),
        Backdating::Limited,
    )
    .expect("a valid purchase");
    record.account = decision.account;
    record.version = expected.next_version();
    PurchaseCommit { record, expected, receipt: decision.receipt, entries: decision.entries, referral_reward: None }
}

#[tokio::test]
async fn the_ledger_and_lot_tables_mirror_every_commit_and_only_those() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let conn = raw(dir.path());
    let lots_of = |conn: &Connection| -> Vec<(String, String, i64)> {
        let mut stmt =
            conn.prepare("SELECT expires_on, source, points FROM lots ORDER BY expires_on, source").expect("sql");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows")
    };

    let mut profile = CustomerRecord::new(CustomerId::parse("anna").expect("id"), now());
    profile.customer.birthday = Some("1990-05-17".parse().expect("date"));
    profile.account.earn(
        boomerang_core::domain::ledger::LotKey::gift(
            "2026-03-20".parse().expect("date"),
            boomerang_core::domain::kinds::TriggerKind::Birthday,
        ),
        30,
        "g",
    );
    profile.version = 1;
    store.put_customer(&profile, Expected::Absent).await.expect("enroll");
    assert_eq!(lots_of(&conn), vec![("2026-03-20".into(), "birthday".into(), 30)]);

    let first = purchase_commit(Some(&profile), "r-1", 100_000, 20);
    store.commit_purchase(&first).await.expect("purchase");
    let entries = first.entries.len() as i64;
    assert_eq!(count(&conn, "SELECT count(*) FROM ledger_entries WHERE reference = 'r-1'"), entries);
    assert_eq!(
        count(&conn, "SELECT count(*) FROM ledger_entries WHERE recorded_at = '2026-03-10T09:00:00.000000000Z'"),
        entries,
        "entries are stamped with the receipt's recorded_at"
    );
    assert_eq!(
        lots_of(&conn),
        vec![("2026-03-20".into(), "birthday".into(), 10), ("2027-03-10".into(), "earned".into(), 49)],
        "the lot mirror follows the record"
    );
    let (last, birthday, erased): (String, String, bool) = conn
        .query_row("SELECT last_purchase_on, birthday_md, erased FROM customers", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("row");
    assert_eq!((last.as_str(), birthday.as_str(), erased), ("2026-03-10", "05-17", false));

    // Refused commits leave no trace in either mirror.
    let duplicate = purchase_commit(Some(&first.record), "r-1", 50_000, 0);
    assert!(matches!(store.commit_purchase(&duplicate).await, Err(StoreError::Duplicate)));
    let stale = purchase_commit(Some(&profile), "r-2", 50_000, 0);
    assert!(matches!(store.commit_purchase(&stale).await, Err(StoreError::Conflict)));
    assert_eq!(count(&conn, "SELECT count(*) FROM ledger_entries"), entries);
    assert_eq!(count(&conn, "SELECT count(*) FROM receipts"), 1);
    assert_eq!(lots_of(&conn).len(), 2);

    let req = RefundRequest {
        customer_id: None,
        refund_id: RefundId::parse("f-1").expect("id"),
        receipt_id: first.receipt.receipt_id.clone(),
        amount_minor: 100_000,
        occurred_at: local("2026-03-10T11:40:00+03:00"),
    };
    let decision =
        decide_refund(&ProgramConfig::defaults(), &first.record.account, &first.receipt, &req, now()).expect("refund");
    let mut record = first.record.clone();
    record.account = decision.account;
    record.version += 1;
    let refund = RefundCommit {
        expected_version: first.record.version,
        expected_refunds: 0,
        record,
        receipt: decision.receipt,
        refund: decision.refund,
        entries: decision.entries,
        on: "2026-03-10".parse().unwrap(),
    };
    store.commit_refund(&refund).await.expect("refund");
    assert_eq!(
        count(&conn, "SELECT count(*) FROM ledger_entries WHERE reference = 'f-1'"),
        refund.entries.len() as i64
    );
    assert_eq!(count(&conn, "SELECT refunds FROM receipts WHERE receipt_id = 'r-1'"), 1);
    assert_eq!(
        lots_of(&conn),
        vec![("2026-03-20".into(), "birthday".into(), 30)],
        "the full refund undid the purchase"
    );
    assert!(matches!(store.commit_refund(&refund).await, Err(StoreError::Duplicate)));
    assert_eq!(count(&conn, "SELECT count(*) FROM ledger_entries"), entries + refund.entries.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_uses_of_the_secret_through_two_stores_agree() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let stores = [SqliteStore::open(dir.path()).expect("open"), SqliteStore::open(dir.path()).expect("open")];
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = stores[i % 2].clone();
            tokio::spawn(async move { store.unsubscribe_secret().await.expect("the secret") })
        })
        .collect();
    let mut secrets = BTreeSet::new();
    for task in tasks {
        secrets.insert(task.await.expect("the task finishes"));
    }
    assert_eq!(secrets.len(), 1, "links signed through one store verify through the other");
}
