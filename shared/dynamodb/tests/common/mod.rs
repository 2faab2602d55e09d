//! A fresh table per test on the local DynamoDB emulator started by scripts/moto.sh.
//! Without the emulator these tests fail loudly: a skipped store test would pass CI silently.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::kinds::{Channel, TriggerKind};
use boomerang_core::domain::ledger::LotKey;
use boomerang_core::domain::triggers::{Episode, Outcome, OutcomeKey, OutcomeStatus};
use boomerang_core::ports::RecordCommit;
use boomerang_dynamodb::DynamoStore;
use chrono::{DateTime, Utc};

const HOW_TO_START: &str =
    "start the emulator first: eval \"$(bash scripts/moto.sh start)\"; cargo test -p boomerang-dynamodb; bash scripts/moto.sh stop";

/// The emulator's address from `AWS_ENDPOINT_URL`, refused unless it is on this machine:
/// these tests create and fill tables and must never reach a real account.
pub fn endpoint() -> String {
    let url = std::env::var("AWS_ENDPOINT_URL")
        .unwrap_or_else(|_| panic!("AWS_ENDPOINT_URL is not set; the DynamoDB store tests need moto: {HOW_TO_START}"));
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")).unwrap_or("");
    let host = if let Some(v6) = rest.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        rest.split([':', '/']).next().unwrap_or("")
    };
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    assert!(loopback, "AWS_ENDPOINT_URL={url} is not a loopback address; these tests only run against a local emulator: {HOW_TO_START}");
    url
}

/// A table name no other test (or earlier run against the same emulator) uses.
pub fn unique_table(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{}-{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A store over a new, empty table, with its request counters at zero.
pub async fn fresh_store() -> DynamoStore {
    let url = endpoint();
    let store = DynamoStore::from_env(&unique_table("boomerang-test"))
        .await
        .unwrap_or_else(|e| panic!("cannot configure the DynamoDB client ({e:?}); {HOW_TO_START}"));
    store
        .create_table()
        .await
        .unwrap_or_else(|e| panic!("the DynamoDB emulator at {url} does not answer ({e:?}); {HOW_TO_START}"));
    store.reset_metrics();
    store
}

/// A second store (another Lambda instance, say) on the same table: its own client and counters.
pub async fn same_table(store: &DynamoStore) -> DynamoStore {
    DynamoStore::from_env(store.table())
        .await
        .unwrap_or_else(|e| panic!("cannot configure the DynamoDB client ({e:?})"))
}

/// A decision of the sweep of 2026-03-10, made at `decided_at`, pending a message by email,
/// without a gift.
pub fn outcome(customer: &str, trigger: TriggerKind, episode: Episode, decided_at: DateTime<Utc>) -> Outcome {
    Outcome {
        key: OutcomeKey { customer_id: CustomerId::parse(customer).expect("a customer id"), trigger, episode },
        sweep_date: "2026-03-10".parse().expect("a date"),
        status: OutcomeStatus::Pending,
        channel: Some(Channel::Email),
        unreachable: None,
        gift_points: 0,
        gift_expires_on: None,
        expiring_points: 0,
        decided_at,
        sent_at: None,
        error: None,
        valid_until: None,
        treated: true,
        claim: None,
    }
}

/// The customer's 2026 birthday decision with a gift of 500 points valid until `expires_on`.
pub fn birthday_gift(customer: &str, expires_on: &str, decided_at: DateTime<Utc>) -> Outcome {
    Outcome {
        gift_points: 500,
        gift_expires_on: Some(expires_on.parse().expect("a date")),
        ..outcome(customer, TriggerKind::Birthday, Episode::Birthday(2026), decided_at)
    }
}

/// The gift the sweep would credit with `outcome`, on top of `before` as read.
pub fn gift_commit(before: &CustomerRecord, outcome: &Outcome) -> RecordCommit {
    let mut record = before.clone();
    let lot = LotKey::gift(outcome.gift_expires_on.expect("a gift"), outcome.key.trigger);
    let entries = record.account.gift(lot, outcome.gift_points, &outcome.key.reference());
    record.version += 1;
    RecordCommit { record, expected_version: before.version, entries, recorded_at: outcome.decided_at }
}
