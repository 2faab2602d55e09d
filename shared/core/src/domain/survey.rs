//! The NPS survey after a purchase: who is asked (a stable sample of a day's purchasers,
//! spaced per customer), the signed link, and the rules of an answer. Pure: the tenant
//! secret, dates, instants and records come in as values.
//!
//! A survey is its own record, keyed by customer and purchase date (one per sampled
//! purchase-day), and holds its answer: every event (asked, claimed, sent, answered, replaced,
//! erased) is one conditional write of that one bounded record, guarded by its revision.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::ids::{CustomerId, InvalidValue, ReceiptId, StoreId};
use crate::domain::kinds::{Channel, Locale, SendStatus};
use crate::domain::purchase::Receipt;
use crate::domain::triggers::Claim;

pub mod alert;
pub mod nps;
pub mod state;
pub mod token;
pub use state::SurveyConfig;

/// How long a survey link works, from the day it was sent.
pub const LINK_VALID_DAYS: i64 = 30;
/// How long after the first answer a new one replaces it; later ones are refused.
pub const REPLACE_DAYS: i64 = 7;
/// The longest comment kept.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// A survey's identity: the customer and the local date of the purchase asked about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SurveyKey {
    pub customer_id: CustomerId,
    pub purchased_on: NaiveDate,
}

impl fmt::Display for SurveyKey {
    /// `<customer>:<date>`: the survey id shown to the API and in the outbox.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.customer_id, self.purchased_on.format("%Y-%m-%d"))
    }
}

/// True when the customer is in the day's sample: a stable hash of customer and purchase
/// date, so a rerun of the sweep picks the same people and no randomness is needed.
pub fn in_sample(customer: &CustomerId, purchased_on: NaiveDate, percent: u8) -> bool {
    let digest = Sha256::digest(format!("survey:{purchased_on}:{customer}").as_bytes());
    let bucket = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % 100;
    bucket < u64::from(percent)
}

/// True when a customer last asked on `last` may be asked again on `on`.
pub fn spaced(last: Option<NaiveDate>, on: NaiveDate, min_days_between: u32) -> bool {
    last.is_none_or(|last| on >= last + Duration::days(min_days_between.into()))
}

/// The purchase date a sweep of `date` asks about.
pub fn purchase_date_asked(cfg: &SurveyConfig, date: NaiveDate) -> NaiveDate {
    date - Duration::days(cfg.delay_days.into())
}

/// One survey per customer among a day's receipts: the first receipt (by id) of each customer
/// not refunded in full, for the customers in the sample.
pub fn sampled_receipts<'a>(cfg: &SurveyConfig, receipts: &'a [Receipt]) -> Vec<&'a Receipt> {
    let mut firsts: std::collections::BTreeMap<&CustomerId, &Receipt> = std::collections::BTreeMap::new();
    for receipt in receipts.iter().filter(|r| r.refundable_minor() > 0) {
        let first = firsts.entry(&receipt.customer_id).or_insert(receipt);
        if receipt.receipt_id < first.receipt_id {
            *first = receipt;
        }
    }
    firsts.into_values().filter(|r| in_sample(&r.customer_id, r.local_date, cfg.sample_percent)).collect()
}

/// One message's progress (the survey link, or the promoter's invitation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub status: SendStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    /// Why the send failed (a provider's message, never an address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Delivery {
    pub fn pending() -> Self {
        Self { status: SendStatus::Pending, channel: None, claim: None, sent_at: None, error: None }
    }
}

/// A score from 0 to 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Score(u8);

impl Score {
    pub fn parse(value: i64) -> Result<Self, InvalidValue> {
        u8::try_from(value)
            .ok()
            .filter(|v| *v <= 10)
            .map(Score)
            .ok_or_else(|| InvalidValue(format!("score must be a whole number from 0 to 10, got {value}")))
    }
    pub fn value(self) -> u8 {
        self.0
    }
    pub fn group(self) -> NpsGroup {
        match self.0 {
            9..=10 => NpsGroup::Promoter,
            7..=8 => NpsGroup::Passive,
            _ => NpsGroup::Detractor,
        }
    }
}

impl TryFrom<u8> for Score {
    type Error = InvalidValue;
    fn try_from(value: u8) -> Result<Self, InvalidValue> {
        Self::parse(value.into())
    }
}
impl From<Score> for u8 {
    fn from(score: Score) -> u8 {
        score.0
    }
}

/// The three groups of the Net Promoter Score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NpsGroup {
    /// 9-10.
    Promoter,
    /// 7-8.
    Passive,
    /// 0-6.
    Detractor,
}

