//! The report's points and store figures, read from the day book the store keeps in the same
//! commits as receipts, refunds, gifts and burns. Every expected figure is computed here from
//! what the use cases returned (receipts, refunds, the customers' accounts), never from the
//! book itself, and the store section is checked against the figures the trigger report
//! computes from the raw receipts.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use boomerang_core::Boomerang;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::StoreId;
use boomerang_core::domain::kinds::{Channel, TriggerKind};
use boomerang_core::domain::purchase::{Backdating, Receipt, Refund};
use boomerang_core::domain::triggers::{Episode, OutcomeStatus};
use boomerang_core::ports::BurnCommit;
use boomerang_core::report::Report;

use crate::support::{customer_id, date, gift_commit, local, outcome, purchase_request, refund_request, utc, with_gift};
use crate::StoreFactory;

/// Points worth 0.50, 10 % earned, lots valid 30 days, receipts up to 30 days late, and two
/// named stores.
fn program() -> ProgramConfig {
    ProgramConfig::from_toml_str(
        "point_value_minor = 50\nearn_percent = 10\nredeem_max_percent = 100\npoints_valid_days = 30\n\
         max_backdate_days = 30\n[stores.tver]\nname = \"Tverskaya\"\ncity = \"Moscow\"\n\
         [stores.arbat]\nname = \"Arbat\"\n",
    )
    .expect("a valid program")
}

struct Shop {
    app: Boomerang,
    receipts: Vec<Receipt>,
    refunds: Vec<Refund>,
}

impl Shop {
    /// A purchase at `store`, made at `at` (Moscow time) and recorded at `recorded` (UTC).
    async fn buy(&mut self, customer: &str, id: &str, store: &str, amount: u64, redeem: u64, at: &str, recorded: &str) {
        let mut req = purchase_request(customer, id, amount, redeem);
        req.store_id = StoreId::parse(store).expect("a store id");
        req.occurred_at = local(at);
        let done = self.app.purchase(&req, utc(recorded), Backdating::Limited).await.expect("the purchase");
        self.receipts.push(done.receipt);
    }

    async fn refund(&mut self, id: &str, receipt: &str, amount: u64, at: &str, recorded: &str) {
        let receipt = self.receipts.iter().find(|r| r.receipt_id.as_str() == receipt).expect("a receipt").clone();
        let mut req = refund_request(id, &receipt, amount);
        req.occurred_at = local(at);
        let done = self.app.refund(&req, utc(recorded)).await.expect("the refund");
        let progress = done.refund.clone();
        for r in self.receipts.iter_mut().filter(|r| r.receipt_id == receipt.receipt_id) {
            r.refund.refunded_minor += amount;
        }
        self.refunds.push(progress);
    }

    async fn record(&self, customer: &str) -> CustomerRecord {
        self.app.store().customer(&customer_id(customer)).await.expect("read").expect("the customer exists")
    }

    /// The sweep's burn of `day` for one customer, as the sweep commits it.
    async fn burn(&self, customer: &str, day: &str) -> u64 {
        let mut record = self.record(customer).await;
        let expected_version = record.version;
        let entries = record.account.burn_expired(date(day), &format!("burn:{day}"));
        let burned_dates = entries.iter().map(|e| e.lot.expires_on).collect();
        record.version += 1;
        let points = entries.iter().map(|e| e.points).sum();
        let burn = BurnCommit { record, expected_version, entries, burned_dates, recorded_at: utc(&format!("{day}T03:00:00Z")) };
        self.app.store().commit_burn(&burn).await.expect("the burn commits");
        points
    }

    async fn report(&self, from: &str, to: &str, now: DateTime<Utc>) -> Report {
        self.app.trigger_report(date(from), date(to), now).await.expect("the report")
    }
}

