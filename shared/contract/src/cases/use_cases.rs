//! The use cases of `boomerang_core::Boomerang` over the store: idempotency, concurrency and
//! bounded records. These are what the port's conditions exist for.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, FixedOffset};

use boomerang_core::{Boomerang, Error};
use boomerang_core::ports::RefundKeys;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::ReceiptId;
use boomerang_core::domain::ledger::LotKey;
use boomerang_core::domain::purchase::{Backdating, PurchaseRequest, Receipt, Refund};

use crate::support::{
    config, create, customer_id, date, now, purchase_request, receipt_id, refund_id, refund_request, terminal, utc,
};
use crate::{Fixture, StoreFactory};

fn app(fx: &Fixture, config: ProgramConfig) -> Boomerang {
    Boomerang::new(fx.store.clone(), Arc::new(config))
}

async fn record(app: &Boomerang, id: &str) -> CustomerRecord {
    app.store().customer(&customer_id(id)).await.expect("read").expect("the customer exists")
}

async fn stored_receipt(app: &Boomerang, customer: &str, receipt: &ReceiptId) -> Option<Receipt> {
    app.store().purchase_view(&customer_id(customer), receipt).await.expect("view").receipt
}

pub async fn a_replayed_purchase_returns_the_recorded_receipt(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let app = app(&fx, config());
    let req = purchase_request("anna", "r-1", 123_456, 0);
    let first = app.purchase(&req, now(), Backdating::Limited).await.expect("the purchase");
    assert!(!first.replayed, "the first call records the receipt");
    assert_eq!(first.receipt.points_earned, 61, "5% of 1234.56, rounded down");

    // A retry a minute later, e.g. after a lost response.
    let retry = app.purchase(&req, now() + Duration::minutes(1), Backdating::Limited).await.expect("the retry");
    assert!(retry.replayed, "the retry is a replay");
    assert_eq!(retry.receipt, first.receipt, "the replay returns the recorded receipt");
    let after = record(&app, "anna").await;
    assert_eq!((after.version, after.account.balance(date("2026-03-10"))), (1, 61), "the replay wrote nothing");
}

pub async fn a_receipt_id_reused_for_a_different_purchase_is_refused(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let app = app(&fx, config());
    app.purchase(&purchase_request("anna", "r-1", 100_000, 0), now(), Backdating::Limited).await.expect("purchase");
    let before = record(&app, "anna").await;

    let other_amount = purchase_request("anna", "r-1", 90_000, 0);
    let result = app.purchase(&other_amount, now(), Backdating::Limited).await;
    assert!(matches!(result, Err(Error::ReceiptConflict)), "same id, other amount: {result:?}");
    let other_customer = purchase_request("boris", "r-1", 100_000, 0);
    let result = app.purchase(&other_customer, now(), Backdating::Limited).await;
    assert!(matches!(result, Err(Error::ReceiptConflict)), "same id, other customer: {result:?}");

    assert_eq!(record(&app, "anna").await, before, "the first customer is unchanged");
    assert_eq!(app.store().customer(&customer_id("boris")).await.expect("read"), None, "boris was not created");
    assert_eq!(stored_receipt(&app, "anna", &receipt_id("r-1")).await.map(|r| r.amount_minor), Some(100_000));
}

pub async fn a_replayed_refund_returns_the_recorded_refund(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let app = app(&fx, config());
    let bought = app.purchase(&purchase_request("anna", "r-1", 100_000, 0), now(), Backdating::Limited).await;
    let receipt = bought.expect("purchase").receipt;
    let req = refund_request("f-1", &receipt, 40_000);
    let first = app.refund(&req, now()).await.expect("the refund");
    assert!(!first.replayed, "the first call records the refund");
    assert_eq!(first.refund.points_clawed_back, 20, "40% of the 50 points earned");

    let retry = app.refund(&req, now() + Duration::minutes(1)).await.expect("the retry");
    assert!(retry.replayed, "the retry is a replay");
    assert_eq!(retry.refund, first.refund, "the replay returns the recorded refund");
    let other = refund_request("f-1", &receipt, 10_000);
    let result = app.refund(&other, now()).await;
    assert!(matches!(result, Err(Error::RefundConflict)), "same refund id, other amount: {result:?}");

    let after = record(&app, "anna").await;
    assert_eq!((after.version, after.account.balance(date("2026-03-10"))), (2, 30), "one purchase, one refund");
    let view = app.store().refund_view(RefundKeys::new(&refund_id("f-1"), &receipt.receipt_id, None)).await.expect("view");
    assert_eq!(view.receipt.map(|r| r.refund.refunds), Some(1), "the receipt counts one refund");
}

