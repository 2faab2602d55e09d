//! Reports from the day book and per-outcome reads equal reports from every raw row: a
//! seeded shop of two months (purchases at three stores, points spent, receipts uploaded days
//! late, refunds partial and full, some after the period, trigger outcomes with and without
//! gifts, friends who enrolled with a referral code before the period), reported once through
//! the store's report reads and once by computing over every receipt of every customer.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};

use boomerang_core::Boomerang;
use boomerang_core::domain::book::{BookRead, DayFigures, DayRow};
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::{ProfileEditor, ProfilePatch};
use boomerang_core::domain::referral::ReferralCode;
use boomerang_core::domain::ids::StoreId;
use boomerang_core::domain::ledger::LotSource;
use boomerang_core::domain::kinds::{Channel, TriggerKind};
use boomerang_core::domain::purchase::{Backdating, Receipt};
use boomerang_core::domain::triggers::{Episode, OutcomeStatus};
use boomerang_core::report::{compute, ReportInput};

use crate::support::{customer_id, date, gift_commit, local, outcome, purchase_request, refund_request, utc, with_gift};
use crate::StoreFactory;

/// A small deterministic generator (64-bit LCG): the same shop on every run and store.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

const CUSTOMERS: u64 = 16;
const STORES: [&str; 3] = ["s-a", "s-b", "s-c"];
/// Friends who enroll with `REFERRER`'s code on the first day, before any purchase.
const FRIENDS: [&str; 4] = ["c-0", "c-1", "c-2", "c-3"];
const REFERRER: &str = "c-15";

