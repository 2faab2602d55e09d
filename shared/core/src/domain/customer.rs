//! The customer profile: contacts, consent and preferences, and how a PUT changes it.
//!
//! Consent is kept per channel twice over: the flag the sweep reads (`consent`) and the last
//! change of it (`consent_details`: granted or not, when, and who or what changed it), which is
//! the evidence an operator shows a regulator. The two change together, through
//! [`Customer::apply`], [`Customer::withdraw`] and [`Customer::erase_by`]. A channel the
//! customer turned off themselves (the unsubscribe link, a spam complaint, SMS STOP) stays off
//! until they consent afresh: a change that merely says `true` again does not turn it on.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::auth::Principal;
use crate::domain::contact::ContactState;
use crate::domain::ids::{text_form, CustomerId, Email, InvalidValue, Phone, TerminalName};
use crate::domain::kinds::{Channel, Locale};
use crate::domain::ledger::Account;
use crate::domain::referral::state::ReferralState;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub email: bool,
    pub sms: bool,
}

/// Who or what changed a channel's consent. Stored and shown as `pos:<terminal>`, `import`,
/// `unsubscribe_link`, `complaint`, `sms_opt_out` or `admin`.
///
/// A bounce is not among them: mail that cannot be delivered says nothing about what the
/// customer wants, so it marks the address (`email_undeliverable_at`) and leaves consent be.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ConsentSource {
    /// A till, through the API with its POS key.
    Pos(TerminalName),
    /// A row of a customers file (`boomerang import customers`).
    Import,
    /// The customer used the unsubscribe link of an email (or the mail client's one-click button).
    UnsubscribeLink,
    /// The customer marked an email as spam (an SES complaint).
    Complaint,
    /// The customer replied STOP to an SMS (the SMS provider's opt-out list).
    SmsOptOut,
    /// The operator: an admin key through the API, or the operator's own tools.
    Admin,
}

impl ConsentSource {
    /// Who stands behind an API call: the till's name for a POS key, `admin` for an admin key.
    pub fn of(principal: &Principal) -> Self {
        if principal.admin {
            ConsentSource::Admin
        } else {
            ConsentSource::Pos(principal.terminal.clone())
        }
    }

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        Ok(match text {
            "import" => ConsentSource::Import,
            "unsubscribe_link" => ConsentSource::UnsubscribeLink,
            "complaint" => ConsentSource::Complaint,
            "sms_opt_out" => ConsentSource::SmsOptOut,
            "admin" => ConsentSource::Admin,
            other => match other.strip_prefix("pos:") {
                Some(terminal) => ConsentSource::Pos(TerminalName::parse(terminal)?),
                None => return Err(InvalidValue(format!("unknown consent source {other:?}"))),
            },
        })
    }

    /// True for the customer's own ways of saying no: only their fresh consent undoes them.
    pub fn is_the_customer(&self) -> bool {
        matches!(self, ConsentSource::UnsubscribeLink | ConsentSource::Complaint | ConsentSource::SmsOptOut)
    }

    /// How the change was made, in words ("by replying STOP to an SMS").
    pub fn in_words(&self) -> String {
        match self {
            ConsentSource::Pos(terminal) => format!("at the till {terminal}"),
            ConsentSource::Import => "by a customers import".into(),
            ConsentSource::UnsubscribeLink => "by the unsubscribe link of an email".into(),
            ConsentSource::Complaint => "by marking an email as spam".into(),
            ConsentSource::SmsOptOut => "by replying STOP to an SMS".into(),
            ConsentSource::Admin => "by the operator".into(),
        }
    }
}

impl fmt::Display for ConsentSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsentSource::Pos(terminal) => write!(f, "pos:{terminal}"),
            ConsentSource::Import => f.write_str("import"),
            ConsentSource::UnsubscribeLink => f.write_str("unsubscribe_link"),
            ConsentSource::Complaint => f.write_str("complaint"),
            ConsentSource::SmsOptOut => f.write_str("sms_opt_out"),
            ConsentSource::Admin => f.write_str("admin"),
        }
    }
}

text_form!(ConsentSource, InvalidValue, |value| value.to_string());

/// The last change of one channel's consent: the evidence behind its flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentChange {
    pub granted: bool,
    pub at: DateTime<Utc>,
    pub source: ConsentSource,
}