pub async fn a_refund_naming_another_customer_is_refused_and_changes_nothing(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let app = app(&fx, config());
    let bought = app.purchase(&purchase_request("anna", "r-1", 100_000, 0), now(), Backdating::Limited).await;
    let receipt = bought.expect("purchase").receipt;
    app.purchase(&purchase_request("boris", "r-2", 100_000, 0), now(), Backdating::Limited).await.expect("purchase");
    let before = (record(&app, "anna").await, record(&app, "boris").await);

    let mut wrong = refund_request("f-1", &receipt, 40_000);
    wrong.customer_id = Some(customer_id("boris"));
    let result = app.refund(&wrong, now()).await;
    assert!(matches!(result, Err(Error::RefundCustomerMismatch)), "boris's name on anna's receipt: {result:?}");
    assert_eq!((record(&app, "anna").await, record(&app, "boris").await), before, "nobody changed");
    let view = app.store().refund_view(RefundKeys::new(&refund_id("f-1"), &receipt.receipt_id, None)).await.expect("view");
    assert_eq!((view.refund, view.receipt.map(|r| r.refund.refunds)), (None, Some(0)), "no refund recorded");

    let mut right = refund_request("f-1", &receipt, 40_000);
    right.customer_id = Some(customer_id("anna"));
    let first = app.refund(&right, now()).await.expect("the refund naming its customer");
    assert_eq!((first.replayed, first.refund.points_clawed_back), (false, 20), "recorded, 40% of 50 points");
    let unnamed = refund_request("f-1", &receipt, 40_000);
    let replay = app.refund(&unnamed, now()).await.expect("the same refund without the customer");
    assert!(replay.replayed && replay.refund == first.refund, "a replay, with or without customer_id");
    let result = app.refund(&wrong, now()).await;
    assert!(matches!(result, Err(Error::RefundConflict)), "the recorded refund is anna's: {result:?}");
}

pub async fn a_revoked_key_is_refused_at_once(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let app = app(&fx, config());
    let key = app.issue_key(terminal("till-1"), false, [7; 32], now()).await.expect("a key");
    let header = format!("Bearer {key}");
    let principal = app.authenticate(Some(&header)).await.expect("a live key authenticates");
    assert_eq!((principal.terminal, principal.admin), (terminal("till-1"), false));

    let again = app.issue_key(terminal("till-1"), false, [8; 32], now()).await;
    assert!(matches!(again, Err(Error::InvalidField { .. })), "a second live key is refused: {again:?}");
    assert_eq!(app.store().revoke_key(&terminal("till-1"), now()).await.expect("revoke"), 1);
    let result = app.authenticate(Some(&header)).await;
    assert!(matches!(result, Err(Error::Unauthorized)), "a revoked key is refused: {result:?}");

    let fresh = app.issue_key(terminal("till-1"), false, [9; 32], now()).await.expect("a new key");
    app.authenticate(Some(&format!("Bearer {fresh}"))).await.expect("the new key authenticates");
    let result = app.authenticate(Some(&header)).await;
    assert!(matches!(result, Err(Error::Unauthorized)), "the old key stays refused: {result:?}");
}

/// How a batch of concurrent calls ended.
struct Outcomes<T> {
    ok: Vec<T>,
    /// Refused by a rule (insufficient points, nothing left to refund).
    refused: Vec<ReceiptId>,
    /// Gave up after too many conflicts: allowed under load, but must have written nothing.
    contention: Vec<ReceiptId>,
}

async fn spend_concurrently(app: &Boomerang, requests: Vec<PurchaseRequest>) -> Outcomes<Receipt> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|req| {
            let app = app.clone();
            tokio::spawn(async move {
                let result = app.purchase(&req, now(), Backdating::Limited).await;
                (req.receipt_id, result)
            })
        })
        .collect();
    let mut out = Outcomes { ok: Vec::new(), refused: Vec::new(), contention: Vec::new() };
    for task in tasks {
        match task.await.expect("the task finishes") {
            (_, Ok(o)) => {
                assert!(!o.replayed, "every receipt id is new");
                out.ok.push(o.receipt);
            }
            (id, Err(Error::InsufficientPoints { .. })) => out.refused.push(id),
            (id, Err(Error::Contention)) => out.contention.push(id),
            (id, Err(e)) => panic!("purchase {id} failed unexpectedly: {e:?}"),
        }
    }
    out
}