/// Liability, burns, breakage, the months and the stores of a small shop's March: purchases
/// at two stores, points spent, a partial refund that claws back points already spent, a
/// gift that burns half spent, burns of earned lots, a receipt refunded in full after the
/// period and a receipt uploaded after the period but made in it.
pub async fn points_and_store_figures_follow_earn_spend_refunds_burns_and_gifts(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let app = Boomerang::new(fx.store.clone(), Arc::new(program()));
    let mut shop = Shop { app, receipts: Vec::new(), refunds: Vec::new() };

    // anna: 1000.00 at Tverskaya on 1 March: points expiring 31 March.
    shop.buy("anna", "r-1", "tver", 100_000, 0, "2026-03-01T10:00:00+03:00", "2026-03-01T07:05:00Z").await;
    // boris: 500.00 at Arbat on 2 March: points expiring 1 April.
    shop.buy("boris", "r-2", "arbat", 50_000, 0, "2026-03-02T10:00:00+03:00", "2026-03-02T07:05:00Z").await;
    // anna was reminded on 3 March (lapsed_30, sent) and came back on 5 March to Tverskaya,
    // spending 190 of her points on 200.00.
    let mut reminded = outcome("anna", TriggerKind::Lapsed30, Episode::Lapse(date("2026-03-03")), "2026-03-03");
    reminded.status = OutcomeStatus::Sent;
    reminded.channel = Some(Channel::Email);
    reminded.treated = true;
    shop.app.store().record_outcome(&reminded, None).await.expect("the outcome");
    shop.buy("anna", "r-3", "tver", 20_000, 190, "2026-03-05T12:00:00+03:00", "2026-03-05T09:05:00Z").await;
    // Half of the first receipt comes back on 6 March: half its points are owed, fewer are
    // left (the rest is written off).
    shop.refund("f-1", "r-1", 50_000, "2026-03-06T12:00:00+03:00", "2026-03-06T09:05:00Z").await;
    // boris gets 300 gift points on 7 March, expiring 21 March, and spends 100 of them.
    let gift = with_gift(
        outcome("boris", TriggerKind::Birthday, Episode::Birthday(2026), "2026-03-07"),
        300,
        "2026-03-21",
    );
    let boris = shop.record("boris").await;
    shop.app.store().record_outcome(&gift, Some(&gift_commit(&boris, &gift))).await.expect("the gift");
    shop.buy("boris", "r-4", "arbat", 100_000, 100, "2026-03-09T12:00:00+03:00", "2026-03-09T09:05:00Z").await;
    let at_march_10: Vec<CustomerRecord> = vec![shop.record("anna").await, shop.record("boris").await];
    // carl: a receipt of 9 March at Arbat, refunded in full on 2 April (after the period).
    shop.buy("carl", "r-5", "arbat", 30_000, 0, "2026-03-09T18:00:00+03:00", "2026-03-09T15:05:00Z").await;
    // The gift burns on 21 March with 200 points left.
    let gift_burned = shop.burn("boris", "2026-03-21").await;
    assert_eq!(gift_burned, 200, "300 gifted, 100 spent");
    let at_march_31: Vec<CustomerRecord> =
        vec![shop.record("anna").await, shop.record("boris").await, shop.record("carl").await];
    // After the period: an offline till's receipt of 30 March uploaded on 1 April, boris's
    // first lot burning on 1 April, carl's refund on 2 April.
    shop.buy("dora", "r-6", "tver", 40_000, 0, "2026-03-30T12:00:00+03:00", "2026-04-01T08:00:00Z").await;
    let april_burned = shop.burn("boris", "2026-04-01").await;
    shop.refund("f-2", "r-5", 30_000, "2026-04-02T12:00:00+03:00", "2026-04-02T09:05:00Z").await;

    let now = utc("2026-04-02T10:00:00Z");
    let report = shop.report("2026-03-01", "2026-03-31", now).await;
    let cfg = program();
    let points_of = |id: &str| shop.receipts.iter().find(|r| r.receipt_id.as_str() == id).expect("a receipt").points_earned;
    assert_eq!(april_burned, points_of("r-2"), "boris's first lot, untouched");

    // The months: March only, every movement on its own day.
    let march = &report.points.months[0];
    assert_eq!((march.month.as_str(), report.points.months[1].month.as_str()), ("2026-03", "total"));
    let earned: u64 = shop.receipts.iter().map(|r| r.points_earned).sum();
    let redeemed: u64 = shop.receipts.iter().map(|r| r.redeem_points).sum();
    assert_eq!(
        (march.earned, march.gifted, march.redeemed, march.expired),
        (earned, 300, redeemed, gift_burned),
        "earned by March's receipts (the late one too), the gift, spent, burned in March (not 1 April's burn)"
    );
    let march_refund = &shop.refunds[0];
    assert_eq!(
        (march.clawed_back, march.written_off, march.restored),
        (march_refund.points_clawed_back, march_refund.points_written_off, march_refund.points_restored),
        "March's refund only; April's counts in April"
    );
    assert!(march.written_off > 0 && march.clawed_back > 0, "the refund found part of its points spent");
    let expired = gift_burned as f64;
    assert_eq!(march.breakage, Some(expired / (expired + redeemed as f64)));

    // The liability at the end of March: the balances on 31 March as they stood then, and
    // dora's points of 30 March, uploaded later.
    let then: u64 = at_march_31.iter().map(|r| r.account.balance(date("2026-03-31"))).sum();
    assert_eq!(report.points.liability_points, then + points_of("r-6"));
    assert_eq!(report.points.liability_minor, report.points.liability_points * cfg.point_value_minor);
    // Burning in April: what is held now of the lots expiring in April, and what burned of them.
    let mut held_in_april = 0;
    for customer in ["anna", "boris", "carl", "dora"] {
        let record = shop.record(customer).await;
        held_in_april += record.account.lots.iter().filter(|(k, _)| k.expires_on > date("2026-03-31") && k.expires_on <= date("2026-04-30")).map(|(_, p)| p).sum::<u64>();
    }
    assert_eq!(report.points.burning[0].points, held_in_april + april_burned);
    assert_eq!(report.points.burning[0].value_minor, report.points.burning[0].points * cfg.point_value_minor);

    // The liability on 10 March: anna's and boris's balances then, and carl's points of 9 March.
    let report_10 = shop.report("2026-03-01", "2026-03-10", now).await;
    let then: u64 = at_march_10.iter().map(|r| r.account.balance(date("2026-03-10"))).sum();
    assert_eq!(report_10.points.liability_points, then + points_of("r-5"));

    // Per store: names from the program, figures from March's receipts net of every refund.
    let store = |id: &str| report.stores.iter().find(|s| s.store_id == id).expect("a store row").clone();
    let (tver, arbat) = (store("tver"), store("arbat"));
    assert_eq!((tver.name.as_deref(), tver.city.as_deref(), arbat.name.as_deref()), (Some("Tverskaya"), Some("Moscow"), Some("Arbat")));
    assert_eq!((tver.receipts, tver.revenue_minor), (3, 50_000 + 20_000 + 40_000), "the late receipt counts on its day");
    assert_eq!((arbat.receipts, arbat.revenue_minor), (2, 150_000), "carl's receipt, refunded in full later, does not count");
    assert_eq!(tver.avg_check_minor, Some(110_000 / 3));
    assert_eq!((tver.points_redeemed, arbat.points_redeemed), (190, 100));
    let earned_at = |s: &str| shop.receipts.iter().filter(|r| r.store_id.as_str() == s).map(|r| r.points_earned).sum::<u64>();
    assert_eq!((tver.points_earned, arbat.points_earned), (earned_at("tver"), earned_at("arbat")));
    assert_eq!((tver.responders, arbat.responders), (1, 0), "anna came back to Tverskaya");
    // The same figures as the trigger report's own, computed from every raw receipt.
    assert_eq!(report.stores.iter().map(|s| s.receipts).sum::<u64>(), report.all_purchases);
    assert_eq!(report.stores.iter().map(|s| s.revenue_minor).sum::<u64>(), report.all_revenue_minor);
}
