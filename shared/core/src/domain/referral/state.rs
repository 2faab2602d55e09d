//! The referral data other modules hold: the codes, the `[referral]` program section and
//! what a customer's record keeps of referrals. A leaf under `referral` (ids, kinds and
//! templates only), so the customer record and the program can hold it without importing
//! the referral rules, which use them.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use hmac::Mac;
use serde::{Deserialize, Serialize};

use crate::domain::auth::mac;
use crate::domain::ids::{CustomerId, InvalidValue, ReceiptId};
use crate::domain::kinds::Locale;
use crate::domain::template::Templates;

/// Characters of a referral code.
pub const CODE_LEN: usize = 6;
/// Crockford's base32: no I, L, O or U, so a code read aloud or typed is hard to get wrong.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A customer's referral code: 6 characters of Crockford base32, upper case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReferralCode(String);

impl ReferralCode {
    /// A code as a person typed it: lower case is accepted, and Crockford's aliases
    /// (I and L for 1, O for 0).
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let wrong = || {
            InvalidValue(format!(
                "a referral code is {CODE_LEN} letters and digits (Crockford base32: no U), e.g. 7K3M9Q"
            ))
        };
        let mut code = String::with_capacity(CODE_LEN);
        for c in text.trim().chars() {
            let c = match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
                _ => return Err(wrong()),
            };
            code.push(c);
        }
        if code.len() != CODE_LEN {
            return Err(wrong());
        }
        Ok(Self(code))
    }

    /// The customer's candidate code number `attempt` (0 first; the next one when a code is
    /// taken): an HMAC of the tenant secret and the customer id, so the same customer always
    /// gets the same candidates and nobody can guess another's code from their id.
    pub fn derive(secret: &[u8], customer: &CustomerId, attempt: u32) -> Self {
        let payload = [&attempt.to_be_bytes()[..], customer.as_str().as_bytes()].concat();
        let digest = mac(secret, b"referral:v1:", &payload).finalize().into_bytes();
        let bits = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
        let code = (0..CODE_LEN).map(|i| ALPHABET[((bits >> (59 - 5 * i)) & 31) as usize] as char).collect();
        Self(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ReferralCode {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<ReferralCode> for String {
    fn from(value: ReferralCode) -> String {
        value.0
    }
}
impl fmt::Display for ReferralCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[referral]` of the program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralConfig {
    pub enabled: bool,
    /// Credited to the friend with their first purchase of at least `min_purchase_minor`.
    pub friend_points: u64,
    pub friend_valid_days: u32,
    pub min_purchase_minor: u64,
    /// Credited to the referrer once that purchase is `hold_days` old and not refunded in full.
    pub referrer_points: u64,
    pub referrer_valid_days: u32,
    pub hold_days: u32,
    /// Rewards credited to one referrer per calendar month; the rest are recorded `capped`.
    pub max_rewards_per_month: u32,
    /// The referrer's message, which carries the reward, per locale.
    pub templates: BTreeMap<Locale, Templates>,
}

impl ReferralConfig {
    /// The first setting that is out of range: its key under `referral.` and why.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        let days = |v: u32| (1..=3650).contains(&v);
        if !days(self.friend_valid_days) {
            Some(("friend_valid_days", "must be from 1 to 3650 days"))
        } else if !days(self.referrer_valid_days) {
            Some(("referrer_valid_days", "must be from 1 to 3650 days"))
        } else if !(1..=365).contains(&self.hold_days) {
            Some(("hold_days", "must be from 1 to 365 days"))
        } else if self.friend_points > 1_000_000 {
            Some(("friend_points", "must be at most 1000000"))
        } else if self.referrer_points > 1_000_000 {
            Some(("referrer_points", "must be at most 1000000"))
        } else {
            None
        }
    }
}

/// The friend's first purchase that earned the referral points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstPurchase {
    pub receipt_id: ReceiptId,
    /// Its local date.
    pub on: NaiveDate,
    /// Set by the refund that leaves nothing of it (local date): the referrer's reward, if
    /// still pending then, is cancelled.
    #[serde(default)]
    pub refunded_in_full_on: Option<NaiveDate>,
}

/// Who referred a customer. Set with their first PUT, never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferredBy {
    pub code: ReferralCode,
    pub referrer: CustomerId,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub first_purchase: Option<FirstPurchase>,
}

/// Rewards credited to a referrer in one calendar month (the first day of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthCount {
    pub month: NaiveDate,
    pub count: u32,
}

/// What a customer record holds of referrals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralState {
    /// The customer's own code, reserved for them in the store (absent in records written
    /// before referrals: given at the next PUT or read of the customer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ReferralCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referred_by: Option<ReferredBy>,
    /// As a referrer: the rewards credited in the month of the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewarded: Option<MonthCount>,
}

impl ReferralState {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Rewards already credited in `month` (its first day).
    pub fn rewards_in(&self, month: NaiveDate) -> u32 {
        self.rewarded.filter(|m| m.month == month).map_or(0, |m| m.count)
    }
}

/// The first day of `date`'s month.
pub fn month_of(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("every month has a first day")
}
