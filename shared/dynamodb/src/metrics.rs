//! Counts what the store sends: requests per operation and the body bytes of writes. DynamoDB
//! bills per request and per written kilobyte, and emulators report no real consumed
//! capacity, so the store counts for itself.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_dynamodb::types::AttributeValue;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

use crate::items::Item;
use crate::layout::{Index, Projected, INDEXES, PK, SK, VERSION};

/// The most items read whose keys-only index entries [`ReadItems`] keeps.
const READ_ITEMS_KEPT: usize = 1_000;

/// A versioned item as the store last read it: its version and, per keys-only index (by the
/// name of its partition key attribute), its entry's keys. A write conditioned on that version
/// replaces exactly that item, so the model can tell an index entry that stays (no index
/// write: DynamoDB writes an index only when the entry's keys or projected attributes change)
/// from one that moves (a delete and a put).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ReadItem {
    version: String,
    entries: BTreeMap<&'static str, (String, String)>,
}

/// Versioned items read, by partition key.
type ReadItems = HashMap<String, ReadItem>;

fn attribute_string(v: Option<&serde_json::Value>, kind: &str) -> Option<String> {
    v?.get(kind)?.as_str().map(str::to_owned)
}

/// What a keys-only index holds of an item in the JSON wire form, if it carries the key.
fn wire_entry(item: &serde_json::Map<String, serde_json::Value>, index: &Index) -> Option<(String, String)> {
    Some((attribute_string(item.get(index.pk), "S")?, attribute_string(item.get(index.sk), "S")?))
}

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

/// The size of what `index` copies of `item`: the table's and the index's keys, plus the
/// projected attributes (the whole item for `ALL`).
fn index_entry_size(item: &serde_json::Map<String, serde_json::Value>, index: &Index) -> u64 {
    let projected = |name: &str| match index.projected {
        Projected::All => true,
        Projected::KeysOnly => [PK, SK, index.pk, index.sk].contains(&name),
        Projected::Include(names) => [PK, SK, index.pk, index.sk].contains(&name) || names.contains(&name),
    };
    item.iter().filter(|(name, _)| projected(name)).map(|(name, v)| name.len() as u64 + value_size(v)).sum()
}

/// The write units a `TransactWriteItems` body costs: each item twice its kilobytes (a
/// transaction writes in two phases), plus, for every item written that carries the partition
/// key of one of `indexes` (a put's item, an update's key and what it sets), one write per
/// kilobyte of what that index copies of it (its keys and projected attributes: a purchase's
/// ledger entries on its receipt item are not in `by_customer_purchase`). An update is sized by
/// its key and the attributes it sets; DynamoDB bills the whole item, which is the same units
/// while it stays under 1 KB (a counter item; a receipt with its entries, whose refund update
/// leaves the entries). What the request alone cannot tell, for an item not just read, is left
/// out: an index key that moves costs a delete of the old entry too.
///
/// A put conditioned on the version of an item in `read` (`v = :v`) replaces that item: each
/// keys-only index entry then costs what changes, nothing when it stays (a second purchase of
/// the day leaves `by_last_purchase` as it was), a delete and a put when it moves (the first
/// purchase of a day).
fn write_units(body: &[u8], indexes: &[Index], read: &ReadItems) -> u64 {
    let Ok(serde_json::Value::Object(request)) = serde_json::from_slice::<serde_json::Value>(body) else { return 0 };
    let Some(serde_json::Value::Array(items)) = request.get("TransactItems") else { return 0 };
    let mut total = 0;
    for write in items.iter().filter_map(serde_json::Value::as_object) {
        let (size, item) = if let Some(put) = write.get("Put").and_then(|p| p.get("Item")).and_then(|i| i.as_object()) {
            (item_size(put), Some(put.clone()))
        } else if let Some(update) = write.get("Update").and_then(serde_json::Value::as_object) {
            let key = update.get("Key").and_then(|k| k.as_object()).map_or(0, item_size);
            let names = update.get("ExpressionAttributeNames").and_then(|n| n.as_object());
            let values = update.get("ExpressionAttributeValues").and_then(|v| v.as_object());
            let set: u64 = names.map_or(0, |n| n.values().map(|v| v.as_str().map_or(0, str::len) as u64).sum())
                + values.map_or(0, |v| v.values().map(value_size).sum());
            (key + set, Some(updated_attributes(update)))
        } else if let Some(delete) = write.get("Delete").and_then(|d| d.get("Key")).and_then(|k| k.as_object()) {
            (item_size(delete), None)
        } else {
            (write.get("ConditionCheck").map_or(0, |_| 1), None)
        };
        total += 2 * units(size);
        let Some(item) = item else { continue };
        let item = &item;
        let replaced = write.get("Put").and_then(|put| replaced_item(put, item, read));
        for index in indexes {
            let entry = || units(index_entry_size(item, index));
            total += match (replaced, index.projected) {
                (Some(before), Projected::KeysOnly) => match (before.entries.get(index.pk), wire_entry(item, index)) {
                    (None, None) => 0,
                    (Some(old), Some(new)) if *old == new => 0,
                    (None, Some(_)) | (Some(_), None) => 1,
                    (Some(_), Some(_)) => 2,
                },
                _ if item.contains_key(index.pk) => entry(),
                _ => 0,
            };
        }
    }
    total
}