/// An optional free-text comment, trimmed, at most 1,000 characters; empty means none.
pub fn parse_comment(text: Option<&str>) -> Result<Option<String>, InvalidValue> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    let chars = text.chars().count();
    if chars > MAX_COMMENT_CHARS {
        return Err(InvalidValue(format!("comment must be at most {MAX_COMMENT_CHARS} characters, got {chars}")));
    }
    Ok(Some(text.to_owned()))
}

/// A customer's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub score: Score,
    /// Personal data: erased with the customer, never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The first answer's instant and local date: the replacement window (and a promoter's
    /// invitation) count from it.
    pub first_at: DateTime<Utc>,
    pub answered_on: NaiveDate,
    /// The latest answer's instant.
    pub at: DateTime<Utc>,
    /// The local date of the latest answer when it replaced an earlier one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_on: Option<NaiveDate>,
}

impl Answer {
    /// The date the survey is listed under as answered (`surveys_answered_on`, the owner's
    /// detractor alert): the latest answer's, so a replacing detractor answer is reported on
    /// the day it was given.
    pub fn listed_on(&self) -> NaiveDate {
        self.replaced_on.unwrap_or(self.answered_on)
    }
}

/// A survey: the intent to ask (written by the sweep), its message, and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survey {
    pub key: SurveyKey,
    /// The receipt asked about: its shop and date go with the answer.
    pub receipt_id: ReceiptId,
    pub store_id: StoreId,
    /// The sweep date that asked (the link is dated from it).
    pub asked_on: NaiveDate,
    pub locale: Locale,
    pub decided_at: DateTime<Utc>,
    pub delivery: Delivery,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// A promoter's invitation to refer a friend, once they answered 9 or 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<Delivery>,
    /// +1 on every write: each write is conditional on the revision it read.
    pub revision: u64,
}

impl Survey {
    /// The survey a sweep of `asked_on` decides for a sampled receipt.
    pub fn ask(receipt: &Receipt, asked_on: NaiveDate, locale: Locale, now: DateTime<Utc>) -> Self {
        Self {
            key: SurveyKey { customer_id: receipt.customer_id.clone(), purchased_on: receipt.local_date },
            receipt_id: receipt.receipt_id.clone(),
            store_id: receipt.store_id.clone(),
            asked_on,
            locale,
            decided_at: now,
            delivery: Delivery::pending(),
            answer: None,
            invite: None,
            revision: 1,
        }
    }

    /// The same survey as its next revision.
    pub fn next(&self) -> Self {
        Self { revision: self.revision + 1, ..self.clone() }
    }

    /// The last date its link works.
    pub fn link_expires_on(&self) -> NaiveDate {
        self.asked_on + Duration::days(LINK_VALID_DAYS)
    }

    /// Drops the answer's comment (erasure); `None` when there was none to drop.
    pub fn without_comment(&self) -> Option<Survey> {
        let answer = self.answer.as_ref().filter(|a| a.comment.is_some())?;
        let mut next = self.next();
        next.answer = Some(Answer { comment: None, ..answer.clone() });
        Some(next)
    }
}

/// Why an answer is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerRefused {
    #[error("this survey link expired on {0}; links work for {LINK_VALID_DAYS} days")]
    Expired(NaiveDate),
    #[error("this survey was answered on {0}; an answer can be changed for {REPLACE_DAYS} days")]
    Closed(NaiveDate),
}

/// The survey with this answer: the first one, or a replacement within `REPLACE_DAYS` of the
/// first; a promoter's answer (when the program invites promoters) queues one invitation, and
/// an invitation not yet sent is dropped if the replacement is no longer a promoter's.
pub fn answer(
    survey: &Survey,
    score: Score,
    comment: Option<String>,
    invite_promoters: bool,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<Survey, AnswerRefused> {
    if today > survey.link_expires_on() {
        return Err(AnswerRefused::Expired(survey.link_expires_on()));
    }
    let (first_at, answered_on) = match &survey.answer {
        Some(a) if now - a.first_at > Duration::days(REPLACE_DAYS) => return Err(AnswerRefused::Closed(a.answered_on)),
        Some(a) => (a.first_at, a.answered_on),
        None => (now, today),
    };
    let mut next = survey.next();
    let replaced_on = survey.answer.is_some().then_some(today);
    next.answer = Some(Answer { score, comment, first_at, answered_on, at: now, replaced_on });
    let promoter = score.group() == NpsGroup::Promoter && invite_promoters;
    next.invite = match (&survey.invite, promoter) {
        (None, true) => Some(Delivery::pending()),
        (Some(invite), false) if invite.status == SendStatus::Pending => None,
        (invite, _) => invite.clone(),
    };
    Ok(next)
}

#[cfg(test)]
mod tests;
