//! What each use case costs on DynamoDB, measured by the store's request counter: requests
//! per call and bytes written. docs/dynamodb.md quotes these numbers; change both together.

mod common;

use std::sync::Arc;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::{DateTime, Duration, FixedOffset, Utc};

use boomerang_core::{Boomerang, Error};
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::{CustomerRecord, ProfilePatch};
use boomerang_core::domain::ids::{Currency, CustomerId, ReceiptId, RefundId, StoreId};
use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::domain::purchase::{decide_purchase, Backdating, PurchaseRequest, RefundRequest};
use boomerang_core::domain::triggers::{Episode, Outcome, OutcomeStatus};
use boomerang_core::ports::{BurnCommit, CustomerReader, KeyStore, ReportStore, StoreError, SweepStore};
use boomerang_dynamodb::{DynamoStore, RequestMetrics};
use boomerang_dynamodb::items::{self, Item};

const NOW: &str = "2026-03-10T09:00:00Z";

fn now() -> DateTime<Utc> {
    NOW.parse().expect("a valid instant")
}

fn local(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).expect("a valid RFC 3339 instant")
}

fn purchase(customer: &str, receipt: &str, amount_minor: u64, redeem_points: u64, at: &str) -> PurchaseRequest {
    PurchaseRequest {
        receipt_id: ReceiptId::parse(receipt).expect("a receipt id"),
        customer_id: CustomerId::parse(customer).expect("a customer id"),
        amount_minor,
        currency: Currency::parse("RUB").expect("a currency"),
        occurred_at: local(at),
        store_id: StoreId::parse("shop-1").expect("a store id"),
        redeem_points,
    }
}

fn refund(refund_id: &str, receipt: &str, amount_minor: u64) -> RefundRequest {
    RefundRequest {
        customer_id: None,
        refund_id: RefundId::parse(refund_id).expect("a refund id"),
        receipt_id: ReceiptId::parse(receipt).expect("a receipt id"),
        amount_minor,
        occurred_at: local("2026-03-10T11:45:00+03:00"),
    }
}

async fn app() -> (Arc<DynamoStore>, Boomerang) {
    let store = Arc::new(common::fresh_store().await);
    let app = Boomerang::new(store.clone(), Arc::new(ProgramConfig::defaults()));
    (store, app)
}

/// [`app`] after anna's purchase r-1 of 1,000.00 at 11:30 on 2026-03-10 (its requests still counted).
async fn app_where_anna_bought() -> (Arc<DynamoStore>, Boomerang) {
    let (store, app) = app().await;
    app.purchase(&purchase("anna", "r-1", 100_000, 0, "2026-03-10T11:30:00+03:00"), now(), Backdating::Limited)
        .await
        .expect("a purchase");
    (store, app)
}

/// The metrics of `store` since the last reset, then resets them.
fn take(store: &DynamoStore) -> RequestMetrics {
    let m = store.metrics();
    store.reset_metrics();
    m
}

#[tokio::test]
async fn only_a_measured_store_counts_its_requests() {
    let (store, _) = app_where_anna_bought().await;
    // The store the functions and the CLI make: no counter on their path.
    let plain = DynamoStore::from_env(store.table()).await.expect("a client");
    let anna = CustomerId::parse("anna").expect("an id");
    assert!(plain.customer(&anna).await.expect("a read").is_some());
    assert_eq!(plain.metrics(), RequestMetrics::default(), "an unmeasured store counts nothing");
    store.reset_metrics();
    assert!(store.customer(&anna).await.expect("a read").is_some());
    assert_requests(&take(&store), &[("GetItem", 1)], "the measured store's read");
}

