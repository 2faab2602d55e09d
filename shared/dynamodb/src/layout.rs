//! The table's layout: key shapes, attribute names, index names and the shard scheme.
//! docs/dynamodb.md describes the same layout for people; keep the two in step.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};

/// Partition and sort key of every item.
pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// The sort key of items that are alone in their partition.
pub const SOLE: &str = "#";

/// Optimistic-concurrency version of a customer item (N).
pub const VERSION: &str = "v";
/// The record itself, as JSON (S).
pub const RECORD: &str = "rec";
/// A receipt's customer id (S) and refund count (N).
pub const RECEIPT_CUSTOMER: &str = "c";
pub const RECEIPT_REFUNDS: &str = "n";
/// Ledger entries, as a JSON list (S): of a ledger item, or of a purchase on its receipt item.
pub const ENTRIES: &str = "entries";
/// A terminal lock's live key hash (S) and the listing item's sort key (S).
pub const LIVE_HASH: &str = "h";
/// The tenant secret's bytes (B).
pub const SECRET_BYTES: &str = "b";
/// An outcome's status (S), what `update_outcome`'s condition tests; `rec` holds the outcome.
pub const OUTCOME_STATUS: &str = "st";
/// The date of the last completed sweep (S, `YYYY-MM-DD`, so text order is date order).
pub const SWEEP_DATE: &str = "d";

/// How many partitions each day's (or birthday's, or expiry date's) index key is spread over.
/// DynamoDB takes at most 1,000 writes/s per partition key; one purchase day in one key would
/// cap a tenant at 1,000 purchases/s, sixteen keys at 16,000/s.
pub const INDEX_SHARDS: u32 = 16;

/// What a global secondary index copies from the table besides the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projected {
    /// The table's and the index's keys only.
    KeysOnly,
    /// The keys and these attributes.
    Include(&'static [&'static str]),
    /// The whole item.
    All,
}

/// One global secondary index: its name, its key attributes and its projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
    pub projected: Projected,
}

/// Customers by the local date of their last purchase: lapsed-customer triggers.
pub const BY_LAST_PURCHASE: Index =
    Index { name: "by_last_purchase", pk: "lp_pk", sk: "lp_sk", projected: Projected::KeysOnly };
/// Customers by birthday (MM-DD): birthday gifts. Absent for erased customers.
pub const BY_BIRTHDAY: Index = Index { name: "by_birthday", pk: "bd_pk", sk: "bd_sk", projected: Projected::KeysOnly };
/// Expiry markers by date: expiring-points warnings and burns.
pub const BY_EXPIRY: Index = Index { name: "by_expiry", pk: "xp_pk", sk: "xp_sk", projected: Projected::KeysOnly };
/// A customer's receipts by local purchase date, with the receipt itself: a report reads one
/// Query per customer with a trigger outcome, for the dates of its windows.
pub const BY_CUSTOMER_PURCHASE: Index = Index {
    name: "by_customer_purchase",
    pk: "cp_pk",
    sk: "cp_sk",
    projected: Projected::Include(&[RECORD, RECEIPT_CUSTOMER, RECEIPT_REFUNDS]),
};
/// Sweep outcomes by the sweep date that decided them, whole: the sender and the reports read
/// a day's outcomes from the index alone.
pub const BY_SWEEP_DATE: Index = Index { name: "by_sweep_date", pk: "od_pk", sk: "od_sk", projected: Projected::All };

/// Referrers' rewards by the date they come due, whole: the sweep reads a day's rewards from
/// the index alone.
pub const BY_REWARD_DUE: Index = Index { name: "by_reward_due", pk: "rd_pk", sk: "rd_sk", projected: Projected::All };

/// Surveys by the sweep date that asked them, whole: the sweep's later sends and the NPS report.
pub const BY_SURVEY_ASKED: Index = Index { name: "by_survey_asked", pk: "sa_pk", sk: "sa_sk", projected: Projected::All };
/// Answered surveys by the local date of their first answer, whole (sparse: an unanswered
/// survey has no key here): the owner's detractor alert and the promoters' invitations.
pub const BY_SURVEY_ANSWERED: Index =
    Index { name: "by_survey_answered", pk: "sn_pk", sk: "sn_sk", projected: Projected::All };

/// Customers by the (UTC) date they enrolled with a referral code, keys only (sparse): the
/// report's "enrolled with a code".
pub const BY_REFERRED: Index = Index { name: "by_referred", pk: "rf_pk", sk: "rf_sk", projected: Projected::KeysOnly };

pub const INDEXES: [Index; 9] = [
    BY_LAST_PURCHASE,
    BY_BIRTHDAY,
    BY_EXPIRY,
    BY_CUSTOMER_PURCHASE,
    BY_SWEEP_DATE,
    BY_REWARD_DUE,
    BY_SURVEY_ASKED,
    BY_SURVEY_ANSWERED,
    BY_REFERRED,
];

