//! Records to items and back, public for tools and tests that write the table directly (bulk
//! loads, the sweep). Records are stored whole as JSON under `rec`; the other
//! attributes are keys, conditions and index keys derived from the record on every write.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use serde::de::DeserializeOwned;

use boomerang_core::domain::auth::ApiKeyRecord;
use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::ledger::LedgerEntry;
use boomerang_core::domain::purchase::{Receipt, Refund};
use boomerang_core::domain::triggers::{Outcome, OutcomeKey};
use boomerang_core::ports::{decode_date, decode_json, encode_date, encode_json, StoreError};

use crate::layout::{self, *};

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The key of an item.
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

pub(crate) fn item(
    pk: impl Into<String>,
    sk: impl Into<String>,
    attrs: impl IntoIterator<Item = (&'static str, AttributeValue)>,
) -> Item {
    let mut item = key(pk, sk);
    item.extend(attrs.into_iter().map(|(name, value)| (name.to_owned(), value)));
    item
}

/// What an item is, for error messages, which are logged: its kind, never its key (keys
/// hold customer ids, and a customer id may be a phone number).
fn describe(item: &Item) -> String {
    let Some(AttributeValue::S(pk)) = item.get(PK) else { return "an item without a key".to_owned() };
    let sk = match item.get(SK) {
        Some(AttributeValue::S(sk)) => sk.as_str(),
        _ => "",
    };
    let kind = match pk.split_once('#').map(|(prefix, _)| prefix).unwrap_or(pk) {
        "C" if sk == SOLE => "a customer item",
        "C" => "a ledger or marker item of a customer",
        "R" => "a receipt item",
        "F" => "a refund item",
        "K" => "a key item",
        "T" => "a terminal lock item",
        "O" => "an outcome item",
        "REF" => "a referral code item",
        "RW" => "a referral reward item",
        "LP" | "BD" | "XP" | "OD" | "PD" | "RD" => "an index entry",
        "KEYS" => "a key listing item",
        "TENANT" => "the tenant's item",
        _ => "an item",
    };
    kind.to_owned()
}

pub(crate) fn string<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(StoreError::Corrupt(format!("{}: no string attribute {name}", describe(item)))),
    }
}

fn number(item: &Item, name: &str) -> Result<u64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => {
            v.parse().map_err(|e| StoreError::Corrupt(format!("{}: attribute {name}: {e}", describe(item))))
        }
        _ => Err(StoreError::Corrupt(format!("{}: no number attribute {name}", describe(item)))),
    }
}

pub(crate) fn record<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    decode_json(string(item, RECORD)?, &describe(item))
}

/// The customer item of `record` at `version`, with its index keys. The version comes from the
/// write's condition (the port's rule), so the item and the JSON inside never disagree.
pub fn customer_item(record: &CustomerRecord, version: u64) -> Result<Item, StoreError> {
    let json = if record.version == version {
        encode_json(record, "customer record")?
    } else {
        encode_json(&CustomerRecord { version, ..record.clone() }, "customer record")?
    };
    let id = record.customer.customer_id.as_str();
    let mut item = item(customer_pk(id), SOLE, [(VERSION, n(version)), (RECORD, s(json))]);
    // A put replaces the whole item, so an index key left out here leaves its index.
    if let Some(on) = record.account.last_purchase_on {
        item.insert(BY_LAST_PURCHASE.pk.into(), s(last_purchase_pk(on, id)));
        item.insert(BY_LAST_PURCHASE.sk.into(), s(id));
    }
    if let Some(birthday) = record.customer.birthday.filter(|_| !record.customer.is_erased()) {
        item.insert(BY_BIRTHDAY.pk.into(), s(birthday_pk(birthday, id)));
        item.insert(BY_BIRTHDAY.sk.into(), s(id));
    }
    if let Some(referred) = &record.referral.referred_by {
        let index = crate::layout::BY_REFERRED;
        item.insert(index.pk.into(), s(crate::layout::referred_pk(referred.at.date_naive(), id)));
        item.insert(index.sk.into(), s(id));
    }
    Ok(item)
}

pub fn decode_customer(item: &Item) -> Result<CustomerRecord, StoreError> {
    let mut record: CustomerRecord = record(item)?;
    // `v` is what conditions test, so it is the version.
    record.version = number(item, VERSION)?;
    Ok(record)
}

