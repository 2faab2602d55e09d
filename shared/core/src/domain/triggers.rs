//! The daily sweep's rules: who a trigger applies to on a date, holdout, channel choice and
//! the outcome recorded per customer, trigger and episode. Pure: the date comes in.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::config::ProgramConfig;
use crate::domain::customer::{Customer, CustomerRecord};
use crate::domain::ids::CustomerId;
use crate::domain::kinds::{Channel, TriggerKind};
use crate::domain::ledger::add_days;

/// One occurrence of a trigger's condition: a lapse is identified by the last purchase date
/// it follows, a birthday by its year, an expiry warning by the expiry date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Episode {
    Lapse(NaiveDate),
    Birthday(i32),
    Expiry(NaiveDate),
}

impl fmt::Display for Episode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Episode::Lapse(d) | Episode::Expiry(d) => write!(f, "{d}"),
            Episode::Birthday(y) => write!(f, "{y}"),
        }
    }
}

/// The idempotency key of a decision: at most one outcome (and one gift) per key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OutcomeKey {
    pub customer_id: CustomerId,
    pub trigger: TriggerKind,
    pub episode: Episode,
}

impl OutcomeKey {
    /// The business reference of the gift ledger entries: derived, never random.
    pub fn reference(&self) -> String {
        format!("gift:{}:{}:{}", self.trigger, self.episode, self.customer_id)
    }
}

/// A trigger that applies to a customer on a sweep date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub trigger: TriggerKind,
    pub episode: Episode,
    /// points_expiring: the points that burn on the episode's date.
    pub expiring_points: u64,
}

/// The birthday's date in `year`: 29 February counts as 28 February in other years.
pub fn birthday_in(birthday: NaiveDate, year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, birthday.month(), birthday.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 2, 28))
        .expect("28 February exists every year")
}

/// The (month, day) pairs whose birthdays fall on `date`: with 29 February on the 28th of a
/// common year. The sweep reads the birthday index for each.
pub fn birthdays_falling_on(date: NaiveDate) -> Vec<(u32, u32)> {
    let mut days = vec![(date.month(), date.day())];
    if date.month() == 2 && date.day() == 28 && NaiveDate::from_ymd_opt(date.year(), 2, 29).is_none() {
        days.push((2, 29));
    }
    days
}

/// The last-purchase date a lapse trigger looks for on `date`: it fires on the day after
/// `after_days` days without a purchase (the 31st day for lapsed_30).
pub fn lapse_last_purchase(cfg: &ProgramConfig, trigger: TriggerKind, date: NaiveDate) -> Option<NaiveDate> {
    let days = cfg.trigger(trigger).after_days?;
    date.checked_sub_signed(Duration::days(i64::from(days) + 1))
}

/// The date a days-before trigger (birthday, points_expiring) looks at on `date`.
pub fn target_date(cfg: &ProgramConfig, trigger: TriggerKind, date: NaiveDate) -> Option<NaiveDate> {
    Some(add_days(date, cfg.trigger(trigger).days_before?))
}

/// Every enabled trigger that applies to the record on `date`.
pub fn due_triggers(cfg: &ProgramConfig, record: &CustomerRecord, date: NaiveDate) -> Vec<Due> {
    let mut due = Vec::new();
    let account = &record.account;
    for trigger in TriggerKind::ALL {
        let t = cfg.trigger(trigger);
        if !t.enabled {
            continue;
        }
        match trigger {
            TriggerKind::Lapsed30 | TriggerKind::Lapsed60 | TriggerKind::Lapsed90 => {
                if let (Some(last), Some(wanted)) = (account.last_purchase_on, lapse_last_purchase(cfg, trigger, date)) {
                    if last == wanted && account.balance(date) >= t.min_balance {
                        due.push(Due { trigger, episode: Episode::Lapse(last), expiring_points: 0 });
                    }
                }
            }
            TriggerKind::Birthday => {
                if let (Some(birthday), Some(target)) = (record.customer.birthday, target_date(cfg, trigger, date)) {
                    if birthday_in(birthday, target.year()) == target {
                        due.push(Due { trigger, episode: Episode::Birthday(target.year()), expiring_points: 0 });
                    }
                }
            }
            TriggerKind::PointsExpiring => {
                if let Some(target) = target_date(cfg, trigger, date) {
                    let points: u64 =
                        account.lots.iter().filter(|(k, _)| k.expires_on == target).map(|(_, p)| p).sum();
                    if points > 0 && target > date {
                        due.push(Due { trigger, episode: Episode::Expiry(target), expiring_points: points });
                    }
                }
            }
        }
    }
    due
}

/// True when the customer is in the trigger's holdout: a stable hash of customer and trigger,
/// so the same customer stays in (or out of) a trigger's control group every time.
pub fn in_holdout(customer: &CustomerId, trigger: TriggerKind, percent: u8) -> bool {
    let digest = Sha256::digest(format!("holdout:{trigger}:{customer}").as_bytes());
    let bucket = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % 100;
    bucket < u64::from(percent)
}

/// Why nobody can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unreachable {
    Erased,
    /// No contact with consent on any channel (unsubscribed, bounced or opted out included).
    NoChannel,
}