/// A referral code item's owner (S): the customer the code is reserved for.
pub const CODE_OWNER: &str = "c";
/// A referral reward's status (S), what `commit_reward`'s condition tests; `rec` holds it.
pub const REWARD_STATUS: &str = "st";

/// A referral code's item: one per code, so the code's uniqueness is the key's.
pub fn referral_code_pk(code: &str) -> String {
    format!("REF#{code}")
}
/// A referrer's reward for one friend: keyed by the friend, so there is at most one.
pub fn reward_pk(friend: &str) -> String {
    format!("RW#{friend}")
}
/// Rewards shard by their friend.
pub fn reward_due_pk(on: NaiveDate, friend: &str) -> String {
    sharded("RD", &encode_date(on), shard(friend))
}
pub fn reward_due_pks(on: NaiveDate) -> Vec<String> {
    all_shards("RD", &encode_date(on))
}

/// A survey's revision (N), what `update_survey`'s condition tests; `rec` holds the survey.
pub const SURVEY_REVISION: &str = "r";
/// A customer's surveys: one partition, one item per purchase date asked about.
pub fn survey_pk(customer: &str) -> String {
    format!("SV#{customer}")
}
/// The owner's alert of a date, in the tenant's partition.
pub fn owner_alert_sk(on: NaiveDate) -> String {
    format!("ALERT#{}", encode_date(on))
}
/// Surveys shard by their customer.
pub fn survey_asked_pk(on: NaiveDate, customer: &str) -> String {
    sharded("SA", &encode_date(on), shard(customer))
}
pub fn survey_asked_pks(on: NaiveDate) -> Vec<String> {
    all_shards("SA", &encode_date(on))
}
pub fn survey_answered_pk(on: NaiveDate, customer: &str) -> String {
    sharded("SN", &encode_date(on), shard(customer))
}
pub fn survey_answered_pks(on: NaiveDate) -> Vec<String> {
    all_shards("SN", &encode_date(on))
}

pub fn referred_pk(on: NaiveDate, customer: &str) -> String {
    sharded("RF", &encode_date(on), shard(customer))
}
pub fn referred_pks(on: NaiveDate) -> Vec<String> {
    all_shards("RF", &encode_date(on))
}

/// FNV-1a (32 bit): stable across builds and platforms, unlike `std`'s hasher.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, b| (h ^ u32::from(*b)).wrapping_mul(0x0100_0193))
}

/// The index shard of an id: the same id always lands in the same shard.
pub fn shard(id: &str) -> u32 {
    fnv1a(id.as_bytes()) % INDEX_SHARDS
}

use boomerang_core::ports::encode_date;

/// RFC 3339 in UTC with milliseconds: fixed width, so key order is time order.
pub fn millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn customer_pk(id: &str) -> String {
    format!("C#{id}")
}
pub fn receipt_pk(id: &str) -> String {
    format!("R#{id}")
}
pub fn refund_pk(id: &str) -> String {
    format!("F#{id}")
}
pub fn key_pk(hash: &str) -> String {
    format!("K#{hash}")
}
pub fn terminal_pk(terminal: &str) -> String {
    format!("T#{terminal}")
}
/// The partition holding one listing item per key, so that listing keys is one Query.
pub const KEYS_PK: &str = "KEYS";
pub const TENANT_PK: &str = "TENANT";
pub const SECRET_SK: &str = "SECRET";
/// The tenant's sweep progress: the last completed sweep date.
pub const SWEEP_SK: &str = "SWEEP";

/// A ledger item's sort key under its customer: when, then which operation.
pub fn ledger_sk(recorded_at: DateTime<Utc>, reference: &str) -> String {
    format!("E#{}#{reference}", millis(recorded_at))
}
pub fn expiry_sk(expires_on: NaiveDate) -> String {
    format!("X#{}", encode_date(expires_on))
}
/// A listing item's sort key: terminal, creation, then enough of the hash to be unique.
pub fn listing_sk(terminal: &str, created_at: DateTime<Utc>, hash: &str) -> String {
    let prefix: String = hash.chars().take(16).collect();
    format!("{terminal}#{}#{prefix}", millis(created_at))
}

/// An outcome's partition: one per customer, apart from the customer's own items.
pub fn outcome_pk(customer: &str) -> String {
    format!("O#{customer}")
}
/// An outcome's sort key: trigger, then the episode as its `Display` (the trigger tells a
/// lapse's date from an expiry's).
pub fn outcome_sk(trigger: &str, episode: &str) -> String {
    format!("{trigger}#{episode}")
}