pub fn receipt_item(receipt: &Receipt) -> Result<Item, StoreError> {
    let id = receipt.receipt_id.as_str();
    let mut item = key(receipt_pk(id), SOLE);
    item.insert(RECEIPT_CUSTOMER.into(), s(receipt.customer_id.as_str()));
    item.extend(receipt_attributes(receipt)?.into_iter().map(|(name, value)| (name.to_owned(), value)));
    Ok(item)
}

/// The attributes of a receipt item that follow the receipt (all but its key, its customer
/// and a purchase's entries): what a refund sets again. The index keys never change (same
/// customer, local date and id), so the receipt keeps its one place in `by_customer_purchase`;
/// they are set again so that a receipt of a build before that index gains them.
pub fn receipt_attributes(receipt: &Receipt) -> Result<Vec<(&'static str, AttributeValue)>, StoreError> {
    let id = receipt.receipt_id.as_str();
    Ok(vec![
        (RECORD, s(encode_json(receipt, "receipt")?)),
        (RECEIPT_REFUNDS, n(receipt.refund.refunds)),
        (BY_CUSTOMER_PURCHASE.pk, s(customer_purchase_pk(receipt.customer_id.as_str()))),
        (BY_CUSTOMER_PURCHASE.sk, s(customer_purchase_sk(receipt.local_date, id))),
    ])
}

/// A purchase's receipt item with the purchase's ledger entries folded in (`entries`, not
/// projected into `by_customer_purchase`): one item per purchase instead of a receipt and a
/// ledger item. A refund updates `rec` and `n` in place, so the entries stay.
pub fn purchase_item(receipt: &Receipt, entries: &[LedgerEntry]) -> Result<Item, StoreError> {
    let mut item = receipt_item(receipt)?;
    if !entries.is_empty() {
        item.insert(ENTRIES.into(), s(encode_json(&entries, "ledger entries")?));
    }
    Ok(item)
}

/// The ledger entries an item holds (`entries`): a ledger item's, or a purchase's on its
/// receipt item; none on a receipt written before purchases carried them.
pub fn entries_of(item: &Item) -> Result<Vec<LedgerEntry>, StoreError> {
    match item.get(ENTRIES) {
        None => Ok(Vec::new()),
        Some(_) => decode_json(string(item, ENTRIES)?, &describe(item)),
    }
}

pub fn decode_receipt(item: &Item) -> Result<Receipt, StoreError> {
    record(item)
}

pub fn refund_item(refund: &Refund) -> Result<Item, StoreError> {
    Ok(item(refund_pk(refund.refund_id.as_str()), SOLE, [(RECORD, s(encode_json(refund, "refund")?))]))
}

pub fn decode_refund(item: &Item) -> Result<Refund, StoreError> {
    record(item)
}

/// One operation's ledger entries, keyed by when it was recorded and its business id, so a
/// retried commit can never add a second item.
pub fn ledger_item(
    customer: &str,
    recorded_at: chrono::DateTime<chrono::Utc>,
    reference: &str,
    entries: &[LedgerEntry],
) -> Result<Item, StoreError> {
    Ok(item(
        customer_pk(customer),
        ledger_sk(recorded_at, reference),
        [(ENTRIES, s(encode_json(&entries, "ledger entries")?))],
    ))
}

/// The key of an outcome's item.
pub fn outcome_key(key: &OutcomeKey) -> Item {
    let episode = key.episode.to_string();
    self::key(outcome_pk(key.customer_id.as_str()), outcome_sk(key.trigger.as_str(), &episode))
}

/// An outcome: the record, its status (for `update_outcome`'s condition) and its place in
/// `by_sweep_date`.
pub fn outcome_item(outcome: &Outcome) -> Result<Item, StoreError> {
    let key = &outcome.key;
    let (customer, trigger, episode) = (key.customer_id.as_str(), key.trigger.as_str(), key.episode.to_string());
    Ok(item(
        outcome_pk(customer),
        outcome_sk(trigger, &episode),
        [
            (RECORD, s(encode_json(outcome, "outcome")?)),
            (OUTCOME_STATUS, s(outcome.status.as_str())),
            (BY_SWEEP_DATE.pk, s(sweep_date_pk(outcome.sweep_date, customer))),
            (BY_SWEEP_DATE.sk, s(sweep_date_sk(customer, trigger, &episode))),
        ],
    ))
}

