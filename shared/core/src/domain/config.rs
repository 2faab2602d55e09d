//! The tenant's program: rules for earning, spending and the triggers, loaded from TOML.
//! Defaults live in `defaults.toml` (one place); a tenant file overrides any key of it.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::domain::contact::SendWindow;
use crate::domain::ids::{Currency, Email, StoreId};
use crate::domain::kinds::{Channel, Locale, MessageKind, TriggerKind};
use crate::domain::referral::state::ReferralConfig;
use crate::domain::survey::state::SurveyConfig;
use crate::domain::template::{self, sms_segments};
pub use crate::domain::template::Templates;
use crate::domain::wording::format_date;
use crate::domain::words::{self, Mismatch, Sent, Wanted};

mod owner;

pub use owner::{weekday_word, OwnerConfig};

pub const DEFAULTS_TOML: &str = include_str!("defaults.toml");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerConfig {
    pub enabled: bool,
    /// Lapse triggers: days without a purchase after which the trigger fires (on the next day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_days: Option<u32>,
    /// Birthday and points_expiring: how many days before the date the trigger fires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_before: Option<u32>,
    /// Only customers with at least this balance are messaged (lapse triggers).
    #[serde(default)]
    pub min_balance: u64,
    #[serde(default)]
    pub gift_points: u64,
    #[serde(default)]
    pub gift_valid_days: u32,
    pub holdout_percent: u8,
    pub attribution_days: u32,
    /// When several triggers are due for one customer, the lowest number goes first; the
    /// others wait for a later date of their windows.
    pub priority: u32,
    /// How many dates the trigger may go on: the first date the contact rules let it through.
    pub window_days: u32,
    /// points_expiring: at most one warning per this many days, covering every point that
    /// burns within them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown_days: Option<u32>,
    /// points_expiring: no warning when fewer points than this burn within the cooldown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_points: Option<u64>,
    pub templates: BTreeMap<Locale, Templates>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    pub lapsed_30: TriggerConfig,
    pub lapsed_60: TriggerConfig,
    pub lapsed_90: TriggerConfig,
    pub birthday: TriggerConfig,
    pub points_expiring: TriggerConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagingConfig {
    pub max_sends_per_second: u32,
    /// A customer gets at most one trigger message in any window of this many local dates.
    pub min_days_between_messages: u32,
    /// Local hours in which an SMS, and an email, may start being sent.
    pub sms_window: SendWindow,
    pub email_window: SendWindow,
    pub sms_max_segments: u32,
    pub unsubscribe_base_url: String,
    pub email_from: String,
    pub sms_sender_id: String,
    /// What one sent message costs, in minor units: the reports count it in each trigger's net.
    pub email_cost_minor: u64,
    pub sms_cost_minor: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramConfig {
    #[serde(deserialize_with = "timezone")]
    pub timezone: Tz,
    pub currency: Currency,
    pub shop_name: String,
    pub default_locale: Locale,
    pub point_value_minor: u64,
    pub earn_percent: u32,
    pub redeem_max_percent: u32,
    pub points_valid_days: u32,
    pub max_backdate_days: u32,
    pub restored_points_valid_days: u32,
    pub messaging: MessagingConfig,
    pub triggers: Triggers,
    pub referral: ReferralConfig,
    pub survey: SurveyConfig,
    /// The shop's branches by `store_id` (optional). When any are listed, a receipt from a
    /// store not listed is refused, and reports name the stores.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stores: BTreeMap<String, StoreInfo>,
    /// Who gets the weekly digest, on which day, in which language.
    pub owner: OwnerConfig,
}

/// A branch of the shop, as the owner calls it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreInfo {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
}

/// The most stores a program lists: it is one item in the store.
pub const MAX_STORES: usize = 1000;

/// A config problem, naming the key (dotted path) it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

fn err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), message: message.into() }
}

/// Recursively lays `over` onto `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Placeholders every template may use.
const COMMON_PLACEHOLDERS: [&str; 3] = ["name", "shop_name", "balance"];

impl ProgramConfig {
    /// The program when no file is given.
    pub fn defaults() -> Self {
        Self::from_toml_str("").expect("the embedded defaults are valid")
    }