fn assert_requests(m: &RequestMetrics, expected: &[(&str, u64)], what: &str) {
    let want: Vec<(String, u64)> = expected.iter().map(|(op, n)| ((*op).to_owned(), *n)).collect();
    let got: Vec<(String, u64)> = m.requests.iter().map(|(op, n)| (op.clone(), *n)).collect();
    assert_eq!(got, want, "{what}: requests per operation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_is_two_requests_and_its_replay_one() {
    let (store, app) = app().await;
    let first = purchase("anna", "r-1", 100_000, 0, "2026-03-10T11:30:00+03:00");
    app.purchase(&first, now(), Backdating::Limited).await.expect("the first purchase");
    let m = take(&store);
    assert_requests(&m, &[("BatchGetItem", 1), ("TransactWriteItems", 1)], "a purchase that creates the customer");
    eprintln!("purchase creating the customer: {} bytes written", m.total_write_bytes());

    let spend = purchase("anna", "r-2", 20_000, 40, "2026-03-10T11:40:00+03:00");
    let outcome = app.purchase(&spend, now(), Backdating::Limited).await.expect("a purchase with a spend");
    assert_eq!(outcome.receipt.redeem_points, 40);
    let m = take(&store);
    assert_requests(&m, &[("BatchGetItem", 1), ("TransactWriteItems", 1)], "a purchase that spends points");
    eprintln!("purchase with a spend: {} bytes written", m.total_write_bytes());

    let replay = app.purchase(&spend, now(), Backdating::Limited).await.expect("the replay");
    assert!(replay.replayed);
    assert_requests(&take(&store), &[("BatchGetItem", 1)], "a replayed purchase");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_balance_read_is_one_request() {
    let (store, app) = app_where_anna_bought().await;
    store.reset_metrics();
    let balance = app.balance(&CustomerId::parse("anna").expect("an id"), now()).await.expect("the balance");
    assert_eq!(balance.balance, 50);
    assert_requests(&take(&store), &[("GetItem", 1)], "a balance read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_naming_its_customer_is_two_requests_and_its_replay_one() {
    let (store, app) = app_where_anna_bought().await;
    store.reset_metrics();
    let req = RefundRequest { customer_id: Some(CustomerId::parse("anna").expect("an id")), ..refund("f-1", "r-1", 40_000) };
    app.refund(&req, now()).await.expect("the refund");
    // Refund, receipt and customer come in one BatchGetItem.
    let m = take(&store);
    assert_requests(&m, &[("BatchGetItem", 1), ("TransactWriteItems", 1)], "a refund naming its customer");
    eprintln!("refund: {} bytes written", m.total_write_bytes());

    let replay = app.refund(&req, now()).await.expect("the replay");
    assert!(replay.replayed);
    assert_requests(&take(&store), &[("BatchGetItem", 1)], "a replayed refund naming its customer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_without_its_customer_is_three_requests_and_its_replay_two() {
    let (store, app) = app_where_anna_bought().await;
    store.reset_metrics();
    let req = refund("f-1", "r-1", 40_000);
    app.refund(&req, now()).await.expect("the refund");
    // Without customer_id, the customer's key is known only once the receipt is read.
    let m = take(&store);
    assert_requests(&m, &[("BatchGetItem", 1), ("GetItem", 1), ("TransactWriteItems", 1)], "a refund");

    let replay = app.refund(&req, now()).await.expect("the replay");
    assert!(replay.replayed);
    // The port's refund view carries the customer whenever the receipt exists.
    assert_requests(&take(&store), &[("BatchGetItem", 1), ("GetItem", 1)], "a replayed refund");

    // A wrong guess costs the same as none, and is refused.
    let wrong = RefundRequest { customer_id: Some(CustomerId::parse("boris").expect("an id")), ..refund("f-2", "r-1", 1) };
    let result = app.refund(&wrong, now()).await;
    assert!(matches!(result, Err(Error::RefundCustomerMismatch)), "{result:?}");
    assert_requests(&take(&store), &[("BatchGetItem", 1), ("GetItem", 1)], "a refund naming another customer");
}

/// A customer's receipts of a window for the reports: one `Query` (plus further pages), read
/// from `by_customer_purchase` alone, refunds included; an empty window costs the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_receipts_of_a_window_are_one_query() {
    let (store, app) = app().await;
    for (customer, receipt) in [("anna", "r-1"), ("anna", "r-2"), ("boris", "r-3")] {
        let req = purchase(customer, receipt, 100_000, 0, "2026-03-10T11:30:00+03:00");
        app.purchase(&req, now(), Backdating::Limited).await.expect("a purchase");
    }
    app.refund(&refund("f-1", "r-2", 40_000), now()).await.expect("the refund");
    store.reset_metrics();

    let queries = [("Query", 1)];
    let (anna, day) = (CustomerId::parse("anna").expect("an id"), "2026-03-10".parse().expect("a date"));
    let receipts = store.receipts_of(&anna, day, day).await.expect("query");
    let listed: Vec<(&str, u64)> = receipts.iter().map(|r| (r.receipt_id.as_str(), r.refund.refunded_minor)).collect();
    assert_eq!(listed, [("r-1", 0), ("r-2", 40_000)], "anna's receipts, the refund on the second, not boris's");
    assert_requests(&take(&store), &queries, "receipts_of");
    let next = "2026-03-11".parse().expect("a date");
    assert!(store.receipts_of(&anna, next, next).await.expect("query").is_empty());
    assert_requests(&take(&store), &queries, "receipts_of a window without purchases");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_write_is_one_read_and_one_conditional_put() {
    let (store, app) = app().await;
    let anna = CustomerId::parse("anna").expect("an id");
    // The secret the referral codes derive from, made and kept by the app once.
    app.unsubscribe_token(&anna).await.expect("a token");
    take(&store);
    let patch = ProfilePatch { name: Some(Some("Anna".into())), ..ProfilePatch::default() };
    app.enroll(&anna, &patch, now()).await.expect("enrolled");
    // The record and its new referral code's reservation, in one transaction.
    assert_requests(&take(&store), &[("GetItem", 1), ("TransactWriteItems", 1)], "an enrollment");
    let renamed = ProfilePatch { name: Some(Some("Anna K".into())), ..ProfilePatch::default() };
    app.enroll(&anna, &renamed, now()).await.expect("updated");
    assert_requests(&take(&store), &[("GetItem", 1), ("PutItem", 1)], "a profile update");
    // A friend with Anna's code: the code's owner and the owner's record are read too.
    let code = app.customer(&anna).await.expect("anna").referral.code.expect("a code");
    take(&store);
    let editor = boomerang_core::domain::customer::ProfileEditor::admin();
    let boris = CustomerId::parse("boris").expect("an id");
    app.enroll_referred(&boris, &ProfilePatch::default(), &editor, Some(&code), now()).await.expect("referred");
    assert_requests(&take(&store), &[("GetItem", 3), ("TransactWriteItems", 1)], "an enrollment with a code");
    app.erase(&anna, now()).await.expect("erased");
    // The record, and one Query of the customer's surveys (none here) whose comments go too.
    assert_requests(&take(&store), &[("GetItem", 1), ("PutItem", 1), ("Query", 1)], "an erasure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_the_secret_take_a_fixed_number_of_requests() {
    let (store, app) = app().await;
    let till = boomerang_core::domain::ids::TerminalName::parse("till-1").expect("a terminal");
    let key = app.issue_key(till.clone(), false, [7; 32], now()).await.expect("a key");
    assert_requests(&take(&store), &[("TransactWriteItems", 1)], "issuing a key");
    app.authenticate(Some(&format!("Bearer {key}"))).await.expect("the key works");
    assert_requests(&take(&store), &[("GetItem", 1)], "authenticating");
    assert_eq!(store.list_keys().await.expect("the keys").len(), 1);
    assert_requests(&take(&store), &[("Query", 1)], "listing keys (never a scan)");
    assert_eq!(store.revoke_key(&till, now()).await.expect("revoked"), 1);
    assert_requests(&take(&store), &[("GetItem", 1), ("TransactWriteItems", 1)], "revoking a key");

    app.unsubscribe_token(&CustomerId::parse("anna").expect("an id")).await.expect("a token");
    assert_requests(&take(&store), &[("GetItem", 2), ("PutItem", 1)], "the secret's first use");
    app.unsubscribe_token(&CustomerId::parse("anna").expect("an id")).await.expect("a token");
    // The app keeps the secret once read: later uses cost no request at all.
    assert_requests(&take(&store), &[], "the secret's later uses");
}

fn outcome(customer: &str, trigger: TriggerKind, episode: Episode) -> Outcome {
    common::outcome(customer, trigger, episode, now())
}

/// The sweep's operations cost a fixed number of requests: one per write (a transaction when
/// a gift or a burn goes with it), one per item read, one `Query` per shard for a listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeps_operations_take_a_fixed_number_of_requests() {
    let (store, app) = app_where_anna_bought().await;
    let anna = app.customer(&CustomerId::parse("anna").expect("an id")).await.expect("the customer");
    store.reset_metrics();

    let queries = [("Query", u64::from(boomerang_dynamodb::INDEX_SHARDS))];
    let found = store.customers_last_bought_on("2026-03-10".parse().expect("a date")).await.expect("query");
    assert_eq!(found.len(), 1);
    assert_requests(&take(&store), &queries, "customers_last_bought_on");
    store.customers_born_on(5, 17).await.expect("query");
    assert_requests(&take(&store), &queries, "customers_born_on");
    let expiring = anna.account.lots.keys().next().expect("a lot").expires_on;
    assert_eq!(store.customers_with_lots_expiring_on(expiring).await.expect("query").len(), 1);
    assert_requests(&take(&store), &queries, "customers_with_lots_expiring_on");

    // A birthday gift: the outcome, the record, the ledger item and the gift's marker.
    let decision = common::birthday_gift("anna", "2026-03-24", now());
    let gift = boomerang_store_contract::support::gift_commit(&anna, &decision);
    let gifted = gift.record.clone();
    store.record_outcome(&decision, Some(&gift)).await.expect("recorded with its gift");
    let m = take(&store);
    assert_requests(&m, &[("TransactWriteItems", 1)], "record_outcome with a gift");
    eprintln!("outcome with a gift: {} bytes written", m.total_write_bytes());
    let again = store.record_outcome(&decision, Some(&gift)).await;
    assert!(matches!(again, Err(StoreError::Duplicate)), "{again:?}");
    assert_requests(&take(&store), &[("TransactWriteItems", 1)], "a duplicate outcome with a gift");

    let held = Outcome {
        status: OutcomeStatus::Holdout,
        channel: None,
        ..outcome("boris", TriggerKind::Lapsed30, Episode::Lapse("2026-02-07".parse().expect("a date")))
    };
    store.record_outcome(&held, None).await.expect("recorded");
    let m = take(&store);
    assert_requests(&m, &[("PutItem", 1)], "record_outcome without a gift");
    eprintln!("outcome without a gift: {} bytes written", m.total_write_bytes());
    assert!(matches!(store.record_outcome(&held, None).await, Err(StoreError::Duplicate)));
    assert_requests(&take(&store), &[("PutItem", 1)], "a duplicate outcome without a gift");

    assert_eq!(store.outcome(&decision.key).await.expect("read"), Some(decision.clone()));
    assert_requests(&take(&store), &[("GetItem", 1)], "outcome");
    let sending = Outcome { status: OutcomeStatus::Sending, ..decision.clone() };
    store.update_outcome(&sending, OutcomeStatus::Pending).await.expect("pending to sending");
    assert_requests(&take(&store), &[("PutItem", 1)], "update_outcome");
    assert!(matches!(store.update_outcome(&sending, OutcomeStatus::Pending).await, Err(StoreError::Conflict)));
    assert_requests(&take(&store), &[("PutItem", 1)], "a refused update_outcome");
    assert_eq!(store.outcomes_on(decision.sweep_date).await.expect("query").len(), 2);
    assert_requests(&take(&store), &queries, "outcomes_on");

    let mut burned = gifted.clone();
    let entries = burned.account.burn_expired("2026-03-24".parse().expect("a date"), "burn:2026-03-24");
    burned.version += 1;
    let burn = BurnCommit {
        record: burned,
        expected_version: gifted.version,
        entries,
        burned_dates: vec!["2026-03-24".parse().expect("a date")],
        recorded_at: "2026-03-24T09:00:00Z".parse().expect("an instant"),
    };
    store.commit_burn(&burn).await.expect("the burn");
    let m = take(&store);
    assert_requests(&m, &[("TransactWriteItems", 1)], "commit_burn");
    eprintln!("burn of one date: {} bytes written", m.total_write_bytes());

    assert_eq!(store.last_completed_sweep().await.expect("read"), None);
    assert_requests(&take(&store), &[("GetItem", 1)], "last_completed_sweep");
    store.complete_sweep("2026-03-10".parse().expect("a date")).await.expect("completed");
    assert_requests(&take(&store), &[("PutItem", 1)], "complete_sweep");
    store.complete_sweep("2026-03-09".parse().expect("a date")).await.expect("an earlier date is ignored");
    assert_requests(&take(&store), &[("PutItem", 1)], "complete_sweep of an earlier date");
}

/// Writes items 25 at a time (BatchWriteItem's limit), retrying what comes back unprocessed.
async fn batch_write(store: &DynamoStore, all: Vec<Item>) {
    for chunk in all.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder().set_item(Some(item.clone())).build().expect("a put request");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        for _ in 0..10 {
            let out = store
                .client()
                .batch_write_item()
                .request_items(store.table(), requests)
                .send()
                .await
                .expect("BatchWriteItem");
            requests = out.unprocessed_items.and_then(|mut u| u.remove(store.table())).unwrap_or_default();
            if requests.is_empty() {
                break;
            }
        }
        assert!(requests.is_empty(), "BatchWriteItem left items unprocessed");
    }
}

/// Loads `customer` with `count` purchases from long ago, decided by the core's own rules (so
/// every lot has expired and burned) and written in bulk: receipts, ledger items and the
/// resulting customer record, as the commits would have written them.
async fn seed_old_history(store: &DynamoStore, customer: &str, count: u32) -> CustomerRecord {
    // About a day apart, ending in 2024: every lot (valid a year) has expired by now.
    seed_history(store, customer, count, "2019-06-01T07:00:00Z".parse().expect("an instant"), 22).await
}

/// `count` purchases `step_hours` apart from `start`, written straight to the table.
async fn seed_history(
    store: &DynamoStore,
    customer: &str,
    count: u32,
    start: DateTime<Utc>,
    step_hours: i64,
) -> CustomerRecord {
    let cfg = ProgramConfig::defaults();
    let id = CustomerId::parse(customer).expect("an id");
    let mut record = CustomerRecord::new(id.clone(), now());
    let moscow = FixedOffset::east_opt(3 * 3600).expect("an offset");
    let mut writes = Vec::new();
    for i in 0..count {
        let mut req = purchase(customer, &format!("{customer}-old-{i:04}"), 10_000 + u64::from(i % 7) * 1_000, 0, NOW);
        req.occurred_at = (start + Duration::hours(step_hours * i64::from(i))).with_timezone(&moscow);
        let decision =
            decide_purchase(&cfg, &record.account, &req, now(), Backdating::AnyAge).expect("an old purchase");
        record.account = decision.account;
        let receipt = decision.receipt;
        writes.push(items::receipt_item(&receipt).expect("a receipt item"));
        writes.push(
            items::ledger_item(customer, receipt.recorded_at, receipt.receipt_id.as_str(), &decision.entries)
                .expect("a ledger item"),
        );
    }
    record.version = u64::from(count);
    writes.push(items::customer_item(&record, record.version).expect("a customer item"));
    batch_write(store, writes).await;
    record
}

/// A customer's record is bounded by their live lots, never by their history: the same
/// purchase writes the same bytes for a customer with one prior purchase and for one with
/// 2,000 more purchases whose points have all expired. Only numbers differ in length (the
/// version, the earned and expired totals), by a few bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_writes_as_many_bytes_after_two_thousand_purchases_as_after_one() {
    let (store, app) = app().await;
    // Ids of equal length, so that they add the same bytes.
    let (one, many) = ("one-prior", "2k-priors");
    let old = seed_old_history(&store, many, 2_000).await;
    assert!(old.account.lots.is_empty(), "every old lot has burned");
    assert!(old.account.totals.expired > 0 && old.account.is_balanced());

    let mut measured = Vec::new();
    for customer in [one, many] {
        let recent = purchase(customer, &format!("{customer}-p1"), 50_000, 0, "2026-03-01T12:00:00+03:00");
        app.purchase(&recent, now(), Backdating::Limited).await.expect("a recent purchase");
        store.reset_metrics();
        let next = purchase(customer, &format!("{customer}-p2"), 30_000, 10, "2026-03-10T11:30:00+03:00");
        app.purchase(&next, now(), Backdating::Limited).await.expect("the measured purchase");
        let m = take(&store);
        assert_requests(&m, &[("BatchGetItem", 1), ("TransactWriteItems", 1)], customer);
        measured.push(m.write_bytes("TransactWriteItems"));
    }
    let after = app.customer(&CustomerId::parse(many).expect("an id")).await.expect("the customer");
    assert_eq!(after.version, 2_002, "2,000 seeded purchases and two more");
    let (one_bytes, many_bytes) = (measured[0], measured[1]);
    eprintln!("TransactWriteItems bytes of the same purchase: {one_bytes} after 1 purchase, {many_bytes} after 2,001");
    assert!(
        one_bytes.abs_diff(many_bytes) <= 48,
        "a purchase wrote {one_bytes} bytes after 1 prior purchase but {many_bytes} after 2,001: the record grows with history"
    );
    assert!(many_bytes < 4_096, "a purchase writes a few KB at most, got {many_bytes}");
}

/// What does grow the record is the number of live expiry dates, one lot per date (and per gift
/// source): at most `points_valid_days` of them for a customer who buys every day, so a
/// purchase of the busiest customer writes a bounded ~9 KB, not a size set by their history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_of_a_daily_shopper_writes_at_most_a_year_of_lot_dates() {
    let (store, app) = app().await;
    // 2,000 purchases 5 hours apart up to a day ago: 417 days, several a day.
    let start = now() - Duration::hours(5 * 2_000 + 24);
    let seeded = seed_history(&store, "daily", 2_000, start, 5).await;
    let valid_days = ProgramConfig::defaults().points_valid_days as usize;
    store.reset_metrics();
    let next = purchase("daily", "daily-next", 30_000, 10, "2026-03-10T11:30:00+03:00");
    app.purchase(&next, now(), Backdating::Limited).await.expect("the measured purchase");
    let m = take(&store);
    assert_requests(&m, &[("BatchGetItem", 1), ("TransactWriteItems", 1)], "a daily shopper's purchase");
    let after = app.customer(&CustomerId::parse("daily").expect("an id")).await.expect("the customer");
    let lots = after.account.lots.len();
    assert!(seeded.account.lots.len() > 300, "the seed keeps most of a year of dates: {}", seeded.account.lots.len());
    assert!(lots <= valid_days + 1, "one lot per live date: {lots} lots for {valid_days} valid days");
    let bytes = m.write_bytes("TransactWriteItems");
    eprintln!("a daily shopper's purchase: {bytes} bytes written, {lots} live lots");
    // ~2 KB of receipt (with its entries), record and day item, plus ~20 bytes per live date.
    assert!(bytes <= 2_400 + 24 * (valid_days as u64 + 1), "a purchase wrote {bytes} bytes for {lots} lots");
}

/// Two Lambda instances (two stores, two clients) writing one customer at once: every
/// conflicting commit is retried by the use case, and every success is in the final record.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_two_instances_are_retried_and_lose_nothing() {
    let cfg = Arc::new(ProgramConfig::defaults());
    let first = Arc::new(common::fresh_store().await);
    let second = Arc::new(common::same_table(&first).await);
    let apps = [Boomerang::new(first.clone(), cfg.clone()), Boomerang::new(second.clone(), cfg)];
    let anna = CustomerId::parse("anna").expect("an id");
    apps[0].enroll(&anna, &ProfilePatch::default(), now()).await.expect("enrolled");
    first.reset_metrics();

    let mut tasks = Vec::new();
    for i in 0..16u64 {
        let app = apps[(i % 2) as usize].clone();
        let req = purchase("anna", &format!("r-{i:02}"), 10_000 + i * 1_000, 0, "2026-03-10T11:30:00+03:00");
        tasks.push(tokio::spawn(async move {
            app.purchase(&req, now(), Backdating::Limited).await.map(|o| o.receipt.points_earned)
        }));
    }
    for i in 0..4u64 {
        let (app, anna) = (apps[(i % 2) as usize].clone(), anna.clone());
        let patch = ProfilePatch { name: Some(Some(format!("Anna {i}"))), ..ProfilePatch::default() };
        tasks.push(tokio::spawn(async move { app.enroll(&anna, &patch, now()).await.map(|_| 0) }));
    }
    let (mut earned, mut writes, mut gave_up) = (0, 0u64, 0);
    for task in tasks {
        match task.await.expect("the task finishes") {
            Ok(points) => {
                earned += points;
                writes += 1;
            }
            Err(Error::Contention) => gave_up += 1,
            Err(e) => panic!("a write failed: {e:?}"),
        }
    }
    let record = apps[0].customer(&anna).await.expect("the customer");
    assert_eq!(record.version, 1 + writes, "one version per successful write, none lost, none doubled");
    assert_eq!(record.account.totals.earned, earned, "every successful purchase's points are there");
    assert!(record.account.is_balanced());
    assert!(writes >= 1, "at least one write landed");

    // The conditional writes that failed were retried: more commits were sent than landed.
    let sent: u64 = [first.metrics(), second.metrics()]
        .iter()
        .map(|m| m.requests("TransactWriteItems") + m.requests("PutItem"))
        .sum();
    eprintln!("{writes} writes landed out of {sent} conditional commits sent; {gave_up} gave up");
    assert!(sent > writes, "20 concurrent writers on one record must have conflicted ({sent} sent, {writes} landed)");
}
