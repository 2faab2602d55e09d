//! Racing cases: many tills (tokio tasks) and sweeps on one customer or one date at once,
//! through the use cases, over any store. Each asserts invariants, never timings or an
//! interleaving: the record against its ledger rows as stored, the answers against what was
//! stored, each id applied at most once. A `contention` answer (the retries ran out) is an
//! allowed outcome under such load, but it must have changed nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use boomerang_core::app::sweep::SweepReport;
use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::{CustomerId, ReceiptId};
use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::domain::ledger::EntryKind;
use boomerang_core::domain::purchase::{Backdating, PurchaseRequest, Receipt, Refund};
use boomerang_core::domain::triggers::{Episode, OutcomeKey, OutcomeStatus};
use boomerang_core::ports::{MessageKey, RefundKeys, Store};
use boomerang_core::{Boomerang, Error};

use crate::audit::{account_faults, LedgerRows, LedgerSums};
use crate::support::{config, customer_id, now, purchase_request, refund_request};
use crate::sweep_cases::{date, noon, program, purchase_on, Shop};
use crate::StoreFactory;

/// The customer's record after a race, checked against their ledger rows as stored.
async fn audited(store: &dyn Store, rows: &dyn LedgerRows, id: &str) -> (CustomerRecord, LedgerSums) {
    let record = store.customer(&customer_id(id)).await.expect("read").expect("the customer exists");
    let entries = rows.entries(&record.customer.customer_id).await.expect("the ledger rows");
    let sums = LedgerSums::of(&entries);
    let faults = account_faults(&record, &sums);
    assert!(faults.is_empty(), "the record disagrees with its ledger rows: {faults:#?}");
    (record, sums)
}

async fn stored_receipt(store: &dyn Store, customer: &str, receipt: &ReceiptId) -> Option<Receipt> {
    store.purchase_view(&customer_id(customer), receipt).await.expect("view").receipt
}

/// How a batch of racing purchases ended.
#[derive(Default)]
struct Answers {
    applied: Vec<Receipt>,
    replayed: Vec<Receipt>,
    /// Refused by a rule (not enough points): nothing written.
    refused: Vec<(ReceiptId, u64)>,
    /// The retries ran out: allowed, but nothing written.
    contention: Vec<ReceiptId>,
}

async fn race_purchases(app: &Boomerang, requests: Vec<(PurchaseRequest, chrono::DateTime<chrono::Utc>)>) -> Answers {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(req, at)| {
            let app = app.clone();
            tokio::spawn(async move { (req.receipt_id.clone(), app.purchase(&req, at, Backdating::AnyAge).await) })
        })
        .collect();
    let mut answers = Answers::default();
    for task in tasks {
        match task.await.expect("the till finishes") {
            (_, Ok(o)) if o.replayed => answers.replayed.push(o.receipt),
            (_, Ok(o)) => answers.applied.push(o.receipt),
            (id, Err(Error::InsufficientPoints { balance })) => answers.refused.push((id, balance)),
            (id, Err(Error::Contention)) => answers.contention.push(id),
            (id, Err(e)) => panic!("purchase {id} failed unexpectedly: {e:?}"),
        }
    }
    answers
}

/// Every applied receipt is stored as answered with its entries once; every other one left
/// neither a receipt nor a ledger row.
async fn receipts_match_answers(store: &dyn Store, sums: &LedgerSums, customer: &str, answers: &Answers) {
    for receipt in &answers.applied {
        let id = &receipt.receipt_id;
        assert_eq!(stored_receipt(store, customer, id).await.as_ref(), Some(receipt), "receipt {id} as answered");
        assert_eq!(sums.referenced(EntryKind::Earn, id.as_str()), receipt.points_earned, "receipt {id} earned once");
        assert_eq!(sums.referenced(EntryKind::Redeem, id.as_str()), receipt.redeem_points, "receipt {id} spent once");
    }
    for id in answers.refused.iter().map(|(id, _)| id).chain(&answers.contention) {
        assert_eq!(stored_receipt(store, customer, id).await, None, "receipt {id} was refused, yet stored");
        assert_eq!(sums.any_referenced(id.as_str()), 0, "receipt {id} was refused, yet moved points");
    }
}