pub fn decode_outcome(item: &Item) -> Result<Outcome, StoreError> {
    record(item)
}

/// The customer id an index entry is filed under (its sort key in the customer indexes).
pub fn indexed_customer(item: &Item, index: &Index) -> Result<CustomerId, StoreError> {
    let id = string(item, index.sk)?;
    CustomerId::parse(id).map_err(|e| StoreError::Corrupt(format!("{}: the customer id: {e}", describe(item))))
}

/// The tenant's sweep progress.
pub fn sweep_item(completed: NaiveDate) -> Item {
    item(TENANT_PK, SWEEP_SK, [(SWEEP_DATE, s(encode_date(completed)))])
}

pub fn decode_sweep(item: &Item) -> Result<NaiveDate, StoreError> {
    decode_date(string(item, SWEEP_DATE)?, &describe(item))
}

pub fn key_item(key: &ApiKeyRecord) -> Result<Item, StoreError> {
    Ok(item(key_pk(&key.key_hash), SOLE, [(RECORD, s(encode_json(key, "api key")?))]))
}

/// The listing copy of a key under [`KEYS_PK`].
pub fn listing_item(key: &ApiKeyRecord) -> Result<Item, StoreError> {
    let sk = listing_sk(key.terminal.as_str(), key.created_at, &key.key_hash);
    Ok(item(KEYS_PK, sk, [(RECORD, s(encode_json(key, "api key")?))]))
}

/// A terminal's lock: names its live key and carries the record, so revoking needs no other read.
pub fn terminal_item(key: &ApiKeyRecord) -> Result<Item, StoreError> {
    Ok(item(
        terminal_pk(key.terminal.as_str()),
        SOLE,
        [(LIVE_HASH, s(key.key_hash.as_str())), (RECORD, s(encode_json(key, "api key")?))],
    ))
}

pub fn decode_key(item: &Item) -> Result<ApiKeyRecord, StoreError> {
    record(item)
}

pub fn live_hash(item: &Item) -> Result<&str, StoreError> {
    string(item, LIVE_HASH)
}

pub fn secret_bytes(item: &Item) -> Result<Vec<u8>, StoreError> {
    match item.get(SECRET_BYTES) {
        Some(AttributeValue::B(blob)) => Ok(blob.as_ref().to_vec()),
        _ => Err(StoreError::Corrupt(format!("{}: no binary attribute {SECRET_BYTES}", describe(item)))),
    }
}