/// What an update writes, as an item: its key and each attribute it sets or adds (`#x` named,
/// `:x` valued, as `Transaction` builds them). An update that sets an index's key (a refund's
/// receipt: `cp_*` with `rec`) rewrites that index's entry.
fn updated_attributes(update: &serde_json::Map<String, serde_json::Value>) -> serde_json::Map<String, serde_json::Value> {
    let mut item = update.get("Key").and_then(|k| k.as_object()).cloned().unwrap_or_default();
    let values = update.get("ExpressionAttributeValues").and_then(|v| v.as_object());
    for (placeholder, name) in update.get("ExpressionAttributeNames").and_then(|n| n.as_object()).into_iter().flatten() {
        let value = placeholder.strip_prefix('#').and_then(|p| values?.get(&format!(":{p}")));
        if let (Some(name), Some(value)) = (name.as_str(), value) {
            item.insert(name.to_owned(), value.clone());
        }
    }
    item
}

/// The item a put replaces, when its condition is the version of an item read (`v = :v`).
fn replaced_item<'a>(
    put: &serde_json::Value,
    item: &serde_json::Map<String, serde_json::Value>,
    read: &'a ReadItems,
) -> Option<&'a ReadItem> {
    if put.get("ConditionExpression")?.as_str()? != "v = :v" {
        return None;
    }
    let version = attribute_string(put.get("ExpressionAttributeValues")?.get(":v"), "N")?;
    let before = read.get(&attribute_string(item.get(PK), "S")?)?;
    (before.version == version).then_some(before)
}

/// The interceptor behind [`RequestMetrics`]; clones share one tally.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestCounter {
    tally: Arc<Mutex<RequestMetrics>>,
    read: Arc<Mutex<ReadItems>>,
}

