//! Counts what the store sends: requests per operation and the body bytes of writes. DynamoDB
//! bills per request and per written kilobyte, and emulators report no real consumed
//! capacity, so the store counts for itself.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// Operations whose request bodies are summed in [`RequestMetrics::write_bytes`].
pub const WRITE_OPERATIONS: [&str; 5] = ["TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"];

/// A snapshot of what a store sent since it was made or last reset. A retried attempt is
/// another request on the wire, so it counts again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMetrics {
    /// Requests per operation name (`GetItem`, `TransactWriteItems`, ...).
    pub requests: BTreeMap<String, u64>,
    /// Request body bytes per write operation.
    pub write_bytes: BTreeMap<String, u64>,
    /// Write units per write operation, estimated from the items written (see
    /// [`write_units`]).
    pub write_units: BTreeMap<String, u64>,
}

impl RequestMetrics {
    pub fn requests(&self, operation: &str) -> u64 {
        self.requests.get(operation).copied().unwrap_or(0)
    }
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }
    pub fn write_bytes(&self, operation: &str) -> u64 {
        self.write_bytes.get(operation).copied().unwrap_or(0)
    }
    pub fn total_write_bytes(&self) -> u64 {
        self.write_bytes.values().sum()
    }
    pub fn total_write_units(&self) -> u64 {
        self.write_units.values().sum()
    }
}

/// The size DynamoDB bills for an attribute value in its JSON wire form: strings and binary
/// by length, numbers by ~half their digits plus one, sets, lists and maps by their members
/// (plus 3 bytes of overhead each, 1 per member).
fn value_size(v: &serde_json::Value) -> u64 {
    use serde_json::Value;
    let Value::Object(typed) = v else { return 0 };
    typed
        .iter()
        .map(|(kind, inner)| match (kind.as_str(), inner) {
            ("S" | "B", Value::String(s)) => s.len() as u64,
            ("N", Value::String(n)) => (n.trim_start_matches('-').replace('.', "").len() as u64).div_ceil(2) + 1,
            ("BOOL" | "NULL", _) => 1,
            ("SS" | "NS" | "BS", Value::Array(xs)) => xs.iter().map(|x| x.as_str().map_or(0, str::len) as u64).sum(),
            ("L", Value::Array(xs)) => 3 + xs.iter().map(|x| 1 + value_size(x)).sum::<u64>(),
            ("M", Value::Object(m)) => 3 + m.iter().map(|(k, x)| 1 + k.len() as u64 + value_size(x)).sum::<u64>(),
            _ => 0,
        })
        .sum()
}

/// An item's billed size: attribute names plus values.
fn item_size(item: &serde_json::Map<String, serde_json::Value>) -> u64 {
    item.iter().map(|(name, v)| name.len() as u64 + value_size(v)).sum()
}

/// 1 write unit per started kilobyte (at least 1).
fn units(size: u64) -> u64 {
    size.div_ceil(1024).max(1)
}

