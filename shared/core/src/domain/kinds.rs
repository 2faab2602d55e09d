//! The leaf types of the domain: the triggers, the message languages and the channels.
//! Everything else of ours builds on these; this module imports nothing of ours.

use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize};

/// A message language. Templates are kept per locale. Read from its name (see the
/// `Deserialize` impl below).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    Ru,
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::Ru, Locale::En];
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Ru => "ru",
            Locale::En => "en",
        }
    }
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == value)
    }
    /// The supported locales, for messages: "ru, en".
    pub fn supported() -> String {
        Self::ALL.map(Locale::as_str).join(", ")
    }
    /// Why a value is not a locale: one wording for the program file, the API and imports.
    pub fn unsupported(value: &str) -> String {
        let shown: String = value.chars().take(40).collect();
        let more = if shown.len() < value.len() { "..." } else { "" };
        format!("{shown:?}{more} is not a supported locale; the supported ones are {}", Self::supported())
    }
}

/// A locale is read from its name as a string (not as an enum variant), so that a map keyed
/// by locale names its key in error paths (`triggers.birthday.templates.fr`, not `templates.?`)
/// and an unknown one is refused in the words of [`Locale::unsupported`].
impl<'de> Deserialize<'de> for Locale {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl de::Visitor<'_> for Name {
            type Value = Locale;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "one of {}", Locale::supported())
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Locale, E> {
                Locale::parse(value).ok_or_else(|| E::custom(Locale::unsupported(value)))
            }
        }
        d.deserialize_str(Name)
    }
}

/// The five triggers of the program, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    // serde's snake_case would write "lapsed30": the names are spelled out once, as in the config.
    #[serde(rename = "lapsed_30")]
    Lapsed30,
    #[serde(rename = "lapsed_60")]
    Lapsed60,
    #[serde(rename = "lapsed_90")]
    Lapsed90,
    Birthday,
    PointsExpiring,
}

impl TriggerKind {
    pub const ALL: [TriggerKind; 5] = [
        TriggerKind::Lapsed30,
        TriggerKind::Lapsed60,
        TriggerKind::Lapsed90,
        TriggerKind::Birthday,
        TriggerKind::PointsExpiring,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Lapsed30 => "lapsed_30",
            TriggerKind::Lapsed60 => "lapsed_60",
            TriggerKind::Lapsed90 => "lapsed_90",
            TriggerKind::Birthday => "birthday",
            TriggerKind::PointsExpiring => "points_expiring",
        }
    }
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }
    pub fn is_lapse(self) -> bool {
        matches!(self, TriggerKind::Lapsed30 | TriggerKind::Lapsed60 | TriggerKind::Lapsed90)
    }
}

impl fmt::Display for TriggerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a message is for: a trigger's (held out in part, one row of the trigger report), or one
/// of the messages outside the triggers, which have no holdout and no trigger row: the
/// referrer's reward, the NPS survey's link, the promoter's invitation to refer a friend, and
/// the owner's daily detractor alert (not a marketing message: sent to the shop, not a
/// customer). Written as the trigger's name or `referral_reward`, `survey`, `promoter_invite`,
/// `survey_alert`, in outbox files, SES tags and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum MessageKind {
    Trigger(TriggerKind),
    ReferralReward,
    Survey,
    PromoterInvite,
    SurveyAlert,
}

impl MessageKind {
    /// The trigger of a trigger's message; `None` for the others.
    pub fn trigger(self) -> Option<TriggerKind> {
        match self {
            MessageKind::Trigger(kind) => Some(kind),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Trigger(kind) => kind.as_str(),
            MessageKind::ReferralReward => "referral_reward",
            MessageKind::Survey => "survey",
            MessageKind::PromoterInvite => "promoter_invite",
            MessageKind::SurveyAlert => "survey_alert",
        }
    }
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "referral_reward" => Some(MessageKind::ReferralReward),
            "survey" => Some(MessageKind::Survey),
            "promoter_invite" => Some(MessageKind::PromoterInvite),
            "survey_alert" => Some(MessageKind::SurveyAlert),
            _ => TriggerKind::parse(value).map(MessageKind::Trigger),
        }
    }
}

impl TryFrom<String> for MessageKind {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value).ok_or_else(|| format!("{value:?} is not a kind of message"))
    }
}

impl From<MessageKind> for String {
    fn from(kind: MessageKind) -> String {
        kind.as_str().to_owned()
    }
}

impl From<TriggerKind> for MessageKind {
    fn from(kind: TriggerKind) -> Self {
        MessageKind::Trigger(kind)
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A way to reach a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// Where a message the sweep sends on its own stands (a survey's link, a promoter's
/// invitation, a referrer's reward, the owner's alert). `Pending` until the contact rules let
/// it go; then `Sending` (claimed by a sender, in the write that credits a reward's points) →
/// `Sent`/`Failed`, or `Unknown` when a send was cut off (never sent again). Settled without a
/// message: `Unreachable` (no channel the customer consented to; a reward is not credited),
/// `Capped` (a reward over the monthly cap; a survey the governor or the waking hours kept
/// back until it no longer made sense) or `Cancelled` (a reward whose reason went away).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendStatus {
    Pending,
    Sending,
    Sent,
    Failed,
    Unknown,
    Unreachable,
    Capped,
    Cancelled,
}

impl SendStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SendStatus::Pending => "pending",
            SendStatus::Sending => "sending",
            SendStatus::Sent => "sent",
            SendStatus::Failed => "failed",
            SendStatus::Unknown => "unknown",
            SendStatus::Unreachable => "unreachable",
            SendStatus::Capped => "capped",
            SendStatus::Cancelled => "cancelled",
        }
    }

    /// True once a reward's points are in the referrer's account (they came with the claim to
    /// send).
    pub fn is_credited(self) -> bool {
        matches!(self, SendStatus::Sending | SendStatus::Sent | SendStatus::Failed | SendStatus::Unknown)
    }
}
