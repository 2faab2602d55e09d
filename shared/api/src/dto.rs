//! The wire format of API v1: request bodies as sent, responses as documented in
//! docs/openapi.yaml. Parsing turns bodies into domain requests, naming the bad field.

use boomerang_core::app::BalanceView;
use boomerang_core::domain::customer::{self, ConsentChange, CustomerRecord, ProfilePatch};
use boomerang_core::domain::ids::{Currency, CustomerId, Email, InvalidValue, Phone, ReceiptId, RefundId, StoreId};
use boomerang_core::domain::kinds::Channel;
use boomerang_core::domain::kinds::Locale;
use boomerang_core::domain::purchase::{self, PurchaseRequest, Receipt, Refund, RefundRequest};
use boomerang_core::domain::referral::ReferralCode;
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::body::nullable;
use crate::error::ApiError;

/// The largest amount a receipt may carry, in minor units (1 billion in major units); the
/// core's limit, which imports apply too.
pub const MAX_AMOUNT_MINOR: i64 = purchase::MAX_AMOUNT_MINOR as i64;

fn field<T>(name: &str, r: Result<T, InvalidValue>) -> Result<T, ApiError> {
    r.map_err(|e| ApiError::invalid(name, e.0))
}

pub fn parse_customer_id(raw: &str) -> Result<CustomerId, ApiError> {
    field("customer_id", CustomerId::parse(raw))
}

pub fn parse_referral_code(raw: &str) -> Result<ReferralCode, ApiError> {
    field("code", ReferralCode::parse(raw))
}

fn parse_instant(name: &str, raw: &str) -> Result<DateTime<FixedOffset>, ApiError> {
    DateTime::parse_from_rfc3339(raw)
        .map_err(|_| ApiError::invalid(name, format!("{name} must be an RFC 3339 time with offset, e.g. 2026-11-24T10:15:00+03:00")))
}

fn positive_amount(name: &str, MinorUnits(value): MinorUnits) -> Result<u64, ApiError> {
    if value <= 0 || value > MAX_AMOUNT_MINOR {
        return Err(ApiError::invalid(
            name,
            format!("{name} must be a whole number of minor units from 1 to {MAX_AMOUNT_MINOR}, e.g. 250000 for 2,500.00"),
        ));
    }
    Ok(value as u64)
}

/// An integer field of a body that names what it must be when it is not one: serde's own
/// `i64` says "expected i64" to a till that sent `"100.00"` or `1000.50`.
macro_rules! integer_field {
    ($(#[$doc:meta])* $name:ident, $expecting:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name(pub i64);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$name, E> {
                        Ok($name(v))
                    }
                    // Beyond i64: out of range, which the range check words.
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$name, E> {
                        Ok($name(i64::try_from(v).unwrap_or(i64::MAX)))
                    }
                }
                d.deserialize_i64(Visitor)
            }
        }
    };
}

integer_field!(
    /// Money in minor units of the currency (kopecks for RUB).
    MinorUnits,
    "an integer number of minor units, e.g. 250000 for 2,500.00"
);
integer_field!(
    /// A number of points.
    PointCount,
    "a whole number of points, e.g. 100"
);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
pub struct PurchaseBody {
    pub receipt_id: String,
    pub customer_id: String,
    pub amount: MinorUnits,
    pub currency: String,
    pub occurred_at: String,
    pub store_id: String,
    #[serde(default)]
    pub redeem_points: PointCount,
}