impl RequestCounter {
    /// Keeps the version and keys-only index keys of the versioned items (customers) just read,
    /// for [`write_units`]; a bounded memory, emptied when full.
    pub fn remember<'a>(&self, items: impl IntoIterator<Item = &'a Item>) {
        let mut read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        for item in items {
            let (Some(AttributeValue::S(pk)), Some(AttributeValue::N(version))) = (item.get(PK), item.get(VERSION)) else {
                continue;
            };
            if read.len() >= READ_ITEMS_KEPT {
                read.clear();
            }
            let key = |i: &Index| match (item.get(i.pk), item.get(i.sk)) {
                (Some(AttributeValue::S(p)), Some(AttributeValue::S(s))) => Some((i.pk, (p.clone(), s.clone()))),
                _ => None,
            };
            let entries = INDEXES.iter().filter(|i| i.projected == Projected::KeysOnly).filter_map(key).collect();
            read.insert(pk.clone(), ReadItem { version: version.clone(), entries });
        }
    }

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
            ("TransactWriteItems", Some(b)) => {
                write_units(b, &INDEXES, &self.read.lock().unwrap_or_else(PoisonError::into_inner))
            }
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
    use crate::layout::BY_LAST_PURCHASE;

    #[test]
    fn a_transaction_costs_twice_its_kilobytes_and_once_per_kilobyte_an_index_copies() {
        let (big, entries) = ("x".repeat(1500), "e".repeat(900));
        let body = serde_json::json!({"TransactItems": [
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "C#anna"}, "sk": {"S": "#"}, "rec": {"S": big}, "lp_pk": {"S": "LP#1"}}}},
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "R#1"}, "sk": {"S": "#"}, "cp_pk": {"S": "CP#anna"},
                                                 "rec": {"S": "r".repeat(200)}, "entries": {"S": entries}}}},
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "BK#d"}, "sk": {"S": "0#s"}},
                        "UpdateExpression": "ADD #a0 :a0", "ExpressionAttributeNames": {"#a0": "receipts"},
                        "ExpressionAttributeValues": {":a0": {"N": "1"}}}},
            {"Delete": {"TableName": "t", "Key": {"pk": {"S": "C#anna"}, "sk": {"S": "X#2026-01-01"}}}}
        ]});
        let include = Index { name: "i", pk: "cp_pk", sk: "cp_sk", projected: Projected::Include(&["rec"]) };
        let refund = serde_json::json!({"TransactItems": [{"Update": {"TableName": "t", "Key": {"pk": {"S": "R#1"}, "sk": {"S": "#"}},
            "UpdateExpression": "SET #s0 = :s0, #s1 = :s1", "ExpressionAttributeNames": {"#s0": "rec", "#s1": "cp_pk"},
            "ExpressionAttributeValues": {":s0": {"S": "r"}, ":s1": {"S": "CP#anna"}, ":n": {"N": "0"}}}}]});
        assert_eq!(write_units(refund.to_string().as_bytes(), &[include], &ReadItems::new()), 2 + 1, "the update rewrites its entry");
        let keys_only = Index { name: "k", pk: "lp_pk", sk: "lp_sk", projected: Projected::KeysOnly };
        // 2 KB customer ×2 + its keys-only entry; the receipt with its entries is 2 KB ×2, but
        // its index entry (keys and `rec`, not `entries`) 1 KB; update ×2; delete ×2.
        let none = ReadItems::new();
        assert_eq!(write_units(body.to_string().as_bytes(), &[keys_only, include], &none), 4 + 1 + 4 + 1 + 2 + 2);
        let all = Index { projected: Projected::All, ..include };
        assert_eq!(write_units(body.to_string().as_bytes(), &[keys_only, all], &none), 4 + 1 + 4 + 2 + 2 + 2, "ALL copies the entries");
        assert_eq!(write_units(b"not json", &[keys_only], &none), 0);
    }

    /// A put on the version of an item read replaces that item: a keys-only entry that stays
    /// costs nothing, one that moves a delete and a put; without the read, one put.
    #[test]
    fn a_keys_only_entry_costs_what_changes_from_the_item_read() {
        use crate::items::{n, s};
        let customer = |lp: &str, version: u64| {
            let mut item = crate::items::key("C#anna", "#");
            item.insert(VERSION.into(), n(version));
            item.insert("lp_pk".into(), s(lp));
            item.insert("lp_sk".into(), s("anna"));
            item
        };
        let put = |lp: &str, condition: &str| {
            serde_json::json!({"TransactItems": [{"Put": {"TableName": "t",
                "Item": {"pk": {"S": "C#anna"}, "sk": {"S": "#"}, "v": {"N": "8"}, "lp_pk": {"S": lp}, "lp_sk": {"S": "anna"}},
                "ConditionExpression": condition, "ExpressionAttributeValues": {":v": {"N": "7"}}}}]})
            .to_string()
        };
        let counter = RequestCounter::default();
        counter.remember([&customer("LP#2026-03-10#3", 7)]);
        let read = counter.read.lock().unwrap().clone();
        let units = |body: String| write_units(body.as_bytes(), &[BY_LAST_PURCHASE], &read);
        assert_eq!(units(put("LP#2026-03-10#3", "v = :v")), 2, "the same day: the entry stays");
        assert_eq!(units(put("LP#2026-03-11#3", "v = :v")), 2 + 2, "a new day: the entry moves");
        assert_eq!(units(put("LP#2026-03-10#3", "attribute_not_exists(pk)")), 2 + 1, "no item read: one put");
        counter.remember([&customer("LP#2026-03-10#3", 6)]);
        let read = counter.read.lock().unwrap().clone();
        let units = |body: String| write_units(body.as_bytes(), &[BY_LAST_PURCHASE], &read);
        assert_eq!(units(put("LP#2026-03-10#3", "v = :v")), 2 + 1, "another version was read: one put");
    }
}