/// Index partition keys are `<prefix>#<value>#<shard>`: a writer files an item under its id's
/// shard, a reader queries all [`INDEX_SHARDS`] of a value.
fn sharded(prefix: &str, value: &str, shard: u32) -> String {
    format!("{prefix}#{value}#{shard}")
}
fn all_shards(prefix: &str, value: &str) -> Vec<String> {
    (0..INDEX_SHARDS).map(|s| sharded(prefix, value, s)).collect()
}
fn month_day(month: u32, day: u32) -> String {
    format!("{month:02}-{day:02}")
}

pub fn last_purchase_pk(on: NaiveDate, customer: &str) -> String {
    sharded("LP", &encode_date(on), shard(customer))
}
pub fn birthday_pk(birthday: NaiveDate, customer: &str) -> String {
    sharded("BD", &month_day(birthday.month(), birthday.day()), shard(customer))
}
pub fn expiry_pk(expires_on: NaiveDate, customer: &str) -> String {
    sharded("XP", &encode_date(expires_on), shard(customer))
}
/// Outcomes shard by their customer: one customer's outcomes of a day share a shard.
pub fn sweep_date_pk(on: NaiveDate, customer: &str) -> String {
    sharded("OD", &encode_date(on), shard(customer))
}
pub fn sweep_date_sk(customer: &str, trigger: &str, episode: &str) -> String {
    format!("{customer}#{trigger}#{episode}")
}

/// Every shard key of a last purchase date, of a birthday, of an expiry date, of a sweep date.
pub fn last_purchase_pks(on: NaiveDate) -> Vec<String> {
    all_shards("LP", &encode_date(on))
}
pub fn birthday_pks(month: u32, day: u32) -> Vec<String> {
    all_shards("BD", &month_day(month, day))
}
pub fn expiry_pks(expires_on: NaiveDate) -> Vec<String> {
    all_shards("XP", &encode_date(expires_on))
}
pub fn sweep_date_pks(on: NaiveDate) -> Vec<String> {
    all_shards("OD", &encode_date(on))
}
/// A customer's receipts share one index partition: a customer buys a few times a day at
/// most, far below a partition's 1,000 writes a second.
pub fn customer_purchase_pk(customer: &str) -> String {
    format!("CP#{customer}")
}
/// Date first, so a window of dates is one key range; the id makes it unique.
pub fn customer_purchase_sk(on: NaiveDate, receipt: &str) -> String {
    format!("{}#{receipt}", encode_date(on))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_stable_and_spread() {
        // Pinned: a change would move every index entry already written.
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        assert_eq!(shard("4000-0000-0001"), shard("4000-0000-0001"));
        let used: std::collections::BTreeSet<u32> = (0..1_000).map(|i| shard(&format!("card-{i}"))).collect();
        assert_eq!(used.len() as u32, INDEX_SHARDS, "a thousand ids use every shard");
        assert!(used.iter().all(|s| *s < INDEX_SHARDS));
    }

    #[test]
    fn a_reader_queries_every_shard_a_writer_may_use() {
        let d: NaiveDate = "2026-02-09".parse().unwrap();
        let id = "anna";
        assert!(last_purchase_pks(d).contains(&last_purchase_pk(d, id)));
        assert!(birthday_pks(2, 9).contains(&birthday_pk("1990-02-09".parse().unwrap(), id)));
        assert!(expiry_pks(d).contains(&expiry_pk(d, id)));
        assert!(sweep_date_pks(d).contains(&sweep_date_pk(d, id)));
        assert_eq!(customer_purchase_sk(d, "r-1"), "2026-02-09#r-1");
        let keys = sweep_date_pks(d);
        assert_eq!(keys.len() as u32, INDEX_SHARDS);
        assert_eq!(keys.iter().collect::<std::collections::BTreeSet<_>>().len() as u32, INDEX_SHARDS, "all distinct");
        assert_eq!(birthday_pks(2, 9)[0], "BD#02-09#0");
    }

    #[test]
    fn keys_sort_by_time_and_name_their_shard() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(ledger_sk(t("2026-03-10T09:00:00Z"), "r-1"), "E#2026-03-10T09:00:00.000Z#r-1");
        assert!(ledger_sk(t("2026-03-10T09:00:00.5Z"), "a") < ledger_sk(t("2026-03-10T10:00:00Z"), "a"));
        let d: NaiveDate = "2026-05-17".parse().unwrap();
        assert_eq!(birthday_pk(d, "anna"), format!("BD#05-17#{}", shard("anna")));
        assert_eq!(expiry_sk(d), "X#2026-05-17");
        assert_eq!(sweep_date_pk(d, "anna"), format!("OD#2026-05-17#{}", shard("anna")));
        assert_eq!(sweep_date_sk("anna", "birthday", "2026"), "anna#birthday#2026");
        assert_eq!(outcome_sk("lapsed_30", "2026-05-17"), "lapsed_30#2026-05-17");
        assert_eq!(
            listing_sk("till-1", t("2026-03-01T08:00:00Z"), &"ab".repeat(32)),
            "till-1#2026-03-01T08:00:00.000Z#abababababababab"
        );
    }
}
