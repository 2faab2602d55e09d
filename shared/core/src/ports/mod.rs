//! The ports: what the use cases need of a store and of a messenger, in the domain's terms.
//!
//! The store port is shaped for DynamoDB: every write is one atomic, conditional operation on
//! records whose size does not grow with history; idempotency ids are enforced by the store's
//! own conditions, never by a read-then-write race in the caller. The helpers at the end are
//! what every store shares: one JSON and date encoding, and one rule for failed conditions.

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::domain::customer::CustomerRecord;

mod customers;
mod digest;
mod ledger;
mod messaging;
mod referrals;
mod reports;
mod surveys;
mod sweep;

pub use digest::{DigestRecord, DigestStore};
pub use customers::{CustomerReader, CustomerWriter, KeyStore, SecretStore, SECRET_LEN};
pub use ledger::{LedgerWriter, PurchaseCommit, PurchaseView, RefundCommit, RefundKeys, RefundView};
pub use messaging::{Attachment, MessageKey, Messenger, OutgoingMessage, OwnerEmail, SendError};
pub use referrals::{code_to_reserve, ReferralStore, RewardCommit};
pub use reports::ReportStore;
pub use surveys::SurveyStore;
pub use sweep::{BurnCommit, RecordCommit, SweepStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record's version is not the expected one: someone else wrote first. Retry.
    #[error("the record was changed by a concurrent writer")]
    Conflict,
    /// The idempotency id (receipt, refund, key) is already taken. Read it and replay.
    #[error("the id is already recorded")]
    Duplicate,
    /// The store could not be reached or refused the request; safe to retry later.
    #[error("the store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Stored data failed to decode: a bug or a manual edit, never the caller's fault.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// The condition a write puts on the customer record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// The record must not exist yet.
    Absent,
    /// The record must still be at this version.
    Version(u64),
}

impl Expected {
    pub fn of(record: &Option<CustomerRecord>) -> Self {
        match record {
            Some(r) => Expected::Version(r.version),
            None => Expected::Absent,
        }
    }
    pub fn next_version(self) -> u64 {
        match self {
            Expected::Absent => 1,
            Expected::Version(v) => v + 1,
        }
    }
}

/// Everything the API and the sweep need; each adapter implements all of it.
pub trait Store:
    CustomerReader + CustomerWriter + LedgerWriter + KeyStore + SecretStore + SweepStore + ReportStore + ReferralStore + DigestStore + SurveyStore
{
}
impl<T> Store for T where
    T: CustomerReader
        + CustomerWriter
        + LedgerWriter
        + KeyStore
        + SecretStore
        + SweepStore
        + ReportStore
        + ReferralStore
        + DigestStore
        + SurveyStore
{
}


/// What a write's failed condition was guarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// An idempotency id must be new (receipt, refund, outcome key, key hash, terminal lock).
    NewId,
    /// A record must still be as the writer read it (its version, a receipt's refund count).
    Unchanged,
}

impl StoreError {
    /// The error of a write refused by the conditions that failed, or `None` if none did.
    /// A taken id wins over a moved record: the use case then reads and replays the earlier
    /// request instead of retrying a write that can never succeed.
    pub fn refused(failed: impl IntoIterator<Item = Guard>) -> Option<StoreError> {
        let failed: Vec<Guard> = failed.into_iter().collect();
        if failed.contains(&Guard::NewId) {
            Some(StoreError::Duplicate)
        } else if failed.contains(&Guard::Unchanged) {
            Some(StoreError::Conflict)
        } else {
            None
        }
    }
}

/// A record as stored JSON; `what` names it in the error.
pub fn encode_json<T: Serialize>(value: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot encode {what}: {e}")))
}

/// A record from stored JSON; `what` names its kind in the error. The error goes to logs, so
/// it names no customer: callers pass the kind, never the key (a customer id may be a phone
/// number), and serde's own text is not kept, since it quotes the value it could not read
/// (a record holds contacts). What is kept: the kind of fault, where in the JSON, and the name
/// of a missing field (a field of ours).
pub fn decode_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {}", json_fault(&e))))
}

/// A JSON decoding error without the values it quotes.
fn json_fault(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let message = e.to_string();
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split_once('`')).map(|(name, _)| name);
    let fault = match (e.classify(), missing) {
        (_, Some(name)) => format!("the field {name} is missing"),
        (Category::Data, None) => "a value has the wrong type or shape".to_owned(),
        (Category::Syntax, None) => "not valid JSON".to_owned(),
        (Category::Eof, None) => "the JSON ends early".to_owned(),
        (Category::Io, None) => "could not be read".to_owned(),
    };
    format!("{fault} (line {}, column {})", e.line(), e.column())
}

/// A date as stored: `YYYY-MM-DD`, fixed width, so text order is date order.
pub fn encode_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub fn decode_date(text: &str, what: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| StoreError::Corrupt(format!("{what}: bad date {text:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_id_wins_over_a_moved_record() {
        use Guard::{NewId, Unchanged};
        assert!(matches!(StoreError::refused([Unchanged, NewId]), Some(StoreError::Duplicate)));
        assert!(matches!(StoreError::refused([Unchanged]), Some(StoreError::Conflict)));
        assert!(StoreError::refused([]).is_none());
    }

    #[test]
    fn a_decoding_error_names_the_kind_and_place_never_the_values() {
        #[derive(Debug, serde::Deserialize)]
        struct Record {
            #[allow(dead_code)]
            version: u64,
        }
        let text = r#"{"version": "anna@example.ru +79161234567"}"#;
        let Err(StoreError::Corrupt(message)) = decode_json::<Record>(text, "customer record") else { panic!() };
        assert_eq!(message, "customer record: a value has the wrong type or shape (line 1, column 42)");
        let Err(StoreError::Corrupt(message)) = decode_json::<Record>("{}", "customer record") else { panic!() };
        assert_eq!(message, "customer record: the field version is missing (line 1, column 2)");
        let Err(StoreError::Corrupt(message)) = decode_json::<Record>("{\"version\": 1", "receipt") else { panic!() };
        assert!(message.starts_with("receipt: the JSON ends early"), "{message}");
    }

    #[test]
    fn stored_dates_sort_as_text_in_date_order() {
        let (a, b) = ("0999-12-31".parse().unwrap(), "2026-01-02".parse().unwrap());
        assert!(encode_date(a) < encode_date(b));
        assert_eq!(decode_date(&encode_date(b), "d").unwrap(), b);
        assert!(matches!(decode_date("2026-13-01", "d"), Err(StoreError::Corrupt(_))));
    }
}
