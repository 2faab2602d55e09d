//! Builders shared by the cases. Commits are made by the core's own rules (not by hand), so
//! the store sees exactly the shapes the use cases give it.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use boomerang_core::domain::auth::ApiKeyRecord;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::{ConsentChange, ConsentSource, CustomerRecord};
use boomerang_core::domain::ids::{Currency, CustomerId, Email, Phone, ReceiptId, RefundId, StoreId, TerminalName};
use boomerang_core::domain::kinds::Channel;
use boomerang_core::domain::kinds::{Locale, MessageKind, TriggerKind};
use boomerang_core::domain::ledger::LotKey;
use boomerang_core::domain::purchase::{decide_purchase, decide_refund, Backdating, PurchaseRequest, Receipt, RefundRequest};
use boomerang_core::domain::triggers::{Episode, Outcome, OutcomeKey, OutcomeStatus};
use boomerang_core::ports::{Expected, MessageKey, RecordCommit, PurchaseCommit, RefundCommit, Store};

/// The instant every case calls "now": 12:00 in Moscow, the default program's zone.
pub const NOW: &str = "2026-03-10T09:00:00Z";

/// When the sample purchases happen: half an hour before [`NOW`], local time.
pub const PURCHASED_AT: &str = "2026-03-10T11:30:00+03:00";

/// When the sample refunds happen: after the purchase, before [`NOW`].
pub const REFUNDED_AT: &str = "2026-03-10T11:45:00+03:00";

pub fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("a valid UTC instant")
}

pub fn local(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).expect("a valid RFC 3339 instant")
}

pub fn now() -> DateTime<Utc> {
    utc(NOW)
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().expect("a valid date")
}

pub fn customer_id(s: &str) -> CustomerId {
    CustomerId::parse(s).expect("a valid customer id")
}

pub fn receipt_id(s: &str) -> ReceiptId {
    ReceiptId::parse(s).expect("a valid receipt id")
}

pub fn refund_id(s: &str) -> RefundId {
    RefundId::parse(s).expect("a valid refund id")
}

pub fn terminal(s: &str) -> TerminalName {
    TerminalName::parse(s).expect("a valid terminal name")
}

pub fn config() -> ProgramConfig {
    ProgramConfig::defaults()
}

/// A record with every field set, so a store that drops or mangles one is caught.
pub fn rich_record(id: &str) -> CustomerRecord {
    let mut record = CustomerRecord::new(customer_id(id), utc("2025-09-01T08:00:00Z"));
    let c = &mut record.customer;
    c.phone = Some(Phone::parse("+79161234567").expect("a valid phone"));
    c.email = Some(Email::parse("anna@example.ru").expect("a valid email"));
    c.name = Some("Анна Петрова".into());
    c.birthday = Some(date("1990-05-17"));
    c.consent.email = true;
    c.consent.sms = true;
    c.consent_details.email = Some(ConsentChange {
        granted: true,
        at: utc("2025-09-01T08:00:00Z"),
        source: ConsentSource::Pos(terminal("till-1")),
    });
    c.consent_details.sms =
        Some(ConsentChange { granted: true, at: utc("2026-02-01T09:30:00.5Z"), source: ConsentSource::Import });
    c.email_undeliverable_at = Some(utc("2026-02-15T12:00:00Z"));
    c.preferred_channel = Some(Channel::Sms);
    c.locale = Some(Locale::En);
    c.updated_at = utc("2026-03-01T10:15:30.123456789Z");
    let a = &mut record.account;
    a.earn(LotKey::earned(date("2026-09-01")), 120, "r-0");
    a.gift(LotKey::gift(date("2026-03-20"), TriggerKind::Birthday), 500, "gift:birthday:2026");
    a.redeem(20, date("2026-03-10"), "r-1").expect("the lots cover it");
    a.last_purchase_on = Some(date("2025-09-01"));
    record
}

/// Writes a new customer at version 1 and returns what was written.
pub async fn create(store: &dyn Store, mut record: CustomerRecord) -> CustomerRecord {
    record.version = Expected::Absent.next_version();
    store.put_customer(&record, Expected::Absent).await.expect("a new customer is written");
    record
}

pub fn purchase_request(customer: &str, receipt: &str, amount_minor: u64, redeem_points: u64) -> PurchaseRequest {
    PurchaseRequest {
        receipt_id: receipt_id(receipt),
        customer_id: customer_id(customer),
        amount_minor,
        currency: Currency::parse("RUB").expect("a valid currency"),
        occurred_at: local(PURCHASED_AT),
        store_id: StoreId::parse("shop-1").expect("a valid store id"),
        redeem_points,
    }
}

/// The commit the purchase use case would make on top of `before` (None: a new customer).
pub fn purchase_commit(
    before: Option<&CustomerRecord>,
    customer: &str,
    receipt: &str,
    amount_minor: u64,
    redeem_points: u64,
) -> PurchaseCommit {
    purchase_commit_in(&config(), before, customer, receipt, amount_minor, redeem_points, PURCHASED_AT, now())
}