impl PurchaseBody {
    pub fn parse(self) -> Result<PurchaseRequest, ApiError> {
        let PointCount(redeem_points) = self.redeem_points;
        if !(0..=MAX_AMOUNT_MINOR).contains(&redeem_points) {
            return Err(ApiError::invalid("redeem_points", format!("redeem_points must be a whole number of points from 0 to {MAX_AMOUNT_MINOR}")));
        }
        Ok(PurchaseRequest {
            receipt_id: field("receipt_id", ReceiptId::parse(&self.receipt_id))?,
            customer_id: parse_customer_id(&self.customer_id)?,
            amount_minor: positive_amount("amount", self.amount)?,
            currency: field("currency", Currency::parse(&self.currency))?,
            occurred_at: parse_instant("occurred_at", &self.occurred_at)?,
            store_id: field("store_id", StoreId::parse(&self.store_id))?,
            redeem_points: redeem_points as u64,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
pub struct RefundBody {
    pub refund_id: String,
    pub receipt_id: String,
    /// Optional: saves the store a round trip; must be the receipt's customer.
    #[serde(default)]
    pub customer_id: Option<String>,
    pub amount: MinorUnits,
    pub occurred_at: String,
}

impl RefundBody {
    pub fn parse(self) -> Result<RefundRequest, ApiError> {
        Ok(RefundRequest {
            refund_id: field("refund_id", RefundId::parse(&self.refund_id))?,
            receipt_id: field("receipt_id", ReceiptId::parse(&self.receipt_id))?,
            customer_id: self.customer_id.as_deref().map(parse_customer_id).transpose()?,
            amount_minor: positive_amount("amount", self.amount)?,
            occurred_at: parse_instant("occurred_at", &self.occurred_at)?,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = r#"an object such as {"email": true, "sms": false}"#)]
pub struct ConsentBody {
    pub email: Option<bool>,
    pub sms: Option<bool>,
}

/// PUT /v1/customers/{id}: every field optional; `null` clears a contact.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
pub struct CustomerBody {
    #[serde(default, deserialize_with = "nullable")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub birthday: Option<Option<String>>,
    pub consent: Option<ConsentBody>,
    #[serde(default, deserialize_with = "nullable")]
    pub preferred_channel: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub locale: Option<Option<String>>,
    /// The channels the customer has just given fresh consent to, at the till: needed to turn
    /// on a channel they withdrew themselves (`null` is the same as `[]`).
    pub consent_renewed: Option<Vec<String>>,
    /// A friend's referral code, on the customer's first PUT (lower case and Crockford's
    /// aliases accepted). Once set it never changes.
    pub referred_by: Option<String>,
}

fn opt<T>(
    name: &str,
    value: Option<Option<String>>,
    parse: impl Fn(&str) -> Result<T, InvalidValue>,
) -> Result<Option<Option<T>>, ApiError> {
    match value {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(raw)) => Ok(Some(Some(field(name, parse(&raw))?))),
    }
}

/// One entry of `consent_renewed`.
fn renewed_channel(value: &str) -> Result<Channel, ApiError> {
    match value {
        "email" => Ok(Channel::Email),
        "sms" => Ok(Channel::Sms),
        _ => Err(ApiError::invalid("consent_renewed", "consent_renewed may only list \"email\" and \"sms\"")),
    }
}

impl CustomerBody {
    /// The profile change, and the channels the customer renewed consent to (`consent_renewed`).
    pub fn parse(self, today: NaiveDate) -> Result<(ProfilePatch, Vec<Channel>), ApiError> {
        let renewed = self
            .consent_renewed
            .unwrap_or_default()
            .iter()
            .map(|c| renewed_channel(c))
            .collect::<Result<Vec<_>, _>>()?;
        let consent = self.consent.unwrap_or_default();
        let patch = ProfilePatch {
            phone: opt("phone", self.phone, Phone::parse)?,
            email: opt("email", self.email, Email::parse)?,
            name: opt("name", self.name, customer::parse_name)?,
            birthday: opt("birthday", self.birthday, |s| customer::parse_birthday(s, today))?,
            consent_email: consent.email,
            consent_sms: consent.sms,
            preferred_channel: opt("preferred_channel", self.preferred_channel, |s| match s {
                "email" => Ok(Channel::Email),
                "sms" => Ok(Channel::Sms),
                _ => Err(InvalidValue("preferred_channel must be \"email\" or \"sms\"".into())),
            })?,
            locale: opt("locale", self.locale, |s| {
                Locale::parse(s).ok_or_else(|| InvalidValue(Locale::unsupported(s)))
            })?,
        };
        field("consent_renewed", customer::check_renewal(&patch, &renewed))?;
        Ok((patch, renewed))
    }

    /// The `referred_by` code, parsed.
    pub fn referred_by(&self) -> Result<Option<ReferralCode>, ApiError> {
        self.referred_by.as_deref().map(|c| field("referred_by", ReferralCode::parse(c))).transpose()
    }
}

/// `GET /v1/referrals/{code}`: whether the code refers a friend now. Says nothing about whose.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReferralCheck {
    pub code: String,
    pub valid: bool,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsentView {
    pub email: bool,
    pub sms: bool,
}

/// The last change of one channel's consent: granted or not, when, and by whom or what
/// (`pos:<terminal>`, `import`, `unsubscribe_link`, `complaint`, `sms_opt_out`, `admin`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsentRecordView {
    pub granted: bool,
    pub at: DateTime<chrono::Utc>,
    pub source: String,
}

impl From<&ConsentChange> for ConsentRecordView {
    fn from(c: &ConsentChange) -> Self {
        Self { granted: c.granted, at: c.at, source: c.source.to_string() }
    }
}

/// Each channel's last consent change; `null` where none was recorded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsentDetailsView {
    pub email: Option<ConsentRecordView>,
    pub sms: Option<ConsentRecordView>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProfileView {
    pub customer_id: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub consent: ConsentView,
    pub consent_details: ConsentDetailsView,
    pub preferred_channel: Option<Channel>,
    pub locale: Option<Locale>,
    pub balance: u64,
    pub erased: bool,
    pub created_at: DateTime<chrono::Utc>,
    pub updated_at: DateTime<chrono::Utc>,
    /// The customer's own code for referring friends (`null` until their first PUT after
    /// referrals came in, and for erased customers who never had one).
    pub referral_code: Option<String>,
}

impl ProfileView {
    pub fn new(record: &CustomerRecord, today: NaiveDate) -> Self {
        let c = &record.customer;
        Self {
            customer_id: c.customer_id.to_string(),
            phone: c.phone.as_ref().map(|p| p.as_str().to_owned()),
            email: c.email.as_ref().map(|e| e.as_str().to_owned()),
            name: c.name.clone(),
            birthday: c.birthday,
            consent: ConsentView { email: c.consent.email, sms: c.consent.sms },
            consent_details: ConsentDetailsView {
                email: c.consent_details.email.as_ref().map(ConsentRecordView::from),
                sms: c.consent_details.sms.as_ref().map(ConsentRecordView::from),
            },
            preferred_channel: c.preferred_channel,
            locale: c.locale,
            balance: record.account.balance(today),
            erased: c.is_erased(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            referral_code: record.referral.code.as_ref().map(|code| code.to_string()),
        }
    }
}

/// One channel in the consent evidence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChannelConsentView {
    /// The address or number consent is about (`null`: none on file).
    pub contact: Option<String>,
    /// Whether the customer may be sent marketing on this channel now (the `consent` flag).
    pub granted: bool,
    /// The last change of the flag; `null` when none was recorded.
    pub last_change: Option<ConsentRecordView>,
    /// True when the customer turned the channel off themselves and only their fresh consent
    /// (`consent_renewed`) turns it on again.
    pub withdrawn_by_customer: bool,
}

/// `GET /v1/customers/{customer_id}/consent` and `boomerang customers consent --json`: what
/// an operator shows a regulator about one customer's consent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsentEvidence {
    pub customer_id: String,
    /// When the customer was erased (nothing is sent to them any more), or `null`.
    pub erased_at: Option<DateTime<chrono::Utc>>,
    /// When mail to the email address bounced for good (nothing is sent to it until it
    /// changes), or `null`.
    pub email_undeliverable_at: Option<DateTime<chrono::Utc>>,
    pub email: ChannelConsentView,
    pub sms: ChannelConsentView,
}

impl ConsentEvidence {
    pub fn new(record: &CustomerRecord) -> Self {
        let c = &record.customer;
        let channel = |channel: Channel, contact: Option<&str>| ChannelConsentView {
            contact: contact.map(str::to_owned),
            granted: c.consented(channel),
            last_change: c.consent_details.get(channel).map(ConsentRecordView::from),
            withdrawn_by_customer: c.withdrawal(channel).is_some(),
        };
        Self {
            customer_id: c.customer_id.to_string(),
            erased_at: c.erased_at,
            email_undeliverable_at: c.email_undeliverable_at,
            email: channel(Channel::Email, c.email.as_ref().map(|e| e.as_str())),
            sms: channel(Channel::Sms, c.phone.as_ref().map(|p| p.as_str())),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExpiringView {
    pub points: u64,
    pub expires_on: NaiveDate,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BalanceResponse {
    pub customer_id: String,
    pub balance: u64,
    pub expiring: Vec<ExpiringView>,
}

impl From<BalanceView> for BalanceResponse {
    fn from(v: BalanceView) -> Self {
        Self {
            customer_id: v.customer_id.to_string(),
            balance: v.balance,
            expiring: v.expiring.into_iter().map(|(expires_on, points)| ExpiringView { points, expires_on }).collect(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PurchaseResponse {
    pub receipt_id: String,
    pub customer_id: String,
    pub points_earned: u64,
    pub points_redeemed: u64,
    pub balance: u64,
}

impl From<&Receipt> for PurchaseResponse {
    fn from(r: &Receipt) -> Self {
        Self {
            receipt_id: r.receipt_id.to_string(),
            customer_id: r.customer_id.to_string(),
            points_earned: r.points_earned,
            points_redeemed: r.redeem_points,
            balance: r.balance_after,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RefundResponse {
    pub refund_id: String,
    pub receipt_id: String,
    pub points_clawed_back: u64,
    pub points_restored: u64,
    /// Points the refund should have taken back but the customer had already spent.
    pub points_written_off: u64,
    pub balance: u64,
}

impl From<&Refund> for RefundResponse {
    fn from(r: &Refund) -> Self {
        Self {
            refund_id: r.refund_id.to_string(),
            receipt_id: r.receipt_id.to_string(),
            points_clawed_back: r.points_clawed_back,
            points_restored: r.points_restored,
            points_written_off: r.points_written_off,
            balance: r.balance_after,
        }
    }
}