pub async fn tills_spending_from_one_balance_leave_what_their_answers_imply(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let rows = fx.ledger_rows();
    let app = Boomerang::new(fx.store.clone(), Arc::new(config()));
    let today = app.today(now());
    // 6,000.00 earns 300 points.
    let seed = app.purchase(&purchase_request("anna", "seed", 600_000, 0), now(), Backdating::Limited).await;
    let start = seed.expect("the seed purchase").receipt.balance_after;
    assert_eq!(start, 300);

    const SPEND: u64 = 20;
    let requests = (0..40).map(|i| (purchase_request("anna", &format!("spend-{i:02}"), 10_000, SPEND), now())).collect();
    let answers = race_purchases(&app, requests).await;
    assert!(answers.replayed.is_empty(), "every receipt id is new");
    assert!(!answers.applied.is_empty(), "at least one till got through");

    let (record, sums) = audited(fx.store.as_ref(), rows.as_ref(), "anna").await;
    receipts_match_answers(fx.store.as_ref(), &sums, "anna", &answers).await;
    let moved: i128 =
        answers.applied.iter().map(|r| i128::from(r.points_earned) - i128::from(r.redeem_points)).sum();
    assert_eq!(i128::from(record.account.balance(today)), i128::from(start) + moved, "the balance the answers imply");
    assert_eq!(record.version, 1 + answers.applied.len() as u64, "one write per applied spend");

    // Every spend moves the balance by the same step, so a serial history gives each applied
    // one its own balance: two answers with the same balance_after would be a lost update.
    let step = i128::from(answers.applied[0].points_earned) - i128::from(SPEND);
    let mut seen: Vec<i128> = answers.applied.iter().map(|r| i128::from(r.balance_after)).collect();
    seen.sort_unstable_by(|a, b| b.cmp(a));
    let serial: Vec<i128> = (1..=seen.len() as i128).map(|k| i128::from(start) + k * step).collect();
    assert_eq!(seen, serial, "the answers are not a serial history");
    for (id, balance) in &answers.refused {
        assert!(*balance < SPEND, "spend {id} was refused with {balance} points, enough for it");
    }
    if answers.contention.is_empty() {
        let fits = (0..).take_while(|k| i128::from(start) + k * step >= i128::from(SPEND)).count();
        assert_eq!(answers.applied.len(), fits, "without contention, every spend that fits lands");
    }
}

pub async fn one_receipt_from_twenty_tills_applies_once_and_replays_the_same_body(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let rows = fx.ledger_rows();
    let app = Boomerang::new(fx.store.clone(), Arc::new(config()));
    let req = purchase_request("anna", "r-same", 123_456, 0);
    let answers = race_purchases(&app, (0..20).map(|_| (req.clone(), now())).collect()).await;
    // Once one commit lands, every other till reads it and replays: someone always lands.
    assert_eq!(answers.applied.len(), 1, "exactly one till applies the receipt");
    let first = &answers.applied[0];
    for replay in &answers.replayed {
        assert_eq!(replay, first, "a replay answers the recorded body");
    }
    assert!(answers.refused.is_empty());
    let (record, sums) = audited(fx.store.as_ref(), rows.as_ref(), "anna").await;
    assert_eq!(stored_receipt(fx.store.as_ref(), "anna", &req.receipt_id).await.as_ref(), Some(first));
    assert_eq!(sums.referenced(EntryKind::Earn, "r-same"), first.points_earned, "earned once");
    assert_eq!((record.version, record.account.totals.earned), (1, first.points_earned), "written once");
}