/// The same, under the program `cfg` (its zone decides the receipt's local date), for a
/// purchase made at `occurred_at` (local time) and recorded at `recorded_at`.
#[allow(clippy::too_many_arguments)]
pub fn purchase_commit_in(
    cfg: &ProgramConfig,
    before: Option<&CustomerRecord>,
    customer: &str,
    receipt: &str,
    amount_minor: u64,
    redeem_points: u64,
    occurred_at: &str,
    recorded_at: DateTime<Utc>,
) -> PurchaseCommit {
    let before = before.cloned();
    let expected = Expected::of(&before);
    let mut record = before.unwrap_or_else(|| CustomerRecord::new(customer_id(customer), recorded_at));
    let mut req = purchase_request(customer, receipt, amount_minor, redeem_points);
    req.occurred_at = local(occurred_at);
    let decision =
        decide_purchase(cfg, &record.account, &req, recorded_at, Backdating::Limited).expect("a valid purchase");
    record.account = decision.account;
    record.version = expected.next_version();
    PurchaseCommit { record, expected, receipt: decision.receipt, entries: decision.entries, referral_reward: None }
}

/// Commits a purchase that must go through and returns it.
pub async fn purchased(
    store: &dyn Store,
    before: Option<&CustomerRecord>,
    customer: &str,
    receipt: &str,
    amount_minor: u64,
) -> PurchaseCommit {
    let commit = purchase_commit(before, customer, receipt, amount_minor, 0);
    store.commit_purchase(&commit).await.expect("the purchase commits");
    commit
}

pub fn refund_request(refund: &str, receipt: &Receipt, amount_minor: u64) -> RefundRequest {
    RefundRequest {
        customer_id: None,
        refund_id: refund_id(refund),
        receipt_id: receipt.receipt_id.clone(),
        amount_minor,
        occurred_at: local(REFUNDED_AT),
    }
}

/// The commit the refund use case would make, reading `record` and `receipt` as they are given.
pub fn refund_commit(record: &CustomerRecord, receipt: &Receipt, refund: &str, amount_minor: u64) -> RefundCommit {
    refund_commit_in(&config(), record, receipt, refund, amount_minor, REFUNDED_AT, now())
}

/// The same under the program `cfg`, for a refund made at `occurred_at` (local time) and
/// recorded at `recorded_at`.
pub fn refund_commit_in(
    cfg: &ProgramConfig,
    record: &CustomerRecord,
    receipt: &Receipt,
    refund: &str,
    amount_minor: u64,
    occurred_at: &str,
    recorded_at: DateTime<Utc>,
) -> RefundCommit {
    let mut req = refund_request(refund, receipt, amount_minor);
    req.occurred_at = local(occurred_at);
    let decision = decide_refund(cfg, &record.account, receipt, &req, recorded_at).expect("a valid refund");
    let mut record = record.clone();
    record.account = decision.account;
    record.version += 1;
    RefundCommit {
        expected_version: record.version - 1,
        expected_refunds: receipt.refund.refunds,
        record,
        receipt: decision.receipt,
        refund: decision.refund,
        entries: decision.entries,
    }
}

/// A decision of the sweep of `sweep_date` (decided at 06:00 UTC that day), pending a message
/// by email, without a gift.
pub fn outcome(customer: &str, trigger: TriggerKind, episode: Episode, sweep_date: &str) -> Outcome {
    Outcome {
        key: OutcomeKey { customer_id: customer_id(customer), trigger, episode },
        sweep_date: date(sweep_date),
        status: OutcomeStatus::Pending,
        channel: Some(Channel::Email),
        unreachable: None,
        gift_points: 0,
        gift_expires_on: None,
        expiring_points: 0,
        decided_at: utc(&format!("{sweep_date}T06:00:00Z")),
        sent_at: None,
        error: None,
        valid_until: Some(date(sweep_date)),
        treated: true,
        claim: None,
    }
}

/// The same decision with a gift of `points` valid until `expires_on`.
/// The decision a trigger's message was sent for.
pub fn outcome_key(message: &MessageKey) -> OutcomeKey {
    let MessageKind::Trigger(trigger) = message.kind else { panic!("not a trigger's message: {message:?}") };
    let episode = match trigger {
        TriggerKind::Birthday => Episode::Birthday(message.episode.parse().expect("a year")),
        TriggerKind::PointsExpiring => Episode::Expiry(date(&message.episode)),
        _ => Episode::Lapse(date(&message.episode)),
    };
    OutcomeKey { customer_id: message.customer_id.clone(), trigger, episode }
}

pub fn with_gift(mut outcome: Outcome, points: u64, expires_on: &str) -> Outcome {
    outcome.gift_points = points;
    outcome.gift_expires_on = Some(date(expires_on));
    outcome
}

/// The gift the sweep would credit with `outcome`, on top of `before` as read.
pub fn gift_commit(before: &CustomerRecord, outcome: &Outcome) -> RecordCommit {
    let expires_on = outcome.gift_expires_on.expect("the outcome has a gift");
    let mut record = before.clone();
    let lot = LotKey::gift(expires_on, outcome.key.trigger);
    let entries = record.account.gift(lot, outcome.gift_points, &outcome.key.reference());
    record.version = before.version + 1;
    RecordCommit { record, expected_version: before.version, entries, recorded_at: outcome.decided_at }
}

pub fn key(hash_seed: u8, terminal_name: &str, admin: bool) -> ApiKeyRecord {
    ApiKeyRecord {
        key_hash: format!("{hash_seed:02x}").repeat(32),
        terminal: terminal(terminal_name),
        admin,
        created_at: utc("2026-03-01T08:00:00.5Z") + chrono::Duration::seconds(hash_seed.into()),
        revoked_at: None,
    }
}

/// Asserts that a store call failed with the given `StoreError` variant.
macro_rules! assert_store_error {
    ($result:expr, $variant:ident, $why:expr) => {
        match $result {
            Err(boomerang_core::ports::StoreError::$variant) => {}
            other => panic!("{}: expected StoreError::{}, got {:?}", $why, stringify!($variant), other),
        }
    };
}
pub(crate) use assert_store_error;