pub async fn concurrent_spends_never_overdraw_the_balance(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    // Spends earn nothing here, so every successful one takes exactly 10 points.
    let app = app(&fx, ProgramConfig::from_toml_str("earn_percent = 0").expect("a valid config"));
    let today = app.today(now());
    let mut seed = CustomerRecord::new(customer_id("anna"), now());
    seed.account.earn(LotKey::earned(date("2026-12-01")), 300, "seed");
    create(fx.store.as_ref(), seed).await;

    let requests = (0..50).map(|i| purchase_request("anna", &format!("spend-{i:02}"), 10_000, 10)).collect();
    let out = spend_concurrently(&app, requests).await;
    let won = out.ok.len() as u64;
    assert!(won >= 1, "at least one spend got through");
    let after = record(&app, "anna").await;
    assert_eq!(after.account.balance(today), 300 - 10 * won, "each success took 10 points, nothing else did");
    assert_eq!(after.account.totals.spent, 10 * won, "the points that left are the successes'");
    assert!(after.account.is_balanced(), "the account identity holds");
    assert_eq!(after.version, 1 + won, "one write per success");

    // A serial history gives every success its own balance: 290, 280, ...
    let balances: BTreeSet<u64> = out.ok.iter().map(|r| r.balance_after).collect();
    let serial: BTreeSet<u64> = (1..=won).map(|k| 300 - 10 * k).collect();
    assert_eq!(balances, serial, "two spends saw the same balance: a lost update");

    for receipt in &out.ok {
        assert_eq!(stored_receipt(&app, "anna", &receipt.receipt_id).await.as_ref(), Some(receipt), "kept");
    }
    for id in out.refused.iter().chain(&out.contention) {
        assert_eq!(stored_receipt(&app, "anna", id).await, None, "failed spend {id} wrote a receipt");
    }
    if out.contention.is_empty() {
        assert_eq!((won, out.refused.len()), (30, 20), "without contention, 30 spends fit in 300 points");
    }
}

pub async fn concurrent_purchases_on_one_customer_all_land(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let app = app(&fx, config());
    let today = app.today(now());
    // The customer does not exist yet: the first commits race to create it.
    let requests = (0..20).map(|i| purchase_request("anna", &format!("buy-{i:02}"), 10_000 + i * 2_000, 0)).collect();
    let out = spend_concurrently(&app, requests).await;
    assert!(out.refused.is_empty(), "earning is never refused");
    assert!(!out.ok.is_empty(), "at least one purchase got through");
    let earned: u64 = out.ok.iter().map(|r| r.points_earned).sum();
    let after = record(&app, "anna").await;
    assert_eq!(after.account.balance(today), earned, "the balance is the sum of what was earned");
    assert_eq!(after.account.totals.earned, earned, "no earning was lost or counted twice");
    assert_eq!(after.version, out.ok.len() as u64, "one write per purchase");
    for receipt in &out.ok {
        assert_eq!(stored_receipt(&app, "anna", &receipt.receipt_id).await.as_ref(), Some(receipt), "kept");
    }
    for id in &out.contention {
        assert_eq!(stored_receipt(&app, "anna", id).await, None, "failed purchase {id} wrote a receipt");
    }
}