pub async fn refunds_racing_past_the_receipt_never_refund_more_than_it(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let rows = fx.ledger_rows();
    let app = Boomerang::new(fx.store.clone(), Arc::new(config()));
    app.purchase(&purchase_request("anna", "seed", 100_000, 0), now(), Backdating::Limited).await.expect("seed");
    // 2,000.00 paid partly with 40 points: refunds claw back what it earned, restore what it spent.
    let bought = app.purchase(&purchase_request("anna", "r-1", 200_000, 40), now(), Backdating::Limited).await;
    let receipt = bought.expect("the purchase").receipt;

    const PART: u64 = 50_000; // a quarter: four fit, twelve race
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let app = app.clone();
            let req = refund_request(&format!("f-{i:02}"), &receipt, PART);
            tokio::spawn(async move { (req.refund_id.clone(), app.refund(&req, now()).await) })
        })
        .collect();
    let (mut ok, mut failed, mut contention): (Vec<Refund>, Vec<_>, usize) = (Vec::new(), Vec::new(), 0);
    for task in tasks {
        match task.await.expect("the till finishes") {
            (_, Ok(o)) => {
                assert!(!o.replayed, "every refund id is new");
                ok.push(o.refund);
            }
            (id, Err(Error::RefundExceedsRemaining { .. })) => failed.push(id),
            (id, Err(Error::Contention)) => {
                contention += 1;
                failed.push(id);
            }
            (id, Err(e)) => panic!("refund {id} failed unexpectedly: {e:?}"),
        }
    }
    let (record, sums) = audited(fx.store.as_ref(), rows.as_ref(), "anna").await;
    let refunded: u64 = ok.iter().map(|r| r.amount_minor).sum();
    assert!(refunded <= receipt.amount_minor, "refunded {refunded} of a {} receipt", receipt.amount_minor);
    let now_receipt = stored_receipt(fx.store.as_ref(), "anna", &receipt.receipt_id).await.expect("the receipt");
    assert_eq!(now_receipt.refund.refunded_minor, refunded, "the receipt counts exactly the answered refunds");
    assert_eq!(usize::try_from(now_receipt.refund.refunds).unwrap(), ok.len());
    for refund in &ok {
        let id = refund.refund_id.as_str();
        let view = fx.store.refund_view(RefundKeys::new(&refund.refund_id, &receipt.receipt_id, None)).await.expect("view");
        assert_eq!(view.refund.as_ref(), Some(refund), "refund {id} as answered");
        assert_eq!(sums.referenced(EntryKind::Clawback, id), refund.points_clawed_back, "refund {id} clawed back once");
        assert_eq!(sums.referenced(EntryKind::Restore, id), refund.points_restored, "refund {id} restored once");
    }
    for id in &failed {
        let view = fx.store.refund_view(RefundKeys::new(id, &receipt.receipt_id, None)).await.expect("view");
        assert_eq!(view.refund, None, "refund {id} was refused, yet stored");
        assert_eq!(sums.any_referenced(id.as_str()), 0, "refund {id} was refused, yet moved points");
    }
    let back: u64 = ok.iter().map(|r| r.points_restored).sum();
    let clawed: u64 = ok.iter().map(|r| r.points_clawed_back).sum();
    let today = app.today(now());
    assert_eq!(record.account.balance(today) + clawed, 50 + receipt.points_earned - receipt.redeem_points + back);
    if contention == 0 {
        assert_eq!((ok.len(), refunded), (4, receipt.amount_minor), "without contention the receipt is refunded in full");
    }
}

/// A sweep's answer under a race: done, or `contention` (allowed; it must have left nothing
/// half-done that a later run cannot finish).
fn swept(result: Result<SweepReport, Error>) {
    match result {
        Ok(_) | Err(Error::Contention) => {}
        Err(e) => panic!("the sweep failed unexpectedly: {e:?}"),
    }
}

