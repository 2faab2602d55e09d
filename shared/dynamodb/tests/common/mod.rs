//! A fresh table per test on the local DynamoDB emulator started by scripts/moto.sh.
//! Without the emulator these tests fail loudly: a skipped store test would pass CI silently.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::domain::triggers::{Episode, Outcome};
use boomerang_dynamodb::DynamoStore;
use boomerang_store_contract::support;
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
    let store = DynamoStore::measured_from_env(&unique_table("boomerang-test"))
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
    DynamoStore::measured_from_env(store.table())
        .await
        .unwrap_or_else(|e| panic!("cannot configure the DynamoDB client ({e:?})"))
}

/// A decision of the sweep of 2026-03-10, made at `decided_at`, pending a message by email,
/// without a gift.
pub fn outcome(customer: &str, trigger: TriggerKind, episode: Episode, decided_at: DateTime<Utc>) -> Outcome {
    Outcome { decided_at, valid_until: None, ..support::outcome(customer, trigger, episode, "2026-03-10") }
}

/// The customer's 2026 birthday decision with a gift of 500 points valid until `expires_on`.
pub fn birthday_gift(customer: &str, expires_on: &str, decided_at: DateTime<Utc>) -> Outcome {
    support::with_gift(outcome(customer, TriggerKind::Birthday, Episode::Birthday(2026), decided_at), 500, expires_on)
}

/// A table's ledger items (`E#…` under the customer's partition), read back by `Query`.
pub struct DynamoLedger(pub DynamoStore);

#[async_trait::async_trait]
impl boomerang_store_contract::audit::LedgerRows for DynamoLedger {
    async fn entries(
        &self,
        customer: &boomerang_core::domain::ids::CustomerId,
    ) -> Result<Vec<boomerang_core::domain::ledger::LedgerEntry>, String> {
        use boomerang_dynamodb::items::s;
        use boomerang_dynamodb::layout::{customer_pk, ENTRIES};
        let mut entries = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .0
                .client()
                .query()
                .table_name(self.0.table())
                .consistent_read(true)
                .key_condition_expression("pk = :pk AND begins_with(sk, :ledger)")
                .expression_attribute_values(":pk", s(customer_pk(customer.as_str())))
                .expression_attribute_values(":ledger", s("E#"))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?;
            for item in page.items() {
                let json = item.get(ENTRIES).and_then(|v| v.as_s().ok()).ok_or("a ledger item without entries")?;
                let more: Vec<boomerang_core::domain::ledger::LedgerEntry> =
                    serde_json::from_str(json).map_err(|e| e.to_string())?;
                entries.extend(more);
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        // A purchase's entries are on its receipt item: the customer's receipts, listed by
        // `by_customer_purchase` (moto updates it with the write), each read whole.
        let index = boomerang_dynamodb::layout::BY_CUSTOMER_PURCHASE;
        let listed = self
            .0
            .client()
            .query()
            .table_name(self.0.table())
            .index_name(index.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", index.pk)
            .expression_attribute_values(":pk", s(boomerang_dynamodb::layout::customer_purchase_pk(customer.as_str())))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| format!("{e:?}"))?;
        for key in listed {
            let key = [boomerang_dynamodb::layout::PK, boomerang_dynamodb::layout::SK].map(|k| (k.to_owned(), key[k].clone()));
            let found = self
                .0
                .client()
                .get_item()
                .table_name(self.0.table())
                .consistent_read(true)
                .set_key(Some(key.into_iter().collect()))
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?;
            let item = found.item().ok_or("a listed receipt is missing")?;
            entries.extend(boomerang_dynamodb::items::entries_of(item).map_err(|e| e.to_string())?);
        }
        Ok(entries)
    }
}

/// A fresh table as a contract fixture, its ledger rows read back by [`DynamoLedger`].
pub async fn fixture() -> boomerang_store_contract::Fixture {
    let store = fresh_store().await;
    // Tables are left to the emulator, which forgets them when it stops.
    let table = store.table().to_owned();
    let ledger = std::sync::Arc::new(DynamoLedger(same_table(&store).await));
    boomerang_store_contract::Fixture::new(std::sync::Arc::new(store), table).with_ledger(ledger)
}