    /// Parses and validates a tenant file laid over the defaults.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let mut table: toml::Table =
            toml::from_str(DEFAULTS_TOML).map_err(|e| err("(defaults)", e.to_string()))?;
        let overrides: toml::Table = toml::from_str(text).map_err(|e| {
            err("(syntax)", syntax_words(e.message()) + &span_note(text, e.span()))
        })?;
        merge(&mut table, overrides);
        let config: ProgramConfig = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| setting_error(&e.path().to_string(), e.inner().message()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn to_toml_string(&self) -> String {
        toml::to_string(self).expect("a program config always serializes")
    }

    pub fn trigger(&self, kind: TriggerKind) -> &TriggerConfig {
        let t = &self.triggers;
        match kind {
            TriggerKind::Lapsed30 => &t.lapsed_30,
            TriggerKind::Lapsed60 => &t.lapsed_60,
            TriggerKind::Lapsed90 => &t.lapsed_90,
            TriggerKind::Birthday => &t.birthday,
            TriggerKind::PointsExpiring => &t.points_expiring,
        }
    }

    /// Whether a receipt from `store` is one the program takes: any store when none are
    /// listed, else only the listed ones.
    pub fn knows_store(&self, store: &StoreId) -> bool {
        self.stores.is_empty() || self.stores.contains_key(store.as_str())
    }

    /// The local hours in which `channel` may start a send.
    pub fn send_window(&self, channel: Channel) -> SendWindow {
        match channel {
            Channel::Email => self.messaging.email_window,
            Channel::Sms => self.messaging.sms_window,
        }
    }

    /// The triggers in the order they go when several are due for one customer.
    pub fn triggers_by_priority(&self) -> [TriggerKind; 5] {
        let mut kinds = TriggerKind::ALL;
        kinds.sort_by_key(|k| self.trigger(*k).priority);
        kinds
    }

    /// The tenant's local date of an instant: the one place "what day is it" is answered.
    pub fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.timezone).date_naive()
    }

    /// A kind of message's templates per locale (the owner's alert has none: its text is fixed).
    fn templates_of(&self, kind: MessageKind) -> Option<&BTreeMap<Locale, Templates>> {
        match kind {
            MessageKind::Trigger(trigger) => Some(&self.trigger(trigger).templates),
            MessageKind::ReferralReward => Some(&self.referral.templates),
            MessageKind::Survey => Some(&self.survey.templates),
            MessageKind::PromoterInvite => Some(&self.survey.invite_templates),
            MessageKind::SurveyAlert => None,
        }
    }

    /// The gift a kind of message announces (0: none).
    fn gift_points_of(&self, kind: MessageKind) -> u64 {
        match kind {
            MessageKind::Trigger(trigger) => self.trigger(trigger).gift_points,
            MessageKind::ReferralReward => self.referral.referrer_points,
            _ => 0,
        }
    }

    /// Templates of a kind of message for a locale, falling back to the tenant's default locale.
    pub fn templates(&self, kind: MessageKind, locale: Locale) -> &Templates {
        let templates = self.templates_of(kind).expect("only customers' messages are rendered from templates");
        templates
            .get(&locale)
            .or_else(|| templates.get(&self.default_locale))
            .expect("validated: every kind of message has default-locale templates")
    }

    /// The placeholders a kind of message's templates may use.
    pub fn placeholders(&self, kind: MessageKind) -> Vec<&'static str> {
        let mut names = COMMON_PLACEHOLDERS.to_vec();
        if self.gift_points_of(kind) > 0 || kind == MessageKind::ReferralReward {
            names.extend(["gift_points", "gift_expires_on"]);
        }
        match kind {
            MessageKind::Trigger(TriggerKind::PointsExpiring) => names.extend(["points", "expires_on"]),
            MessageKind::Survey => names.push("survey_url"),
            MessageKind::PromoterInvite => names.push("referral_code"),
            _ => {}
        }
        names
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let percent = |key: &str, v: u32| {
            if v > 100 {
                Err(err(key, format!("must be a percentage from 0 to 100, got {v}")))
            } else {
                Ok(())
            }
        };
        if self.point_value_minor == 0 {
            return Err(err("point_value_minor", "must be at least 1"));
        }
        percent("earn_percent", self.earn_percent)?;
        percent("redeem_max_percent", self.redeem_max_percent)?;
        if !(1..=3650).contains(&self.points_valid_days) {
            return Err(err("points_valid_days", "must be from 1 to 3650 days"));
        }
        if self.max_backdate_days > 3650 {
            return Err(err("max_backdate_days", "must be at most 3650 days"));
        }
        if !(1..=3650).contains(&self.restored_points_valid_days) {
            return Err(err("restored_points_valid_days", "must be from 1 to 3650 days"));
        }
        if self.shop_name.trim().is_empty() || self.shop_name.chars().count() > 100 {
            return Err(err("shop_name", "must be 1 to 100 characters"));
        }
        let m = &self.messaging;
        if !(1..=10_000).contains(&m.max_sends_per_second) {
            return Err(err("messaging.max_sends_per_second", "must be from 1 to 10000"));
        }
        if !(1..=10).contains(&m.sms_max_segments) {
            return Err(err("messaging.sms_max_segments", "must be from 1 to 10"));
        }
        if !(m.unsubscribe_base_url.starts_with("https://") || m.unsubscribe_base_url.starts_with("http://")) {
            return Err(err("messaging.unsubscribe_base_url", "must be an http(s) URL"));
        }
        if Email::parse(&m.email_from).is_err() {
            return Err(err("messaging.email_from", "must be an email address"));
        }
        let id = &m.sms_sender_id;
        if id.is_empty() || id.len() > 11 || !id.chars().all(|c| c.is_ascii_alphanumeric()) || id.chars().all(|c| c.is_ascii_digit()) {
            return Err(err("messaging.sms_sender_id", "must be 1 to 11 letters and digits, not only digits"));
        }
        if !(1..=365).contains(&m.min_days_between_messages) {
            return Err(err("messaging.min_days_between_messages", "must be from 1 to 365 days"));
        }
        for kind in TriggerKind::ALL {
            self.validate_trigger(kind)?;
        }
        if let Some((key, message)) = self.referral.problem() {
            return Err(err(format!("referral.{key}"), message));
        }
        self.validate_templates(MessageKind::ReferralReward, "referral")?;
        if let Some((key, message)) = self.survey.problem(self.default_locale) {
            return Err(err(format!("survey.{key}"), message));
        }
        self.validate_templates(MessageKind::Survey, "survey")?;
        self.validate_templates(MessageKind::PromoterInvite, "survey")?;
        if self.stores.len() > MAX_STORES {
            return Err(err("stores", format!("lists {} stores; at most {MAX_STORES}", self.stores.len())));
        }
        for (id, store) in &self.stores {
            if StoreId::parse(id).is_err() {
                return Err(err(
                    format!("stores.{id}"),
                    "is not a store_id a till can send: 1 to 64 letters, digits and _ . + - : /",
                ));
            }
            if store.name.trim().is_empty() || store.name.chars().count() > 100 {
                return Err(err(format!("stores.{id}.name"), "must be 1 to 100 characters"));
            }
        }
        self.owner.validate()?;
        let order = self.triggers_by_priority();
        if let Some(pair) = order.windows(2).find(|p| self.trigger(p[0]).priority == self.trigger(p[1]).priority) {
            return Err(err(
                format!("triggers.{}.priority", pair[1]),
                format!("is the same as triggers.{}.priority; give each trigger its own priority", pair[0]),
            ));
        }
        Ok(())
    }

    fn validate_trigger(&self, kind: TriggerKind) -> Result<(), ConfigError> {
        let t = self.trigger(kind);
        let key = |k: &str| format!("triggers.{kind}.{k}");
        let (wanted, unwanted) =
            if kind.is_lapse() { ("after_days", "days_before") } else { ("days_before", "after_days") };
        let (value, other) =
            if kind.is_lapse() { (t.after_days, t.days_before) } else { (t.days_before, t.after_days) };
        if other.is_some() {
            return Err(err(key(unwanted), format!("is not a setting of this trigger; use {wanted}")));
        }
        match value {
            None => return Err(err(key(wanted), "is required")),
            Some(days) if days > 3650 || (kind.is_lapse() && days == 0) => {
                return Err(err(key(wanted), "must be from 1 to 3650 days"))
            }
            Some(_) => {}
        }
        if !kind.is_lapse() && value == Some(0) {
            return Err(err(key("days_before"), "must be at least 1: a message on the day itself comes too late"));
        }
        if !(1..=30).contains(&t.window_days) {
            return Err(err(key("window_days"), "must be from 1 to 30 days"));
        }
        if kind == TriggerKind::PointsExpiring {
            let days_before = value.unwrap_or(0);
            if t.window_days > days_before {
                return Err(err(
                    key("window_days"),
                    format!("must be at most days_before ({days_before}): the window ends one day before the burn at the latest"),
                ));
            }
            match t.cooldown_days {
                Some(days) if (1..=365).contains(&days) => {}
                Some(_) => return Err(err(key("cooldown_days"), "must be from 1 to 365 days")),
                None => return Err(err(key("cooldown_days"), "is required")),
            }
            if t.min_points.is_none() {
                return Err(err(key("min_points"), "is required"));
            }
        } else {
            for (name, set) in [("cooldown_days", t.cooldown_days.is_some()), ("min_points", t.min_points.is_some())] {
                if set {
                    return Err(err(key(name), "is a setting of points_expiring only"));
                }
            }
        }
        if t.holdout_percent > 100 {
            return Err(err(key("holdout_percent"), "must be from 0 to 100"));
        }
        if !(1..=365).contains(&t.attribution_days) {
            return Err(err(key("attribution_days"), "must be from 1 to 365 days"));
        }
        if kind == TriggerKind::PointsExpiring && t.gift_points > 0 {
            return Err(err(key("gift_points"), "points_expiring gives no gift"));
        }
        if t.gift_points > 1_000_000 {
            return Err(err(key("gift_points"), "must be at most 1000000"));
        }
        if t.gift_points > 0 && !(1..=3650).contains(&t.gift_valid_days) {
            return Err(err(key("gift_valid_days"), "must be from 1 to 3650 days when gift_points > 0"));
        }
        self.validate_templates(kind.into(), &format!("triggers.{kind}"))
    }

    /// Every locale's templates of a kind of message, under `prefix` in error keys: present for
    /// the default locale, only known placeholders, and SMS within the segment limit.
    fn validate_templates(&self, kind: MessageKind, prefix: &str) -> Result<(), ConfigError> {
        let table = if kind == MessageKind::PromoterInvite { "invite_templates" } else { "templates" };
        let key = |k: &str| format!("{prefix}.{k}");
        let Some(templates) = self.templates_of(kind) else { return Ok(()) };
        if !templates.contains_key(&self.default_locale) {
            return Err(err(
                key(table),
                format!("needs templates for the default locale {}", self.default_locale.as_str()),
            ));
        }
        let allowed = self.placeholders(kind);
        let mut email_allowed = allowed.clone();
        email_allowed.push("unsubscribe_url");
        for (locale, templates) in templates {
            let tkey = |field: &str| key(&format!("{table}.{}.{field}", locale.as_str()));
            for (field, text, names) in [
                ("email_subject", &templates.email_subject, &allowed),
                ("email_text", &templates.email_text, &email_allowed),
                ("email_html", &templates.email_html, &email_allowed),
                ("sms", &templates.sms, &allowed),
            ] {
                if text.trim().is_empty() {
                    return Err(err(tkey(field), "must not be empty"));
                }
                template::validate(text, names).map_err(|m| err(tkey(field), m))?;
            }
            let sample = self.sample_sms(kind, *locale, &templates.sms);
            let (_, segments) = sms_segments(&sample);
            if segments > self.messaging.sms_max_segments {
                return Err(err(
                    tkey("sms"),
                    format!(
                        "renders to {segments} SMS segments with typical values, over messaging.sms_max_segments = {}",
                        self.messaging.sms_max_segments
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The SMS rendered with long-ish typical values, to bound its segment count.
    fn sample_sms(&self, kind: MessageKind, locale: Locale, sms: &str) -> String {
        let vars = sample_vars(self, kind, locale);
        template::render(sms, &vars, template::Escape::None).unwrap_or_default()
    }
}

/// Template variables with long-ish typical values, for bounding what a template renders to.
fn sample_vars(cfg: &ProgramConfig, kind: MessageKind, locale: Locale) -> BTreeMap<&'static str, String> {
    let date = format_date(NaiveDate::from_ymd_opt(2026, 12, 24).expect("valid date"), locale);
    BTreeMap::from([
        ("name", "Александра".to_string()),
        ("shop_name", cfg.shop_name.clone()),
        ("balance", "12345".to_string()),
        ("gift_points", cfg.gift_points_of(kind).to_string()),
        ("gift_expires_on", date.clone()),
        ("points", "1234".to_string()),
        ("expires_on", date),
        ("unsubscribe_url", format!("{}/v1/unsubscribe?token=sample", cfg.messaging.unsubscribe_base_url)),
        ("survey_url", format!("{}/v1/survey?token={}", cfg.messaging.unsubscribe_base_url, "x".repeat(60))),
        ("referral_code", "7K3M9Q".to_string()),
    ])
}

/// serde's complaint about the setting at `path` (dotted; "." for the top level) in the words
/// of the file's writer: no Rust type names, the key in full, a near miss suggested.
fn setting_error(path: &str, message: &str) -> ConfigError {
    let parent = if path == "." { "" } else { path };
    let join = |name: &str| if parent.is_empty() { name.to_owned() } else { format!("{parent}.{name}") };
    if let Some((name, known)) = words::unknown_field(message) {
        // toml's deserializer already puts the unknown key at the end of the path.
        let key = if parent == name || parent.ends_with(&format!(".{name}")) { parent.to_owned() } else { join(&name) };
        let table = key[..key.len() - name.len()].trim_end_matches('.');
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        let near = words::closest(&name, known.iter().copied(), (name.chars().count() / 4).clamp(1, 3));
        let message = match (near.is_empty(), table.is_empty()) {
            (false, _) => format!("unknown key; did you mean {}?", words::or_list(&near)),
            (true, true) => format!("unknown key; the top-level keys are {}", known.join(", ")),
            (true, false) => format!("unknown key; the keys of [{table}] are {}", known.join(", ")),
        };
        return err(key, message);
    }
    if let Some(name) = words::missing_field(message) {
        return err(join(&name), "is required");
    }
    let key = if parent.is_empty() { "(top level)" } else { parent };
    match Mismatch::parse(message) {
        // Percentages are held in small integer types; say the range the program allows.
        Some(Mismatch { wanted: Wanted::Integer { .. }, sent: Sent::Integer(n) })
            if key.ends_with("_percent") && !n.starts_with('-') =>
        {
            err(key, format!("must be a percentage from 0 to 100; got {n}"))
        }
        Some(mismatch) => err(key, mismatch.toml_words(key)),
        // The settings' own messages (time zone, locale, currency) are worded already.
        None => err(key, without_backticks(message)),
    }
}

/// The parser's quoting of names (`=`) as plain double quotes.
fn without_backticks(message: &str) -> String {
    message.replace('`', "\"")
}

/// The TOML parser's message on one line, without backticks; it says nothing when a value is
/// missing after `=`.
fn syntax_words(message: &str) -> String {
    let message = without_backticks(message.trim()).replace('\n', "; ");
    if message.is_empty() {
        "a value is missing (text in double quotes, a number, true or false)".to_owned()
    } else {
        message
    }
}

/// Reads the program's time zone, suggesting the IANA names closest to a wrong one.
fn timezone<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    struct Name;
    impl serde::de::Visitor<'_> for Name {
        type Value = Tz;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an IANA time zone name in double quotes, e.g. \"Europe/Moscow\"")
        }
        fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Tz, E> {
            parse_timezone(name).map_err(E::custom)
        }
    }
    d.deserialize_str(Name)
}