/// The channel to use: the preferred one if the customer has that contact and consent (and it
/// is not suppressed), else the other one, else none.
pub fn choose_channel(customer: &Customer, sms_opted_out: bool) -> Result<Channel, Unreachable> {
    if customer.is_erased() {
        return Err(Unreachable::Erased);
    }
    let usable = |channel: Channel| match channel {
        Channel::Email => {
            customer.email.is_some() && customer.consent.email && customer.email_undeliverable_at.is_none()
        }
        Channel::Sms => customer.phone.is_some() && customer.consent.sms && !sms_opted_out,
    };
    let preferred = customer.preferred_channel.unwrap_or(Channel::Email);
    let other = match preferred {
        Channel::Email => Channel::Sms,
        Channel::Sms => Channel::Email,
    };
    [preferred, other].into_iter().find(|c| usable(*c)).ok_or(Unreachable::NoChannel)
}

/// Where a decision stands. `Pending` → `Sending` → `Sent`/`Failed` for messages; a run that
/// finds `Sending` (cut off mid-send) records `Unknown` and never sends again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    Holdout,
    Unreachable,
    Pending,
    Sending,
    Sent,
    Failed,
    Unknown,
}

impl OutcomeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Holdout => "holdout",
            OutcomeStatus::Unreachable => "unreachable",
            OutcomeStatus::Pending => "pending",
            OutcomeStatus::Sending => "sending",
            OutcomeStatus::Sent => "sent",
            OutcomeStatus::Failed => "failed",
            OutcomeStatus::Unknown => "unknown",
        }
    }
    pub fn is_final(self) -> bool {
        !matches!(self, OutcomeStatus::Pending | OutcomeStatus::Sending)
    }
}

/// What happened for one customer, trigger and episode: the record reports read.
/// It holds no contact data: the message is rendered from the customer record at send time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub key: OutcomeKey,
    /// The sweep date that decided it (the send date for reports).
    pub sweep_date: NaiveDate,
    pub status: OutcomeStatus,
    pub channel: Option<Channel>,
    pub unreachable: Option<Unreachable>,
    pub gift_points: u64,
    pub gift_expires_on: Option<NaiveDate>,
    /// points_expiring: how many points burn on the episode's date.
    pub expiring_points: u64,
    pub decided_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Why a send failed (a provider's message, never an address).
    pub error: Option<String>,
}