/// The write units a `TransactWriteItems` body costs: each item twice its kilobytes (a
/// transaction writes in two phases), plus one write per kilobyte of what each global secondary
/// index of `indexes` (name of its partition key attribute, projects the whole item?) copies,
/// for every item that carries that index's key. An update is sized by its key and the
/// attributes it sets (a counter item holds little else). What the request alone cannot tell is
/// left out: an index key that moves (a customer's last purchase date, once a day) costs a
/// delete of the old index entry too.
pub fn write_units(body: &[u8], indexes: &[(&str, bool)]) -> u64 {
    let Ok(serde_json::Value::Object(request)) = serde_json::from_slice::<serde_json::Value>(body) else { return 0 };
    let Some(serde_json::Value::Array(items)) = request.get("TransactItems") else { return 0 };
    let mut total = 0;
    for write in items.iter().filter_map(serde_json::Value::as_object) {
        let (size, item) = if let Some(put) = write.get("Put").and_then(|p| p.get("Item")).and_then(|i| i.as_object()) {
            (item_size(put), Some(put))
        } else if let Some(update) = write.get("Update").and_then(serde_json::Value::as_object) {
            let key = update.get("Key").and_then(|k| k.as_object()).map_or(0, item_size);
            let names = update.get("ExpressionAttributeNames").and_then(|n| n.as_object());
            let values = update.get("ExpressionAttributeValues").and_then(|v| v.as_object());
            let set: u64 = names.map_or(0, |n| n.values().map(|v| v.as_str().map_or(0, str::len) as u64).sum())
                + values.map_or(0, |v| v.values().map(value_size).sum());
            (key + set, None)
        } else if let Some(delete) = write.get("Delete").and_then(|d| d.get("Key")).and_then(|k| k.as_object()) {
            (item_size(delete), None)
        } else {
            (write.get("ConditionCheck").map_or(0, |_| 1), None)
        };
        total += 2 * units(size);
        if let Some(item) = item {
            for (key, whole) in indexes {
                if item.contains_key(*key) {
                    total += if *whole { units(size) } else { 1 };
                }
            }
        }
    }
    total
}

/// Each index's partition key attribute, and whether it copies more than the keys (then a
/// write is sized by the item; a keys-only entry is one unit).
fn index_keys() -> Vec<(&'static str, bool)> {
    crate::layout::INDEXES.iter().map(|i| (i.pk, i.projected != crate::layout::Projected::KeysOnly)).collect()
}

/// The interceptor behind [`RequestMetrics`]; clones share one tally.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestCounter {
    tally: Arc<Mutex<RequestMetrics>>,
}

impl RequestCounter {
    pub fn snapshot(&self) -> RequestMetrics {
        self.tally.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
    pub fn reset(&self) {
        *self.tally.lock().unwrap_or_else(PoisonError::into_inner) = RequestMetrics::default();
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "BoomerangRequestCounter"
    }

    // Just before transmit: once per attempt, with the final (signed) body.
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or("unknown", Metadata::name).to_owned();
        let body = context.request().body();
        let bytes = body.bytes().map(|b| b.len() as u64).or_else(|| body.content_length()).unwrap_or(0);
        let units = match (operation.as_str(), body.bytes()) {
            ("TransactWriteItems", Some(b)) => write_units(b, &index_keys()),
            _ => 0,
        };
        let mut tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
        if WRITE_OPERATIONS.contains(&operation.as_str()) {
            *tally.write_bytes.entry(operation.clone()).or_default() += bytes;
            *tally.write_units.entry(operation.clone()).or_default() += units;
        }
        *tally.requests.entry(operation).or_default() += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_costs_twice_its_kilobytes_and_once_per_index_entry() {
        let big = "x".repeat(1500);
        let body = serde_json::json!({"TransactItems": [
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "C#anna"}, "sk": {"S": "#"}, "rec": {"S": big}, "lp_pk": {"S": "LP#1"}}}},
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "R#1"}, "sk": {"S": "#"}, "cp_pk": {"S": "CP#anna"}}}},
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "BK#d"}, "sk": {"S": "0#s"}},
                        "UpdateExpression": "ADD #a0 :a0", "ExpressionAttributeNames": {"#a0": "receipts"},
                        "ExpressionAttributeValues": {":a0": {"N": "1"}}}},
            {"Delete": {"TableName": "t", "Key": {"pk": {"S": "C#anna"}, "sk": {"S": "X#2026-01-01"}}}}
        ]});
        let indexes = [("lp_pk", false), ("cp_pk", true)];
        // 2 KB customer ×2 + its keys-only entry; 1 KB receipt ×2 + its entry; update ×2; delete ×2.
        assert_eq!(write_units(body.to_string().as_bytes(), &indexes), 4 + 1 + 2 + 1 + 2 + 2);
        assert_eq!(write_units(b"not json", &indexes), 0);
    }
}