pub async fn purchases_racing_the_sweeps_burn_and_gift_lose_no_point(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let rows = shop.ledger();
    let last = date("2026-09-01");
    let ids = shop.regulars("c", "first-", 4, last).await;
    // Day 61: a lapsed_60 gift of 300, valid 30 days, so it burns on day 91, the day the
    // lapsed_90 gift is due.
    shop.sweep(date("2026-11-01")).await;
    shop.sweep(date("2026-11-30")).await;
    let day = date("2026-12-01");

    let sweep = {
        let (app, messenger) = (shop.app.clone(), &shop.messenger);
        async move { app.sweep(messenger, day, noon(day), Default::default()).await }
    };
    let purchases: Vec<_> = ids
        .iter()
        .flat_map(|id| {
            // Two earn, one spends 30 of the 50 earned points (the gift lot is dead today).
            [(100_000, 0), (50_000, 0), (30_000, 30)]
                .into_iter()
                .enumerate()
                .map(move |(n, (amount, redeem))| (purchase_on(id, &format!("{id}-race-{n}"), day, amount, redeem), noon(day)))
        })
        .collect();
    let (result, answers) = tokio::join!(sweep, race_purchases(&shop.app, purchases));
    swept(result);
    // Whatever the race left waiting is finished by a later run.
    swept(shop.sweep_with(day, Default::default()).await);

    let today = day;
    let sent_keys = shop.messenger.sent();
    for id in &ids {
        let (record, sums) = audited(shop.store.as_ref(), rows.as_ref(), id).await;
        let mine = Answers {
            applied: answers.applied.iter().filter(|r| r.customer_id.as_str() == id).cloned().collect(),
            refused: answers.refused.iter().filter(|(r, _)| r.as_str().starts_with(&format!("{id}-"))).cloned().collect(),
            contention: answers.contention.iter().filter(|r| r.as_str().starts_with(&format!("{id}-"))).cloned().collect(),
            replayed: Vec::new(),
        };
        receipts_match_answers(shop.store.as_ref(), &sums, id, &mine).await;
        assert_eq!(sums.referenced(EntryKind::Expire, &format!("burn:{day}")), 300, "{id}: the dead gift burned once");
        assert!(record.account.lots.keys().all(|lot| lot.expires_on > today), "{id}: a dead lot is left");

        let key = OutcomeKey {
            customer_id: CustomerId::parse(id).unwrap(),
            trigger: TriggerKind::Lapsed90,
            episode: Episode::Lapse(last),
        };
        let outcome = shop.store.outcome(&key).await.expect("outcome");
        let credited = outcome.as_ref().is_some_and(|o| o.gift_expires_on.is_some());
        let gift = sums.referenced(EntryKind::Gift, &key.reference());
        assert_eq!(gift, if credited { 300 } else { 0 }, "{id}: the lapsed_90 gift is in the ledger as its outcome says");
        let messages = sent_keys.iter().filter(|m| m.key == MessageKey::from(&key)).count();
        assert!(messages <= 1, "{id}: {messages} messages for one episode");
        if messages == 1 {
            assert!(credited, "{id}: a message went without its gift");
            assert_eq!(outcome.as_ref().map(|o| o.status), Some(OutcomeStatus::Sent));
        }
        let moved: i128 = mine.applied.iter().map(|r| i128::from(r.points_earned) - i128::from(r.redeem_points)).sum();
        // 50 earned first, 300 gifted then burned, the race's purchases, and the new gift.
        let expected = 50 + moved + if credited { 300 } else { 0 };
        assert_eq!(i128::from(record.account.balance(today)), expected, "{id}: the balance its answers imply");
    }
}

pub async fn two_sweeps_of_one_date_send_each_message_and_credit_each_gift_once(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let rows = shop.ledger();
    let last = date("2026-09-01");
    let ids = shop.regulars("c", "first-", 8, last).await;
    let day = date("2026-11-01"); // day 61: lapsed_60 with a 300-point gift for everyone

    let (a, b) = (shop.app.clone().with_owner("sweep-a"), shop.app.clone().with_owner("sweep-b"));
    let messenger = &shop.messenger;
    let (ra, rb) = tokio::join!(
        a.sweep(messenger, day, noon(day), Default::default()),
        b.sweep(messenger, day, noon(day), Default::default())
    );
    swept(ra);
    swept(rb);
    // A third run finishes what contention left; it must not repeat anything.
    swept(shop.sweep_with(day, Default::default()).await);

    let mut per_key: BTreeMap<MessageKey, usize> = BTreeMap::new();
    for m in shop.messenger.sent() {
        *per_key.entry(m.key).or_default() += 1;
    }
    for id in &ids {
        let key = OutcomeKey {
            customer_id: CustomerId::parse(id).unwrap(),
            trigger: TriggerKind::Lapsed60,
            episode: Episode::Lapse(last),
        };
        let (record, sums) = audited(shop.store.as_ref(), rows.as_ref(), id).await;
        assert_eq!(per_key.get(&MessageKey::from(&key)).copied(), Some(1), "{id}: one message, not two");
        let outcome = shop.store.outcome(&key).await.expect("outcome").expect("decided");
        assert_eq!(outcome.status, OutcomeStatus::Sent, "{id}");
        assert_eq!(sums.referenced(EntryKind::Gift, &key.reference()), 300, "{id}: the gift once");
        assert_eq!(record.account.balance(day), 350, "{id}");
    }
    assert_eq!(per_key.len(), ids.len(), "no other message went out");
}

/// Expands to one test per racing case, each given `$factory`, whose fixtures must read their
/// ledger rows back ([`Fixture::with_ledger`](crate::Fixture::with_ledger)).
#[macro_export]
macro_rules! racing_contract_tests {
    ($factory:expr $(,)?) => {
        mod racing_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::__contract_cases! {
                racing;
                ($factory);
                tills_spending_from_one_balance_leave_what_their_answers_imply,
                one_receipt_from_twenty_tills_applies_once_and_replays_the_same_body,
                refunds_racing_past_the_receipt_never_refund_more_than_it,
                purchases_racing_the_sweeps_burn_and_gift_lose_no_point,
                two_sweeps_of_one_date_send_each_message_and_credit_each_gift_once,
            }
        }
    };
}
