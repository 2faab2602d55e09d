//! What the trigger reports read: a customer's receipts, by the local date of the purchase.

use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::ports::{PurchaseCommit, Store};
use chrono::Duration;

use crate::StoreFactory;
use crate::support::{customer_id, date, local, purchase_commit_in, refund_commit_in, utc};

/// A program in New York (UTC-5 in February): 23:30 there is already the next day in UTC, and
/// 20:00 the evening before is already this day in UTC, so a store that dated receipts by UTC
/// (or by when they were recorded) lists the wrong ones.
fn new_york() -> ProgramConfig {
    ProgramConfig::from_toml_str("timezone = \"America/New_York\"").expect("a valid program")
}

/// Commits a purchase of 1000.00 made at `occurred_at` (New York time), recorded at
/// `recorded_at` (UTC), on top of `before`.
async fn bought(
    store: &dyn Store,
    before: Option<&CustomerRecord>,
    customer: &str,
    receipt: &str,
    occurred_at: &str,
    recorded_at: &str,
) -> PurchaseCommit {
    let commit = purchase_commit_in(&new_york(), before, customer, receipt, 100_000, 0, occurred_at, utc(recorded_at));
    store.commit_purchase(&commit).await.expect("the purchase commits");
    commit
}

/// Commits a purchase recorded half an hour after it was made.
async fn bought_at(
    store: &dyn Store,
    before: Option<&CustomerRecord>,
    customer: &str,
    receipt: &str,
    at: &str,
) -> PurchaseCommit {
    let recorded_at = local(at).with_timezone(&chrono::Utc) + Duration::minutes(30);
    bought(store, before, customer, receipt, at, &recorded_at.to_rfc3339()).await
}

pub async fn a_customers_receipts_are_listed_by_the_local_date_of_their_purchase(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    // Committed in an order that is not the receipt ids' order, which the listing must follow.
    let morning = bought_at(store, None, "anna", "z-morning", "2026-02-03T09:00:00-05:00").await;
    let late = bought_at(store, None, "boris", "m-late-evening", "2026-02-03T23:30:00-05:00").await;
    assert_eq!(
        (late.receipt.local_date, late.receipt.occurred_at.naive_utc().date()),
        (date("2026-02-03"), date("2026-02-04")),
        "23:30 in New York is 3 February locally, 4 February in UTC"
    );
    let evening_before = bought_at(store, None, "carl", "x-evening-before", "2026-02-02T20:00:00-05:00").await;
    assert_eq!(
        (evening_before.receipt.local_date, evening_before.receipt.occurred_at.naive_utc().date()),
        (date("2026-02-02"), date("2026-02-03")),
        "20:00 on 2 February in New York is 3 February in UTC"
    );
    let next_morning =
        bought_at(store, Some(&morning.record), "anna", "b-next-morning", "2026-02-04T08:00:00-05:00").await;
    let next_day = bought_at(store, None, "dora", "k-next-day", "2026-02-04T12:00:00-05:00").await;
    // An offline till's receipt of 3 February, recorded on the 6th, after the same customer's
    // receipt of the 4th: it counts on the day it happened.
    let offline = bought(
        store,
        Some(&next_day.record),
        "dora",
        "a-offline-till",
        "2026-02-03T12:00:00-05:00",
        "2026-02-06T15:00:00Z",
    )
    .await;
    assert_eq!(offline.receipt.local_date, date("2026-02-03"), "the backdated receipt's own date");

    // A partial refund, on another day: the receipt stays on its day, with the refund on it.
    let refund = refund_commit_in(
        &new_york(),
        &late.record,
        &late.receipt,
        "f-1",
        40_000,
        "2026-02-05T10:00:00-05:00",
        utc("2026-02-05T15:30:00Z"),
    );
    store.commit_refund(&refund).await.expect("the refund commits");
    let refunded = refund.receipt;
    assert_eq!((refunded.refund.refunds, refunded.refund.refunded_minor), (1, 40_000), "the refund's progress");

    let of = |customer: &'static str, from: &'static str, to: &'static str| async move {
        store.receipts_of(&customer_id(customer), date(from), date(to)).await.expect("query")
    };
    assert_eq!(
        of("dora", "2026-02-01", "2026-02-28").await,
        vec![offline.receipt.clone(), next_day.receipt],
        "dora's receipts in date order: the backdated one on the day it happened"
    );
    assert_eq!(of("dora", "2026-02-03", "2026-02-03").await, vec![offline.receipt]);
    let listed = of("boris", "2026-02-03", "2026-02-03").await;
    assert_eq!(listed, vec![refunded.clone()], "the 23:30 receipt on 3 February, as it is now");
    assert_eq!(listed[0].refund, refunded.refund, "the refund progress is on the listed receipt");
    assert!(of("boris", "2026-02-04", "2026-02-04").await.is_empty(), "not on 4 February");
    assert_eq!(of("anna", "2026-02-03", "2026-02-04").await, vec![morning.receipt, next_morning.receipt.clone()]);
    assert_eq!(of("anna", "2026-02-04", "2026-02-04").await, vec![next_morning.receipt]);
    assert_eq!(of("carl", "2026-02-02", "2026-02-02").await, vec![evening_before.receipt], "the evening before stays on its local day");
    assert!(of("carl", "2026-02-03", "2026-02-03").await.is_empty());
    // Neither the day the backdated receipt was recorded nor the refund's day has a purchase.
    for (customer, empty) in [("dora", "2026-02-06"), ("boris", "2026-02-05"), ("anna", "2026-03-01")] {
        let listed = of(customer, empty, empty).await;
        assert!(listed.is_empty(), "no purchase of {customer} on {empty}: {listed:?}");
    }
}