impl ConsentChange {
    /// "on 2026-11-24 at 09:12 UTC by the unsubscribe link of an email"
    pub fn when_and_how(&self) -> String {
        format!("on {} {}", self.at.format("%Y-%m-%d at %H:%M UTC"), self.source.in_words())
    }
}

/// Each channel's last consent change. `None` where no change was recorded: consent never
/// given, or a record written before changes were recorded (its flag is all that is known).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentDetails {
    #[serde(default)]
    pub email: Option<ConsentChange>,
    #[serde(default)]
    pub sms: Option<ConsentChange>,
}

impl ConsentDetails {
    pub fn get(&self, channel: Channel) -> Option<&ConsentChange> {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
        }
    }

    fn slot(&mut self, channel: Channel) -> &mut Option<ConsentChange> {
        match channel {
            Channel::Email => &mut self.email,
            Channel::Sms => &mut self.sms,
        }
    }
}

/// A change that says `true` for a channel the customer turned off themselves, without
/// their fresh consent. Nothing of the change was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentWithdrawn {
    pub channel: Channel,
    /// The customer's withdrawal: when and how.
    pub withdrawal: ConsentChange,
}

impl fmt::Display for ConsentWithdrawn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let channel = self.channel.as_str();
        write!(
            f,
            "the customer withdrew {channel} consent {}; only their fresh consent turns it on again: \
             once they have given it, send \"consent_renewed\": [\"{channel}\"] with consent.{channel} true",
            self.withdrawal.when_and_how()
        )
    }
}

impl std::error::Error for ConsentWithdrawn {}

/// What a profile change does with a `true` for a channel the customer withdrew themselves
/// (and did not renew): the API refuses the whole change, an import keeps the withdrawal and
/// applies the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnWithdrawn {
    Refuse,
    Keep,
}

/// Who changes a profile: the source recorded with each consent change, the channels the
/// customer has just consented to afresh (`consent_renewed`), and what to do about a
/// withdrawal that was not renewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileEditor {
    pub source: ConsentSource,
    pub renewed: Vec<Channel>,
    pub on_withdrawn: OnWithdrawn,
}

impl ProfileEditor {
    /// A till or an admin key through the API: a withdrawal is refused unless renewed.
    pub fn api(principal: &Principal, renewed: Vec<Channel>) -> Self {
        Self { source: ConsentSource::of(principal), renewed, on_withdrawn: OnWithdrawn::Refuse }
    }

    /// A customers import: withdrawals are kept (and counted by the import).
    pub fn import() -> Self {
        Self { source: ConsentSource::Import, renewed: Vec::new(), on_withdrawn: OnWithdrawn::Keep }
    }

    /// The operator's own tools: a withdrawal is refused, as for a till.
    pub fn admin() -> Self {
        Self { source: ConsentSource::Admin, renewed: Vec::new(), on_withdrawn: OnWithdrawn::Refuse }
    }
}