pub async fn concurrent_refunds_never_refund_more_than_the_receipt(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let app = app(&fx, config());
    let today = app.today(now());
    let bought = app.purchase(&purchase_request("anna", "r-1", 100_000, 0), now(), Backdating::Limited).await;
    let receipt = bought.expect("purchase").receipt;
    assert_eq!(receipt.points_earned, 50);

    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let app = app.clone();
            let req = refund_request(&format!("f-{i:02}"), &receipt, 20_000);
            tokio::spawn(async move { (req.refund_id.clone(), app.refund(&req, now()).await) })
        })
        .collect();
    let (mut ok, mut failed, mut contention): (Vec<Refund>, Vec<_>, usize) = (Vec::new(), Vec::new(), 0);
    for task in tasks {
        match task.await.expect("the task finishes") {
            (_, Ok(o)) => ok.push(o.refund),
            (id, Err(Error::RefundExceedsRemaining { .. })) => failed.push(id),
            (id, Err(Error::Contention)) => {
                contention += 1;
                failed.push(id);
            }
            (id, Err(e)) => panic!("refund {id} failed unexpectedly: {e:?}"),
        }
    }
    let won = ok.len() as u64;
    assert!((1..=5).contains(&won), "1 to 5 refunds of 200.00 fit in 1000.00, got {won}");
    let view = app.store().refund_view(RefundKeys::new(&refund_id("f-00"), &receipt.receipt_id, None)).await.expect("view");
    let now_receipt = view.receipt.expect("the receipt");
    assert_eq!(now_receipt.refund.refunded_minor, 20_000 * won, "the receipt counts exactly the successes");
    assert_eq!(u64::from(now_receipt.refund.refunds), won);
    let clawed: u64 = ok.iter().map(|r| r.points_clawed_back).sum();
    assert_eq!(now_receipt.refund.clawed_back, clawed, "clawed back points add up");
    let after = record(&app, "anna").await;
    assert_eq!(after.account.balance(today), 50 - clawed, "the balance lost exactly the clawed back points");
    assert!(after.account.is_balanced(), "the account identity holds");
    for id in &failed {
        let view = app.store().refund_view(RefundKeys::new(id, &receipt.receipt_id, None)).await.expect("view");
        assert_eq!(view.refund, None, "failed refund {id} was written");
    }
    if contention == 0 {
        assert_eq!((won, after.account.balance(today)), (5, 0), "without contention the receipt is fully refunded");
    }
}

/// The longest a lot can be in a record's JSON: `"date/longest_source":u64::MAX,`.
const MAX_LOT_JSON: usize = r#""2026-06-01/points_expiring":18446744073709551615,"#.len();

fn json_len(record: &CustomerRecord) -> usize {
    serde_json::to_vec(record).expect("a record serializes").len()
}

pub async fn two_thousand_purchases_over_five_years_keep_the_record_bounded(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let cfg = config();
    let valid_days = cfg.points_valid_days;
    let app = app(&fx, cfg);
    let now = utc("2026-06-01T09:00:00Z");
    let today = app.today(now);
    let moscow = FixedOffset::east_opt(3 * 3600).expect("a valid offset");
    let start = utc("2021-06-01T07:00:00Z");
    // 2,000 purchases about 22 hours apart: five years, every local date or so.
    let step = Duration::seconds(78_840);
    let (mut earned, mut live) = (0, 0);
    for i in 0..2_000 {
        let mut req = purchase_request("hist", &format!("hist-{i:04}"), 10_000 + (i % 7) * 1_000, 0);
        req.occurred_at = (start + step * i as i32).with_timezone(&moscow);
        let receipt = app.purchase(&req, now, Backdating::AnyAge).await.expect("an imported purchase").receipt;
        earned += receipt.points_earned;
        if receipt.earned_lot.expires_on > today {
            live += receipt.points_earned;
        }
    }
    let hist = record(&app, "hist").await;
    assert_eq!(hist.version, 2_000, "every purchase was written");
    assert_eq!(hist.account.totals.earned, earned, "every purchase earned");
    assert_eq!(hist.account.balance(today), live, "only the last year's points are live");
    assert_eq!(hist.account.totals.expired, earned - live, "older points burned");
    assert!(hist.account.is_balanced(), "the account identity holds");
    assert!(hist.account.lots.keys().all(|k| k.expires_on > today), "no dead lot is kept");
    let lot_bound = valid_days as usize + 1;
    assert!(hist.account.lots.len() <= lot_bound, "{} lots, over one per live date", hist.account.lots.len());

    // The same customer shape after only a few purchases.
    for (i, day) in ["2026-05-29", "2026-05-30", "2026-05-31"].into_iter().enumerate() {
        let mut req = purchase_request("few1", &format!("few-{i}"), 10_000, 0);
        req.occurred_at = utc(&format!("{day}T09:00:00Z")).with_timezone(&moscow);
        app.purchase(&req, now, Backdating::AnyAge).await.expect("a purchase");
    }
    let few = record(&app, "few1").await;
    // Room for every live date's lot, and for totals with up to 20 digits each.
    let bound = json_len(&few) + lot_bound * MAX_LOT_JSON + 6 * 20;
    let size = json_len(&hist);
    assert!(size <= bound, "the record grew with history: {size} bytes for 2,000 purchases, bound {bound}");
}
