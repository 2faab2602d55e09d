//! The sweep reads what is due, never the base: a base of 20,000 customers with 50 due costs
//! the same DynamoDB requests as a base of 500 with the same 50 due.

mod common;

use std::sync::Arc;

use boomerang_core::app::sweep::SweepOptions;
use boomerang_core::Boomerang;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::{Consent, CustomerRecord};
use boomerang_core::domain::ids::{CustomerId, Email};
use boomerang_core::domain::ledger::LotKey;
use boomerang_dynamodb::{items, RequestMetrics};
use boomerang_store_contract::sweep_cases::{date, noon, RecordingMessenger};

const DUE: usize = 50;

/// A customer with an email and 50 points, whose last purchase was on `last`.
fn customer(id: &str, last: chrono::NaiveDate) -> CustomerRecord {
    let mut r = CustomerRecord::new(CustomerId::parse(id).unwrap(), noon(last));
    r.customer.email = Some(Email::parse(&format!("{id}@example.ru")).unwrap());
    r.customer.consent = Consent { email: true, sms: false };
    r.account.earn(LotKey::earned(last + chrono::Duration::days(365)), 50, "seed");
    r.account.last_purchase_on = Some(last);
    r.version = 1;
    r
}

/// Sweeps 2026-11-01 over a base of `size` customers, 50 of whom lapsed 31 days before.
async fn sweep_requests(size: usize) -> (RequestMetrics, u64) {
    let store = common::fresh_store().await;
    let day = date("2026-11-01");
    let mut base: Vec<CustomerRecord> = (0..DUE).map(|i| customer(&format!("due-{i}"), date("2026-10-01"))).collect();
    // The rest bought on other days: lapsed on no trigger's date, no lot expiring in 10 days.
    base.extend((DUE..size).map(|i| customer(&format!("c-{i}"), day - chrono::Duration::days(1 + (i % 25) as i64))));
    // Bulk-loaded: the seeding is not measured.
    let items = base.iter().map(|r| items::customer_item(r, r.version)).collect::<Result<Vec<_>, _>>().unwrap();
    store.bulk_put(items).await.unwrap();
    let store = Arc::new(store);
    // The triggers' cost alone: the survey reads the day before's purchasers, who here grow
    // with the base (its own cost is in docs/dynamodb.md).
    let config = ProgramConfig::from_toml_str("[triggers.lapsed_30]\nholdout_percent = 0\n[survey]\nenabled = false").unwrap();
    let app = Boomerang::new(store.clone(), Arc::new(config));
    let messenger = RecordingMessenger::default();
    store.reset_metrics();
    let report = app.sweep(&messenger, day, noon(day), SweepOptions::default()).await.unwrap();
    let sent = report.triggers.values().map(|c| c.sent_email).sum();
    (store.metrics(), sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_costs_the_same_requests_for_500_and_for_20000_customers_with_50_due() {
    let (small, sent_small) = sweep_requests(500).await;
    let (large, sent_large) = sweep_requests(20_000).await;
    assert_eq!((sent_small, sent_large), (DUE as u64, DUE as u64), "every due customer was messaged");
    assert_eq!(small.requests, large.requests, "requests per operation: 500 → {small:?}, 20,000 → {large:?}");
    assert_eq!(small.requests("Scan"), 0, "never a scan");
    println!("a sweep with {DUE} due: {} requests ({:?})", large.total_requests(), large.requests);
}
