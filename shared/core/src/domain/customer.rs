//! The customer profile: contacts, consent and preferences, and how a PUT changes it.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::ids::{CustomerId, Email, InvalidValue, Phone};
use crate::domain::kinds::{Channel, Locale};
use crate::domain::ledger::Account;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub email: bool,
    pub sms: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub customer_id: CustomerId,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub name: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub consent: Consent,
    pub preferred_channel: Option<Channel>,
    pub locale: Option<Locale>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set by DELETE: contacts are gone for good and nothing is ever sent again.
    pub erased_at: Option<DateTime<Utc>>,
    /// Set when mail to `email` bounced for good; cleared when the email changes.
    #[serde(default)]
    pub email_undeliverable_at: Option<DateTime<Utc>>,
}

impl Customer {
    pub fn new(customer_id: CustomerId, now: DateTime<Utc>) -> Self {
        Self {
            customer_id,
            phone: None,
            email: None,
            name: None,
            birthday: None,
            consent: Consent::default(),
            preferred_channel: None,
            locale: None,
            created_at: now,
            updated_at: now,
            erased_at: None,
            email_undeliverable_at: None,
        }
    }

    pub fn is_erased(&self) -> bool {
        self.erased_at.is_some()
    }

    /// Removes everything that identifies the person; the ledger stays for accounting.
    pub fn erase(&mut self, now: DateTime<Utc>) {
        self.phone = None;
        self.email = None;
        self.name = None;
        self.birthday = None;
        self.consent = Consent::default();
        self.preferred_channel = None;
        self.updated_at = now;
        self.erased_at.get_or_insert(now);
    }

    pub fn apply(&mut self, patch: &ProfilePatch, now: DateTime<Utc>) {
        if let Some(v) = &patch.phone {
            self.phone = v.clone();
        }
        if let Some(v) = &patch.email {
            if *v != self.email {
                // A new address has not bounced (yet).
                self.email_undeliverable_at = None;
            }
            self.email = v.clone();
        }
        if let Some(v) = &patch.name {
            self.name = v.clone();
        }
        if let Some(v) = patch.birthday {
            self.birthday = v;
        }
        if let Some(v) = patch.consent_email {
            self.consent.email = v;
        }
        if let Some(v) = patch.consent_sms {
            self.consent.sms = v;
        }
        if let Some(v) = patch.preferred_channel {
            self.preferred_channel = v;
        }
        if let Some(v) = patch.locale {
            self.locale = v;
        }
        self.updated_at = now;
    }
}

/// A PUT body after parsing: `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    pub phone: Option<Option<Phone>>,
    pub email: Option<Option<Email>>,
    pub name: Option<Option<String>>,
    pub birthday: Option<Option<NaiveDate>>,
    pub consent_email: Option<bool>,
    pub consent_sms: Option<bool>,
    pub preferred_channel: Option<Option<Channel>>,
    pub locale: Option<Option<Locale>>,
}

impl ProfilePatch {
    /// True when the patch would store personal data (refused for an erased customer).
    pub fn sets_personal_data(&self) -> bool {
        matches!(self.phone, Some(Some(_)))
            || matches!(self.email, Some(Some(_)))
            || matches!(self.name, Some(Some(_)))
            || matches!(self.birthday, Some(Some(_)))
    }
}

pub fn parse_name(value: &str) -> Result<String, InvalidValue> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 100 || trimmed.chars().any(char::is_control) {
        return Err(InvalidValue("name must be 1 to 100 characters without control characters".into()));
    }
    Ok(trimmed.to_owned())
}

/// A birthday: a real `YYYY-MM-DD` date from 1900 up to `today`.
pub fn parse_birthday(value: &str, today: NaiveDate) -> Result<NaiveDate, InvalidValue> {
    let date = crate::domain::date::parse_date(value)
        .map_err(|e| InvalidValue(crate::domain::date::date_error_in_words("birthday", value, "1990-03-14", e)))?;
    if date.year() < 1900 || date > today {
        return Err(InvalidValue("birthday must be between 1900-01-01 and today".into()));
    }
    Ok(date)
}

/// What a store keeps per customer: profile and account under one version, so every write
/// is one conditional put/update of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRecord {
    pub customer: Customer,
    pub account: Account,
    /// Optimistic-concurrency version: 1 on creation, +1 on every write.
    pub version: u64,
}

impl CustomerRecord {
    pub fn new(customer_id: CustomerId, now: DateTime<Utc>) -> Self {
        Self { customer: Customer::new(customer_id, now), account: Account::default(), version: 0 }
    }
}