/// A receipt waiting to be uploaded, or a refund waiting to be made, on a given day.
enum Later {
    Upload { customer: String, id: String, store: &'static str, amount: u64, made_on: NaiveDate },
    Refund { id: String, receipt: String, amount: u64 },
}

/// The raw day rows of every receipt: what the book should hold of them.
fn raw_days(receipts: &[Receipt]) -> Vec<DayRow> {
    let mut days: BTreeMap<(NaiveDate, String), DayFigures> = BTreeMap::new();
    for r in receipts {
        let f = days.entry((r.local_date, r.store_id.as_str().to_owned())).or_default();
        let refunded_in_full = r.amount_minor > 0 && r.refund.refunded_minor >= r.amount_minor;
        f.receipts += i64::from(!refunded_in_full);
        f.revenue_minor += (r.amount_minor - r.refund.refunded_minor) as i64;
        f.earned += r.points_earned as i64;
        f.redeemed += r.redeem_points as i64;
    }
    days.into_iter().map(|((date, store), figures)| DayRow { date, store: Some(store), figures }).collect()
}

pub async fn reports_from_the_book_equal_reports_from_every_raw_row(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let cfg = ProgramConfig::defaults();
    let app = Boomerang::new(fx.store.clone(), Arc::new(cfg.clone()));
    let store = app.store();
    let mut rng = Seeded(15);
    let (first, from, to, last) = (date("2026-03-20"), date("2026-04-01"), date("2026-04-30"), date("2026-05-20"));
    let mut later: BTreeMap<NaiveDate, Vec<Later>> = BTreeMap::new();
    let mut next_id = 0;
    let admin = ProfileEditor::admin();
    let patch = ProfilePatch::default();
    let enrolled_at = utc(&format!("{first}T08:00:00Z"));
    let referrer = app.enroll_referred(&customer_id(REFERRER), &patch, &admin, None, enrolled_at).await.expect("the referrer");
    let code: ReferralCode = referrer.record.referral.code.expect("a code");
    for friend in FRIENDS {
        app.enroll_referred(&customer_id(friend), &patch, &admin, Some(&code), enrolled_at).await.expect("a friend");
    }
    let mut day = first;
    while day <= last {
        // The sweep of the day decides first (at 06:00 UTC), for a few customers.
        if (from..=to).contains(&day) {
            for c in 0..CUSTOMERS {
                if rng.below(8) != 0 {
                    continue;
                }
                let customer = format!("c-{c}");
                let on = day.to_string();
                let mut o = outcome(&customer, TriggerKind::Lapsed30, Episode::Lapse(day), &on);
                o.status = if rng.below(3) == 0 { OutcomeStatus::Holdout } else { OutcomeStatus::Sent };
                o.treated = o.status == OutcomeStatus::Sent;
                o.channel = o.treated.then_some(Channel::Email);
                let record = store.customer(&customer_id(&customer)).await.expect("read");
                match record {
                    Some(record) if o.treated && rng.below(2) == 0 => {
                        let o = with_gift(o, 100, &(day + Duration::days(14)).to_string());
                        store.record_outcome(&o, Some(&gift_commit(&record, &o))).await.expect("a gift");
                    }
                    _ => store.record_outcome(&o, None).await.expect("an outcome"),
                }
            }
        }
        // Purchases of the day: most recorded at once, some uploaded days later.
        for c in 0..CUSTOMERS {
            if rng.below(6) != 0 {
                continue;
            }
            next_id += 1;
            let (customer, id) = (format!("c-{c}"), format!("r-{next_id:04}"));
            let store_id = STORES[rng.below(3) as usize];
            let amount = 10_000 + rng.below(400) * 1_000;
            if rng.below(8) == 0 {
                let upload_on = day + Duration::days(1 + rng.below(5) as i64);
                later.entry(upload_on).or_default().push(Later::Upload { customer, id, store: store_id, amount, made_on: day });
                continue;
            }
            buy(&app, &customer, &id, store_id, amount, day, day, &mut rng, &mut later).await;
        }
        for job in later.remove(&day).unwrap_or_default() {
            match job {
                Later::Upload { customer, id, store, amount, made_on } => {
                    buy(&app, &customer, &id, store, amount, made_on, day, &mut rng, &mut later).await;
                }
                Later::Refund { id, receipt, amount } => {
                    let view = store.purchase_view(&customer_id("c-0"), &crate::support::receipt_id(&receipt)).await.expect("view");
                    let receipt = view.receipt.expect("the receipt exists");
                    let mut req = refund_request(&id, &receipt, amount.min(receipt.refundable_minor()));
                    req.occurred_at = local(&format!("{day}T15:00:00+03:00"));
                    app.refund(&req, utc(&format!("{day}T12:30:00Z"))).await.expect("a refund");
                }
            }
        }
        day += Duration::days(1);
    }

    // A referred friend's purchase of the period refunded in part after it.
    let friend_receipts = store.receipts_of(&customer_id(FRIENDS[0]), from, to).await.expect("receipts");
    let refunded = friend_receipts.iter().find(|r| r.refund.refunded_minor == 0).expect("a friend's purchase in the period");
    let mut req = refund_request("f-friend", refunded, refunded.amount_minor / 2);
    req.occurred_at = local(&format!("{last}T15:00:00+03:00"));
    app.refund(&req, utc(&format!("{last}T12:30:00Z"))).await.expect("a friend's refund");

    let now = utc(&format!("{last}T20:00:00Z"));
    let via_store = app.trigger_report(from, to, now).await.expect("the report");
    let word_of_mouth = app.word_of_mouth_report(from, to).await.expect("the word-of-mouth report");

    // The same report over every raw row: every outcome of the period, every receipt of every
    // customer, and the book's receipt figures rebuilt from those receipts.
    let mut outcomes = Vec::new();
    for d in from.iter_days().take_while(|d| *d <= to) {
        outcomes.extend(store.outcomes_on(d).await.expect("outcomes"));
    }
    let mut receipts = Vec::new();
    for c in 0..CUSTOMERS {
        receipts.extend(store.receipts_of(&customer_id(&format!("c-{c}")), first, last).await.expect("receipts"));
    }
    assert!(receipts.len() > 100 && outcomes.len() > 30, "a shop of some size: {} receipts, {} outcomes", receipts.len(), outcomes.len());
    assert!(receipts.iter().any(|r| r.recorded_at.date_naive() > r.local_date + Duration::days(1)), "some uploaded late");
    assert!(receipts.iter().any(|r| r.refund.refunded_minor == r.amount_minor), "some refunded in full");
    let book = BookRead { days: raw_days(&receipts), expiring: Vec::new() };
    let raw = compute(ReportInput { config: &cfg, from, to, today: last, outcomes: &outcomes, receipts: &receipts, book: &book });

    assert_eq!(via_store.rows, raw.rows, "every trigger figure, from per-outcome reads and from every receipt");
    assert_eq!(
        (via_store.all_purchases, via_store.all_revenue_minor, via_store.all_avg_check_minor),
        (raw.all_purchases, raw.all_revenue_minor, raw.all_avg_check_minor),
        "the period's purchases, from the book and from every receipt"
    );
    assert_eq!(via_store.stores, raw.stores, "per store: receipts, revenue, points, responders");
    let months = |r: &boomerang_core::report::Report| -> Vec<(String, u64, u64)> {
        r.points.months.iter().map(|m| (m.month.clone(), m.earned, m.redeemed)).collect()
    };
    assert_eq!(months(&via_store), months(&raw), "points earned and spent in the period's month");
    let gifted: u64 = outcomes.iter().filter(|o| o.gift_points > 0).map(|o| o.gift_points).sum();
    assert!(gifted > 0);
    let friends_points: u64 = receipts.iter().filter(|r| (from..=to).contains(&r.local_date)).map(|r| r.referral_points).sum();
    assert_eq!(
        via_store.points.months[0].gifted,
        gifted + friends_points,
        "the gifts of April, on their sweep dates, and the friends' referral points"
    );

    // Every referred customer's purchases dated in the period, refunds (whenever made)
    // subtracted, though none of them enrolled in it.
    let referred: u64 = receipts
        .iter()
        .filter(|r| FRIENDS.contains(&r.customer_id.as_str()) && (from..=to).contains(&r.local_date))
        .map(|r| r.refundable_minor())
        .sum();
    let others: u64 = raw.all_revenue_minor - referred;
    assert!(referred > 0 && others > 0, "referred and other customers bought in the period");
    assert!(receipts.iter().any(|r| r.receipt_id.as_str() == refunded.receipt_id.as_str() && r.refund.refunded_minor > 0));
    assert_eq!(word_of_mouth.referrals.enrolled_with_code, 0, "the friends enrolled before the period");
    assert_eq!(word_of_mouth.referrals.referred_revenue_minor, referred, "the revenue of referred customers, from the book");

    // Referral points spent on receipts dated in the period, whoever enrolled when.
    let referral_spent: u64 = receipts
        .iter()
        .filter(|r| (from..=to).contains(&r.local_date))
        .flat_map(|r| r.redeemed_from.iter())
        .filter(|(lot, _)| lot.source == LotSource::Referral)
        .map(|(_, points)| *points)
        .sum();
    assert!(referral_spent > 0, "friends spent referral points in the period");
    assert_eq!(word_of_mouth.referrals.referral_points_redeemed, referral_spent, "referral points redeemed, from the book");
    assert_eq!(word_of_mouth.referrals.referral_points_cost_minor, referral_spent * app.config().point_value_minor);
}

/// Buys for `customer` at `store`: made on `made_on`, recorded on `recorded_on`, spending some
/// points now and then, and sometimes refunded later (in part or in full).
#[allow(clippy::too_many_arguments)]
async fn buy(
    app: &Boomerang,
    customer: &str,
    id: &str,
    store: &'static str,
    amount: u64,
    made_on: NaiveDate,
    recorded_on: NaiveDate,
    rng: &mut Seeded,
    later: &mut BTreeMap<NaiveDate, Vec<Later>>,
) {
    let balance = match app.store().customer(&customer_id(customer)).await.expect("read") {
        Some(r) => r.account.balance(recorded_on),
        None => 0,
    };
    let redeem = if rng.below(3) == 0 { balance.min(amount * 3 / 10 / 100) } else { 0 };
    let mut req = purchase_request(customer, id, amount, redeem);
    req.store_id = StoreId::parse(store).expect("a store id");
    req.occurred_at = local(&format!("{made_on}T12:00:00+03:00"));
    app.purchase(&req, utc(&format!("{recorded_on}T10:00:00Z")), Backdating::Limited).await.expect("a purchase");
    if rng.below(6) == 0 {
        let refund_on = recorded_on + Duration::days(1 + rng.below(20) as i64);
        let amount = if rng.below(2) == 0 { amount } else { amount / 2 };
        later.entry(refund_on).or_default().push(Later::Refund { id: format!("f-{id}"), receipt: id.to_owned(), amount });
    }
}
