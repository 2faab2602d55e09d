//! Builders shared by the report's tests.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate};

use crate::domain::book::{BookDelta, BookRead, DayFigures, DayRow};
use crate::domain::config::ProgramConfig;
use crate::domain::ids::{Currency, CustomerId, ReceiptId, RefundId, StoreId};
use crate::domain::kinds::{Channel, TriggerKind};
use crate::domain::ledger::LotKey;
use crate::domain::purchase::{Receipt, Refund, RefundProgress};
use crate::domain::triggers::{Episode, Outcome, OutcomeKey, OutcomeStatus};
use super::{compute, Report, ReportInput, TriggerRow};

pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.00005
}

pub fn outcome(customer: &str, trigger: TriggerKind, sweep: &str, status: OutcomeStatus) -> Outcome {
    let sweep_date = d(sweep);
    let sent = status == OutcomeStatus::Sent;
    Outcome {
        key: OutcomeKey {
            customer_id: CustomerId::parse(customer).unwrap(),
            trigger,
            episode: Episode::Lapse(sweep_date),
        },
        sweep_date,
        status,
        channel: sent.then_some(Channel::Email),
        unreachable: None,
        gift_points: 0,
        gift_expires_on: None,
        expiring_points: 0,
        decided_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        sent_at: None,
        error: None,
        valid_until: None,
        treated: sent,
        claim: None,
    }
}

pub fn gifted(mut o: Outcome, points: u64, expires: &str) -> Outcome {
    o.gift_points = points;
    o.gift_expires_on = Some(d(expires));
    o
}

pub fn receipt(id: &str, customer: &str, date: &str, amount: u64) -> Receipt {
    let occurred_at: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(&format!("{date}T12:00:00+03:00")).unwrap();
    Receipt {
        receipt_id: ReceiptId::parse(id).unwrap(),
        customer_id: CustomerId::parse(customer).unwrap(),
        amount_minor: amount,
        currency: Currency::parse("RUB").unwrap(),
        occurred_at,
        local_date: d(date),
        store_id: StoreId::parse("s1").unwrap(),
        redeem_points: 0,
        points_earned: 0,
        referral_points: 0,
        earned_lot: LotKey::earned(d("2030-01-01")),
        redeemed_from: BTreeMap::new(),
        balance_after: 0,
        recorded_at: "2026-12-31T00:00:00Z".parse().unwrap(),
        refund: RefundProgress::default(),
    }
}

pub fn run(cfg: &ProgramConfig, from: &str, to: &str, today: &str, outcomes: &[Outcome], receipts: &[Receipt]) -> Report {
    let book = book_of(receipts);
    compute(ReportInput { config: cfg, from: d(from), to: d(to), today: d(today), outcomes, receipts, book: &book })
}

/// The day book the receipts would have left: each receipt's purchase with its refunds so far.
pub fn book_of(receipts: &[Receipt]) -> BookRead {
    let mut days: BTreeMap<(NaiveDate, Option<String>), DayFigures> = BTreeMap::new();
    for r in receipts {
        let mut delta = BookDelta::purchase(r, &[], false).days;
        if r.refund.refunded_minor > 0 {
            let refund = Refund {
                refund_id: RefundId::parse("f").unwrap(),
                receipt_id: r.receipt_id.clone(),
                customer_id: r.customer_id.clone(),
                amount_minor: r.refund.refunded_minor,
                occurred_at: r.occurred_at,
                points_clawed_back: 0,
                points_restored: 0,
                points_written_off: 0,
                balance_after: 0,
                recorded_at: r.recorded_at,
            };
            for (key, f) in BookDelta::refund(r.local_date, r, &refund, &[], false).days {
                delta.entry(key).or_default().add(&f);
            }
        }
        for (key, f) in delta {
            days.entry(key).or_default().add(&f);
        }
    }
    let days = days.into_iter().map(|((date, store), figures)| DayRow { date, store, figures }).collect();
    BookRead { days, expiring: Vec::new() }
}

pub fn row<'a>(r: &'a Report, trigger: &str) -> &'a TriggerRow {
    r.rows.iter().find(|x| x.trigger == trigger).unwrap()
}

pub fn group(prefix: &str, t: TriggerKind, date: &str, status: OutcomeStatus, n: usize, responding: usize, amount: u64) -> (Vec<Outcome>, Vec<Receipt>) {
    let outcomes = (0..n).map(|i| outcome(&format!("{prefix}{i}"), t, date, status)).collect();
    let receipts = (0..responding).map(|i| receipt(&format!("r-{prefix}{i}"), &format!("{prefix}{i}"), date, amount)).collect();
    (outcomes, receipts)
}
