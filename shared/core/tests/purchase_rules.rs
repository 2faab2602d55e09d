//! Property tests of single rules against their plain statement: partial refunds that add up
//! to the receipt reverse it exactly, and the earn and cap rules for any program; then the
//! minimal cases the properties once found.

mod common;

use chrono::Duration;
use proptest::prelude::*;
use proptest::sample::Index;

use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::ids::{CustomerId, ReceiptId, RefundId, StoreId};
use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::domain::ledger::{Account, LotKey};
use boomerang_core::domain::purchase::{decide_purchase, decide_refund, Backdating, PurchaseRequest, PurchaseRuleError, RefundRequest};

use common::*;

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    /// Partial refunds that add up to the whole receipt reverse it exactly, whatever happens
    /// in between (time passing, lots expiring, the balance being spent down to nothing).
    #[test]
    fn partial_refunds_adding_up_to_the_receipt_reverse_it_exactly(
        k in knobs(),
        amount in 1u64..10_000_000,
        redeem_share in any::<Index>(),
        spare in 0u64..1_000,
        cuts in prop::collection::vec(any::<Index>(), 0..8),
        between in prop::collection::vec((0u32..=40, 0u32..24, prop::bool::ANY), 8),
    ) {
        let cfg = k.config();
        let now0 = start();
        let today0 = cfg.local_date(now0);
        let max_by_cap = u64::try_from(cap_minor(&cfg, amount) / u128::from(cfg.point_value_minor)).expect("fits");
        let redeem_points = redeem_share.index(usize::try_from(max_by_cap).expect("small") + 1) as u64;
        // A balance that covers the redemption with little to spare, so clawbacks run short;
        // it expires soon, so restored points often come back to a dead lot.
        let mut acc = Account::default();
        acc.gift(LotKey::gift(plus_days(today0, 20), TriggerKind::Lapsed60), redeem_points + spare, "seed");
        let req = PurchaseRequest {
            receipt_id: ReceiptId::parse("whole").expect("valid"),
            customer_id: CustomerId::parse("c1").expect("valid"),
            amount_minor: amount,
            currency: rub(),
            occurred_at: now0.fixed_offset(),
            store_id: StoreId::parse("s1").expect("valid"),
            redeem_points,
        };
        let d = decide_purchase(&cfg, &acc, &req, now0, Backdating::Limited)
            .map_err(|e| TestCaseError::fail(format!("purchase refused: {e}")))?;
        let (mut acc, mut rcpt) = (d.account, d.receipt);
        check_account(&acc, today0)?;

        let amount_ix = usize::try_from(amount).expect("small") + 1;
        let mut points: Vec<u64> = cuts.iter().map(|c| c.index(amount_ix) as u64).collect();
        points.push(0);
        points.push(amount);
        points.sort_unstable();
        let mut now = now0;
        let (mut clawed, mut written_off, mut restored) = (0u64, 0u64, 0u64);
        for (n, pair) in points.windows(2).enumerate() {
            let (days, hours, spend) = between[n % between.len()];
            now = now + Duration::days(days.into()) + Duration::hours(hours.into());
            let today = cfg.local_date(now);
            if spend {
                // Spend the whole live balance elsewhere, so the next clawback runs short.
                let balance = acc.balance(today);
                acc.redeem(balance, today, "elsewhere").expect("the balance covers itself");
            }
            let req = RefundRequest {
                customer_id: None,
                refund_id: RefundId::parse(&format!("f{n}")).expect("valid"),
                receipt_id: rcpt.receipt_id.clone(),
                amount_minor: pair[1] - pair[0],
                occurred_at: now.fixed_offset(),
            };
            let d = decide_refund(&cfg, &acc, &rcpt, &req, now)
                .map_err(|e| TestCaseError::fail(format!("refund refused: {e}")))?;
            clawed += d.refund.points_clawed_back;
            written_off += d.refund.points_written_off;
            restored += d.refund.points_restored;
            acc = d.account;
            rcpt = d.receipt;
            check_account(&acc, today)?;
            check_receipt(&rcpt)?;
        }
        prop_assert_eq!(rcpt.refund.refunded_minor, amount);
        prop_assert_eq!(clawed + written_off, rcpt.points_earned);
        prop_assert_eq!(restored, redeem_points);
        let p = rcpt.refund;
        prop_assert_eq!((clawed, written_off, restored), (p.clawed_back, p.written_off, p.restored));
    }

    /// The earn and cap rules against their plain statement, for any program.
    #[test]
    fn earn_and_cap_follow_the_program(
        earn_percent in 0u32..=100,
        redeem_max_percent in 0u32..=100,
        point_value_minor in 1u64..=1000,
        amount in 1u64..10_000_000,
        pick in prop_oneof![
            3 => any::<Index>().prop_map(Redeem::Within),
            1 => Just(Redeem::Zero),
            1 => (1u64..=3).prop_map(Redeem::OverCap),
            1 => any::<u64>().prop_map(Redeem::Raw),
        ],
    ) {
        let knobs = Knobs {
            earn_percent,
            redeem_max_percent,
            point_value_minor,
            points_valid_days: 365,
            restored_points_valid_days: 30,
        };
        let cfg = knobs.config();
        let cap = cap_minor(&cfg, amount);
        let max_points = u64::try_from(cap / u128::from(point_value_minor)).expect("fits");
        let redeem_points = match pick {
            Redeem::Within(i) => i.index(usize::try_from(max_points).expect("small") + 1) as u64,
            Redeem::Zero => 0,
            Redeem::OverCap(n) => max_points + n,
            Redeem::Raw(n) => n,
            Redeem::OverBalance(_) => unreachable!("not generated"),
        };
        // Enough points that only the cap can refuse.
        let mut account = Account::default();
        account.earn(LotKey::earned(plus_days(cfg.local_date(start()), 100)), u64::MAX / 2, "seed");
        let req = PurchaseRequest {
            receipt_id: ReceiptId::parse("r1").expect("valid"),
            customer_id: CustomerId::parse("c1").expect("valid"),
            amount_minor: amount,
            currency: rub(),
            occurred_at: start().fixed_offset(),
            store_id: StoreId::parse("s1").expect("valid"),
            redeem_points,
        };
        let got = decide_purchase(&cfg, &account, &req, start(), Backdating::Limited);
        if u128::from(redeem_points) * u128::from(point_value_minor) <= cap {
            let d = got.map_err(|e| TestCaseError::fail(format!("refused within the cap: {e}")))?;
            prop_assert_eq!(d.receipt.points_earned, expected_earn(&cfg, amount, redeem_points));
            prop_assert!(d.account.is_balanced());
        } else {
            prop_assert_eq!(got.map(|d| d.receipt), Err(PurchaseRuleError::RedeemCapExceeded { max_points }));
        }
        // The boundary itself: exactly the cap passes, one point more does not.
        let mut at_cap = req.clone();
        at_cap.redeem_points = max_points;
        prop_assert!(decide_purchase(&cfg, &account, &at_cap, start(), Backdating::Limited).is_ok());
        at_cap.redeem_points = max_points + 1;
        prop_assert_eq!(
            decide_purchase(&cfg, &account, &at_cap, start(), Backdating::Limited).map(|d| d.receipt),
            Err(PurchaseRuleError::RedeemCapExceeded { max_points })
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: minimal cases the properties found

fn request(id: &str, amount_minor: u64, redeem_points: u64) -> PurchaseRequest {
    PurchaseRequest {
        receipt_id: ReceiptId::parse(id).expect("valid"),
        customer_id: CustomerId::parse("c1").expect("valid"),
        amount_minor,
        currency: rub(),
        occurred_at: start().fixed_offset(),
        store_id: StoreId::parse("s1").expect("valid"),
        redeem_points,
    }
}

/// redeem_points * point_value_minor overflowing u64 used to report a cap of 0 points.
#[test]
fn an_overflowing_redemption_reports_the_real_cap() {
    let cfg = ProgramConfig::defaults(); // 30% cap, 1 point = 100 minor units
    let got = decide_purchase(
        &cfg,
        &Account::default(),
        &request("r1", 100_000, u64::MAX / 50),
        start(),
        Backdating::Limited,
    );
    assert_eq!(got.map(|d| d.receipt), Err(PurchaseRuleError::RedeemCapExceeded { max_points: 300 }));
}

/// A receipt of amount 0 is accepted; refunding it used to divide by zero.
#[test]
fn a_zero_amount_receipt_can_be_refunded() {
    let cfg = ProgramConfig::defaults();
    let d = decide_purchase(&cfg, &Account::default(), &request("zero", 0, 0), start(), Backdating::Limited)
        .expect("accepted");
    let req = RefundRequest {
        customer_id: None,
        refund_id: RefundId::parse("f1").expect("valid"),
        receipt_id: d.receipt.receipt_id.clone(),
        amount_minor: 0,
        occurred_at: start().fixed_offset(),
    };
    let r = decide_refund(&cfg, &d.account, &d.receipt, &req, start()).expect("refund of nothing");
    assert_eq!((r.refund.points_clawed_back, r.refund.points_restored, r.refund.points_written_off), (0, 0, 0));
    assert!(r.account.is_balanced());
}