/// The partition key of an item read back, to tell the items of a batch apart.
pub fn pk_of(item: &Item) -> Option<&str> {
    match item.get(layout::PK) {
        Some(AttributeValue::S(pk)) => Some(pk),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use boomerang_core::domain::ids::CustomerId;
    use boomerang_core::domain::kinds::TriggerKind;
    use boomerang_core::domain::ledger::{Account, LotKey};
    use boomerang_core::ports::{PurchaseCommit, RefundCommit};

    use super::*;
    use crate::markers::{new_expiry_dates, purchase_marker_dates, refund_marker_dates};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn only_dates_without_points_before_the_commit_are_new() {
        let mut account = Account::default();
        account.earn(LotKey::earned(d("2027-01-01")), 10, "r0");
        let mut entries = account.burn_expired(d("2026-01-01"), "burn");
        // Same date, other source: the date already has a marker.
        entries.extend(account.gift(LotKey::gift(d("2027-01-01"), TriggerKind::Birthday), 5, "g"));
        entries.extend(account.earn(LotKey::earned(d("2027-02-01")), 7, "r1"));
        let (_, spent) = account.redeem(10, d("2026-01-01"), "r1").unwrap();
        entries.extend(spent);
        assert_eq!(new_expiry_dates(&account, &entries), BTreeSet::from([d("2027-02-01")]));
        assert_eq!(new_expiry_dates(&account, &[]), BTreeSet::new(), "no entries, nothing new");
    }

    #[test]
    fn a_lot_emptied_and_refilled_in_one_commit_is_not_new() {
        let mut account = Account::default();
        account.earn(LotKey::earned(d("2027-01-01")), 10, "r0");
        let (_, mut entries) = account.redeem(10, d("2026-01-01"), "r1").unwrap();
        entries.extend(account.earn(LotKey::earned(d("2027-01-01")), 3, "r1"));
        assert!(new_expiry_dates(&account, &entries).is_empty());
    }

    #[test]
    fn a_refund_marks_only_lots_it_had_to_re_date() {
        use boomerang_core::domain::config::ProgramConfig;
        use boomerang_core::domain::ids::{Currency, ReceiptId, RefundId, StoreId};
        use boomerang_core::domain::purchase::{decide_purchase, decide_refund, Backdating, PurchaseRequest, RefundRequest};
        use boomerang_core::ports::Expected;

        let cfg = ProgramConfig::defaults();
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
        let bought: chrono::DateTime<chrono::Utc> = "2026-03-10T09:00:00Z".parse().unwrap();
        let mut record = CustomerRecord::new(CustomerId::parse("anna").unwrap(), bought);
        // Three small lots, one about to expire: the purchase spends them all.
        for (day, points) in [("2026-03-12", 10), ("2026-06-01", 10), ("2026-09-01", 10)] {
            record.account.earn(LotKey::earned(d(day)), points, "seed");
        }
        let req = PurchaseRequest {
            receipt_id: ReceiptId::parse("r-1").unwrap(),
            customer_id: record.customer.customer_id.clone(),
            amount_minor: 10_000,
            currency: Currency::parse("RUB").unwrap(),
            occurred_at: at("2026-03-10T11:30:00+03:00"),
            store_id: StoreId::parse("shop-1").unwrap(),
            redeem_points: 30,
        };
        let p = decide_purchase(&cfg, &record.account, &req, bought, Backdating::Limited).unwrap();
        assert_eq!(p.receipt.redeemed_from.len(), 3);
        record.account = p.account;
        let purchase = PurchaseCommit {
            record: record.clone(),
            expected: Expected::Absent,
            receipt: p.receipt,
            entries: p.entries,
            referral_reward: None,
        };
        assert_eq!(purchase_marker_dates(&purchase), BTreeSet::from([purchase.receipt.earned_lot.expires_on]));

        // Refunded after the first lot's date: it comes back re-dated, the others as they were.
        let later: chrono::DateTime<chrono::Utc> = "2026-03-14T09:00:00Z".parse().unwrap();
        let refund = RefundRequest {
            customer_id: None,
            refund_id: RefundId::parse("f-1").unwrap(),
            receipt_id: purchase.receipt.receipt_id.clone(),
            amount_minor: 10_000,
            occurred_at: at("2026-03-14T11:30:00+03:00"),
        };
        let r = decide_refund(&cfg, &record.account, &purchase.receipt, &refund, later).unwrap();
        let redated = boomerang_core::domain::ledger::add_days(d("2026-03-14"), cfg.restored_points_valid_days);
        record.account = r.account;
        let commit = RefundCommit {
            record,
            expected_version: 1,
            receipt: r.receipt,
            expected_refunds: 0,
            refund: r.refund,
            entries: r.entries,
            on: d("2026-03-14"),
        };
        assert_eq!(new_expiry_dates(&commit.record.account, &commit.entries).len(), 3, "emptied lots look new");
        assert_eq!(refund_marker_dates(&commit), BTreeSet::from([redated]), "only the re-dated lot is new");
    }

    /// A refund puts the whole receipt item again: it must keep its `by_customer_purchase` keys
    /// (or it would leave the index) and carry the refunded receipt where the index projects it.
    #[test]
    fn a_refunded_receipt_keeps_its_place_and_its_progress_in_by_customer_purchase() {
        use boomerang_core::domain::config::ProgramConfig;
        use boomerang_core::domain::ids::{Currency, ReceiptId, RefundId, StoreId};
        use boomerang_core::domain::purchase::{decide_purchase, decide_refund, Backdating, PurchaseRequest, RefundRequest};

        let cfg = ProgramConfig::defaults();
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
        let now: chrono::DateTime<chrono::Utc> = "2026-03-10T09:00:00Z".parse().unwrap();
        let req = PurchaseRequest {
            receipt_id: ReceiptId::parse("r-1").unwrap(),
            customer_id: CustomerId::parse("anna").unwrap(),
            amount_minor: 100_000,
            currency: Currency::parse("RUB").unwrap(),
            // 00:30 in Moscow: still 9 March in UTC, 10 March locally.
            occurred_at: at("2026-03-10T00:30:00+03:00"),
            store_id: StoreId::parse("shop-1").unwrap(),
            redeem_points: 0,
        };
        let p = decide_purchase(&cfg, &Account::default(), &req, now, Backdating::Limited).unwrap();
        let refund = RefundRequest {
            customer_id: None,
            refund_id: RefundId::parse("f-1").unwrap(),
            receipt_id: req.receipt_id.clone(),
            amount_minor: 40_000,
            occurred_at: at("2026-03-10T11:45:00+03:00"),
        };
        let r = decide_refund(&cfg, &p.account, &p.receipt, &refund, now).unwrap();

        let (bought, refunded) = (receipt_item(&p.receipt).unwrap(), receipt_item(&r.receipt).unwrap());
        assert_eq!(bought[BY_CUSTOMER_PURCHASE.sk], s(customer_purchase_sk(d("2026-03-10"), "r-1")), "the local date");
        for name in [BY_CUSTOMER_PURCHASE.pk, BY_CUSTOMER_PURCHASE.sk] {
            assert_eq!(refunded.get(name), bought.get(name), "{name} is put again, unchanged");
        }
        let projects_the_receipt = match BY_CUSTOMER_PURCHASE.projected {
            Projected::All => true,
            Projected::Include(names) => names.contains(&RECORD),
            Projected::KeysOnly => false,
        };
        assert!(projects_the_receipt, "the receipt itself ({RECORD}) is in the index");
        let listed = decode_receipt(&refunded).unwrap();
        assert_eq!(listed, r.receipt);
        assert_eq!((listed.refund.refunds, listed.refund.refunded_minor), (1, 40_000));
    }

    #[test]
    fn a_corrupt_item_is_named_by_its_kind_never_by_its_key() {
        let phone_like = "+79161234567";
        let mut item = key(customer_pk(phone_like), SOLE);
        item.insert(VERSION.into(), n(1));
        item.insert(RECORD.into(), s(r#"{"customer": {"customer_id": "+79161234567", "email": 5}}"#));
        let Err(StoreError::Corrupt(message)) = decode_customer(&item) else { panic!("decoded") };
        assert!(message.starts_with("a customer item: "), "{message}");
        assert!(!message.contains("7916"), "{message}");
        item.insert(VERSION.into(), n("v-anna@example.ru"));
        let Err(StoreError::Corrupt(message)) = decode_customer(&item) else { panic!("decoded") };
        assert!(!message.contains("7916") && !message.contains("anna"), "{message}");
        let mut entry = key(last_purchase_pk(d("2026-03-10"), phone_like), phone_like);
        entry.insert(BY_LAST_PURCHASE.sk.into(), s("+7 916"));
        let Err(StoreError::Corrupt(message)) = indexed_customer(&entry, &BY_LAST_PURCHASE) else { panic!() };
        assert!(message.starts_with("an index entry: ") && !message.contains("7916"), "{message}");
    }

    #[test]
    fn index_keys_follow_the_record() {
        let mut record =
            CustomerRecord::new(CustomerId::parse("anna").unwrap(), "2026-01-01T00:00:00Z".parse().unwrap());
        let bare = customer_item(&record, 1).unwrap();
        assert!(!bare.contains_key("lp_pk") && !bare.contains_key("bd_pk"), "nothing to index yet");
        record.account.last_purchase_on = Some(d("2026-03-10"));
        record.customer.birthday = Some(d("1990-05-17"));
        let item = customer_item(&record, 2).unwrap();
        assert_eq!(item["lp_pk"], s(last_purchase_pk(d("2026-03-10"), "anna")));
        assert_eq!(item["bd_sk"], s("anna"));
        assert_eq!(decode_customer(&item).unwrap().version, 2, "the item's version wins");
        record.customer.erase("2026-03-11T00:00:00Z".parse().unwrap());
        assert!(!customer_item(&record, 3).unwrap().contains_key("bd_pk"), "erased: out of the birthday index");
    }
}