/// The decision for one due trigger, before any I/O but the SMS opt-out answer.
pub fn decide(
    cfg: &ProgramConfig,
    record: &CustomerRecord,
    due: Due,
    date: NaiveDate,
    now: DateTime<Utc>,
    sms_opted_out: bool,
) -> Outcome {
    let customer = &record.customer;
    let key = OutcomeKey { customer_id: customer.customer_id.clone(), trigger: due.trigger, episode: due.episode };
    let t = cfg.trigger(due.trigger);
    let mut outcome = Outcome {
        key,
        sweep_date: date,
        status: OutcomeStatus::Holdout,
        channel: None,
        unreachable: None,
        gift_points: 0,
        gift_expires_on: None,
        expiring_points: due.expiring_points,
        decided_at: now,
        sent_at: None,
        error: None,
    };
    let reach = choose_channel(customer, sms_opted_out);
    if in_holdout(&customer.customer_id, due.trigger, t.holdout_percent) {
        // Held out, but whether they could have been told is kept, so the report compares
        // the treated with the reachable part of the holdout.
        match reach {
            Ok(channel) => outcome.channel = Some(channel),
            Err(reason) => outcome.unreachable = Some(reason),
        }
        return outcome;
    }
    match reach {
        Err(reason) => {
            outcome.status = OutcomeStatus::Unreachable;
            outcome.unreachable = Some(reason);
        }
        Ok(channel) => {
            outcome.status = OutcomeStatus::Pending;
            outcome.channel = Some(channel);
            if t.gift_points > 0 {
                outcome.gift_points = t.gift_points;
                outcome.gift_expires_on = Some(add_days(date, t.gift_valid_days));
            }
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use crate::domain::customer::Consent;
    use crate::domain::ids::{Email, Phone};
    use crate::domain::ledger::LotKey;
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn record(id: &str) -> CustomerRecord {
        CustomerRecord::new(CustomerId::parse(id).unwrap(), "2026-01-01T00:00:00Z".parse().unwrap())
    }

    fn triggers(cfg: &ProgramConfig, r: &CustomerRecord, date: &str) -> Vec<TriggerKind> {
        due_triggers(cfg, r, d(date)).into_iter().map(|x| x.trigger).collect()
    }

    #[test]
    fn lapses_fire_on_the_day_after_after_days() {
        let cfg = ProgramConfig::defaults();
        let mut r = record("c1");
        r.account.last_purchase_on = Some(d("2026-10-01"));
        r.account.earn(LotKey::earned(d("2027-10-01")), 10, "r");
        assert!(triggers(&cfg, &r, "2026-10-31").is_empty(), "30 days without a purchase is not yet a lapse");
        assert_eq!(triggers(&cfg, &r, "2026-11-01"), vec![TriggerKind::Lapsed30]);
        assert_eq!(triggers(&cfg, &r, "2026-12-01"), vec![TriggerKind::Lapsed60]);
        assert_eq!(triggers(&cfg, &r, "2026-12-31"), vec![TriggerKind::Lapsed90]);
        assert_eq!(
            due_triggers(&cfg, &r, d("2026-11-01"))[0].episode,
            Episode::Lapse(d("2026-10-01")),
            "the episode is the last purchase date"
        );
    }

    #[test]
    fn lapsed_30_needs_a_balance_of_at_least_min_balance() {
        let cfg = ProgramConfig::defaults();
        let mut r = record("c1");
        r.account.last_purchase_on = Some(d("2026-10-01"));
        assert!(triggers(&cfg, &r, "2026-11-01").is_empty());
        assert_eq!(triggers(&cfg, &r, "2026-12-01"), vec![TriggerKind::Lapsed60], "lapsed_60 has no minimum");
    }

    #[test]
    fn birthdays_fire_three_days_before_across_the_year_end_and_on_feb_28_for_feb_29() {
        let cfg = ProgramConfig::defaults();
        let mut r = record("c1");
        r.customer.birthday = Some(d("1990-01-01"));
        assert_eq!(triggers(&cfg, &r, "2026-12-29"), vec![TriggerKind::Birthday]);
        assert_eq!(due_triggers(&cfg, &r, d("2026-12-29"))[0].episode, Episode::Birthday(2027));
        assert!(triggers(&cfg, &r, "2026-12-28").is_empty());
        r.customer.birthday = Some(d("2000-02-29"));
        assert_eq!(triggers(&cfg, &r, "2027-02-25"), vec![TriggerKind::Birthday], "28 Feb 2027");
        assert!(triggers(&cfg, &r, "2028-02-25").is_empty(), "2028 is a leap year: 29 Feb");
        assert_eq!(triggers(&cfg, &r, "2028-02-26"), vec![TriggerKind::Birthday]);
        assert_eq!(birthdays_falling_on(d("2027-02-28")), vec![(2, 28), (2, 29)]);
        assert_eq!(birthdays_falling_on(d("2028-02-28")), vec![(2, 28)]);
    }

    #[test]
    fn points_expiring_names_the_points_burning_in_ten_days() {
        let cfg = ProgramConfig::defaults();
        let mut r = record("c1");
        r.account.earn(LotKey::earned(d("2026-12-11")), 40, "r1");
        r.account.gift(LotKey::gift(d("2026-12-11"), TriggerKind::Lapsed60), 300, "g");
        r.account.earn(LotKey::earned(d("2026-12-12")), 5, "r2");
        let due = due_triggers(&cfg, &r, d("2026-12-01"));
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].episode, due[0].expiring_points), (Episode::Expiry(d("2026-12-11")), 340));
    }

    #[test]
    fn disabled_triggers_never_fire() {
        let cfg = ProgramConfig::from_toml_str("[triggers.birthday]\nenabled = false").unwrap();
        let mut r = record("c1");
        r.customer.birthday = Some(d("1990-01-01"));
        assert!(triggers(&cfg, &r, "2026-12-29").is_empty());
    }

    #[test]
    fn holdout_is_stable_and_near_its_share() {
        let held = (0..10_000)
            .filter(|i| in_holdout(&CustomerId::parse(&format!("c{i}")).unwrap(), TriggerKind::Birthday, 10))
            .count();
        assert!((800..1200).contains(&held), "{held}");
        let c = CustomerId::parse("c42").unwrap();
        assert_eq!(in_holdout(&c, TriggerKind::Lapsed30, 50), in_holdout(&c, TriggerKind::Lapsed30, 50));
        assert!(!in_holdout(&c, TriggerKind::Lapsed30, 0));
        assert!(in_holdout(&c, TriggerKind::Lapsed30, 100));
    }

    #[test]
    fn the_channel_is_the_preferred_one_then_the_other_then_none() {
        let mut c = record("c1").customer;
        c.email = Some(Email::parse("a@example.ru").unwrap());
        c.phone = Some(Phone::parse("+79161234567").unwrap());
        c.consent = Consent { email: true, sms: true };
        c.preferred_channel = Some(Channel::Sms);
        assert_eq!(choose_channel(&c, false), Ok(Channel::Sms));
        assert_eq!(choose_channel(&c, true), Ok(Channel::Email), "opted-out SMS falls back to email");
        c.consent.email = false;
        assert_eq!(choose_channel(&c, true), Err(Unreachable::NoChannel));
        c.consent.email = true;
        c.email_undeliverable_at = Some("2026-01-01T00:00:00Z".parse().unwrap());
        assert_eq!(choose_channel(&c, true), Err(Unreachable::NoChannel), "a bounced address is not used");
        c.preferred_channel = None;
        c.email_undeliverable_at = None;
        assert_eq!(choose_channel(&c, false), Ok(Channel::Email), "email when no preference");
        c.erase("2026-02-01T00:00:00Z".parse().unwrap());
        assert_eq!(choose_channel(&c, false), Err(Unreachable::Erased));
    }
}