/// Checks `consent_renewed` against the change it comes with: each channel once, and only
/// a channel the change sets to `true` (a renewal of anything else is a mistake to report).
pub fn check_renewal(patch: &ProfilePatch, renewed: &[Channel]) -> Result<(), InvalidValue> {
    for (i, channel) in renewed.iter().enumerate() {
        if renewed[..i].contains(channel) {
            return Err(InvalidValue(format!("consent_renewed names {} twice", channel.as_str())));
        }
        let granted = match channel {
            Channel::Email => patch.consent_email,
            Channel::Sms => patch.consent_sms,
        };
        if granted != Some(true) {
            let c = channel.as_str();
            return Err(InvalidValue(format!(
                "consent_renewed may only name a channel this request turns on: it names {c}, so send \
                 consent.{c} true with it"
            )));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub customer_id: CustomerId,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub name: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub consent: Consent,
    /// The last change of each flag of `consent` (absent in records written before it was kept).
    #[serde(default)]
    pub consent_details: ConsentDetails,
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
            consent_details: ConsentDetails::default(),
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

    /// The consent flag of `channel`.
    pub fn consented(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.consent.email,
            Channel::Sms => self.consent.sms,
        }
    }

    /// The customer's own withdrawal of `channel` (link, complaint, STOP), if it still stands:
    /// the channel is off and that withdrawal is its last change.
    pub fn withdrawal(&self, channel: Channel) -> Option<&ConsentChange> {
        let last = self.consent_details.get(channel)?;
        (!self.consented(channel) && !last.granted && last.source.is_the_customer()).then_some(last)
    }

    /// Sets `channel`'s flag and records the change.
    fn record_consent(&mut self, channel: Channel, granted: bool, at: DateTime<Utc>, source: &ConsentSource) {
        match channel {
            Channel::Email => self.consent.email = granted,
            Channel::Sms => self.consent.sms = granted,
        }
        *self.consent_details.slot(channel) = Some(ConsentChange { granted, at, source: source.clone() });
    }

    /// The customer turned `channel` off themselves at `at` (`source`: the link, a complaint,
    /// STOP). False when an own withdrawal already stands: the first one is the evidence kept.
    /// `updated_at` is the caller's to set.
    pub fn withdraw(&mut self, channel: Channel, at: DateTime<Utc>, source: &ConsentSource) -> bool {
        if self.withdrawal(channel).is_some() {
            return false;
        }
        self.record_consent(channel, false, at, source);
        true
    }

    /// DELETE by the operator's own tools; see [`Customer::erase_by`].
    pub fn erase(&mut self, now: DateTime<Utc>) {
        self.erase_by(now, &ConsentSource::Admin);
    }

    /// Removes everything that identifies the person; the ledger stays for accounting.
    /// Channels still on are recorded as turned off by `source`; the last change of a channel
    /// already off stays, as the evidence of when and how it went off.
    pub fn erase_by(&mut self, now: DateTime<Utc>, source: &ConsentSource) {
        let before = self.clone();
        for channel in [Channel::Email, Channel::Sms] {
            if self.consented(channel) {
                self.record_consent(channel, false, now, source);
            }
        }
        self.phone = None;
        self.email = None;
        self.name = None;
        self.birthday = None;
        self.preferred_channel = None;
        self.erased_at.get_or_insert(now);
        if *self != before {
            self.updated_at = now;
        }
    }

    /// Applies a PUT (or an import row) made by `editor` at `now`. `updated_at` moves only
    /// when something changed, so an unchanged profile compares equal to what it was.
    ///
    /// A consent flag that changes is recorded with `editor.source`. A `true` for a channel
    /// the customer withdrew themselves turns it on only when `editor.renewed` names it;
    /// otherwise, with [`OnWithdrawn::Refuse`] nothing is applied and the withdrawal is the
    /// error, with [`OnWithdrawn::Keep`] the channel stays off, the rest is applied and the
    /// channel is among those returned.
    pub fn apply(
        &mut self,
        patch: &ProfilePatch,
        now: DateTime<Utc>,
        editor: &ProfileEditor,
    ) -> Result<Vec<Channel>, ConsentWithdrawn> {
        let mut consent_changes = Vec::new();
        let mut kept_withdrawn = Vec::new();
        for (channel, wanted) in [(Channel::Email, patch.consent_email), (Channel::Sms, patch.consent_sms)] {
            let Some(wanted) = wanted.filter(|w| *w != self.consented(channel)) else { continue };
            match self.withdrawal(channel) {
                Some(withdrawal) if wanted && !editor.renewed.contains(&channel) => match editor.on_withdrawn {
                    OnWithdrawn::Refuse => {
                        return Err(ConsentWithdrawn { channel, withdrawal: withdrawal.clone() });
                    }
                    OnWithdrawn::Keep => kept_withdrawn.push(channel),
                },
                _ => consent_changes.push((channel, wanted)),
            }
        }

        let before = self.clone();
        for (channel, granted) in consent_changes {
            self.record_consent(channel, granted, now, &editor.source);
        }
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
        if let Some(v) = patch.preferred_channel {
            self.preferred_channel = v;
        }
        if let Some(v) = patch.locale {
            self.locale = v;
        }
        if *self != before {
            self.updated_at = now;
        }
        Ok(kept_withdrawn)
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
    /// When the sweep last messaged them: what the contact rules need to know.
    #[serde(default)]
    pub contact: ContactState,
    /// The customer's referral code, who referred them, and their rewards as a referrer.
    #[serde(default, skip_serializing_if = "ReferralState::is_empty")]
    pub referral: ReferralState,
    /// Optimistic-concurrency version: 1 on creation, +1 on every write.
    pub version: u64,
}

impl CustomerRecord {
    pub fn new(customer_id: CustomerId, now: DateTime<Utc>) -> Self {
        Self {
            customer: Customer::new(customer_id, now),
            account: Account::default(),
            contact: ContactState::default(),
            referral: ReferralState::default(),
            version: 0,
        }
    }
}

#[cfg(test)]
mod tests;