/// An IANA time zone name as the tz database spells it. A wrong one gets the closest names
/// suggested: the zones whose city is that name (`Moscow`), the name in other letter case
/// (`europe/moscow`), else the nearest names within 3 edits (`Europe/Moskow`; a city alone,
/// `Moskow`, is compared with the cities).
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    if let Ok(tz) = name.parse::<Tz>() {
        return Ok(tz);
    }
    let names = || chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    let city = |zone: &'static str| zone.rsplit('/').next().unwrap_or(zone);
    let wanted = name.trim().replace(' ', "_");
    let mut near: Vec<&str> = names().filter(|zone| city(zone).eq_ignore_ascii_case(&wanted)).collect();
    if near.is_empty() {
        near = names().filter(|zone| zone.eq_ignore_ascii_case(&wanted)).collect();
    }
    if near.is_empty() && wanted.contains('/') {
        near = words::closest(&wanted, names(), 3);
    } else if near.is_empty() {
        // A city alone, misspelt: compared with the cities (and the names without an area,
        // such as UTC), allowing fewer edits for short names.
        let max = (wanted.chars().count() / 3).min(3);
        let cities: Vec<&str> = words::closest(&wanted, names().map(city), max);
        near = names().filter(|zone| cities.contains(&city(zone))).collect();
    }
    near.truncate(3);
    let name = words::quote(name);
    Err(if near.is_empty() {
        format!("{name} is not an IANA time zone name; write it as Area/City, e.g. Europe/Moscow")
    } else {
        format!("{name} is not an IANA time zone name; did you mean {}?", words::or_list(&near))
    })
}

fn span_note(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests;
