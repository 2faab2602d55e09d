//! The daily sweep's rules: which trigger may go to whom on a date (its window), in which
//! order (priority), how often (the contact rules), who is held out, on which channel, and
//! what was decided per customer, trigger and episode. Then the second look right before a
//! send. Pure: dates and instants come in.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::config::ProgramConfig;
use crate::domain::contact::ContactState;
use crate::domain::customer::{Customer, CustomerRecord};
use crate::domain::ids::CustomerId;
use crate::domain::kinds::{Channel, TriggerKind};
use crate::domain::ledger::{add_days, Account};

/// One occurrence of a trigger's condition: a lapse is identified by the last purchase date
/// it follows, a birthday by its year, an expiry warning by the first burn date it is for.
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

/// A trigger that may go to a customer on a sweep date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub trigger: TriggerKind,
    pub episode: Episode,
    /// The last date of the trigger's window: blocked on it, the episode is capped.
    pub window_end: NaiveDate,
    /// The last local date its message still makes sense: the end of the window, for a
    /// birthday the day before the birthday.
    pub valid_until: NaiveDate,
    /// points_expiring: the points that burn within the cooldown (the warning covers them all).
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

fn days(n: u32) -> Duration {
    Duration::days(n.into())
}

/// The last-purchase dates a lapse trigger may go for on `date`: its window is the days
/// `after_days + 1` to `after_days + window_days` without a purchase (the 31st to the 33rd
/// day for lapsed_30).
pub fn lapse_last_purchases(cfg: &ProgramConfig, trigger: TriggerKind, date: NaiveDate) -> Vec<NaiveDate> {
    let t = cfg.trigger(trigger);
    let Some(after) = t.after_days else { return Vec::new() };
    (1..=t.window_days).filter_map(|k| date.checked_sub_signed(days(after + k))).collect()
}

/// A birthday's window: from `days_before` down to one day before it (never on or after),
/// `window_days` dates at most.
fn birthday_window(cfg: &ProgramConfig, birthday: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let t = cfg.trigger(TriggerKind::Birthday);
    let first = birthday.checked_sub_signed(days(t.days_before?))?;
    let last = (first + days(t.window_days.saturating_sub(1))).min(birthday - Duration::days(1));
    (first <= last).then_some((first, last))
}

/// The birthdays a birthday greeting may be for on `date` (the sweep reads the birthday
/// index for each).
pub fn birthday_targets(cfg: &ProgramConfig, date: NaiveDate) -> Vec<NaiveDate> {
    let days_before = cfg.trigger(TriggerKind::Birthday).days_before.unwrap_or(0);
    (1..=days_before)
        .map(|k| add_days(date, k))
        .filter(|b| birthday_window(cfg, *b).is_some_and(|(first, last)| first <= date && date <= last))
        .collect()
}

/// The burn dates a points_expiring warning looks at on `date`: from `days_before` down to
/// `days_before - window_days + 1` days ahead.
pub fn expiry_targets(cfg: &ProgramConfig, date: NaiveDate) -> Vec<NaiveDate> {
    let t = cfg.trigger(TriggerKind::PointsExpiring);
    let Some(before) = t.days_before else { return Vec::new() };
    (0..t.window_days).map(|k| add_days(date, before - k)).collect()
}

/// The points that burn within a warning's cooldown after `today`, and the first such date.
pub fn expiring_soon(cfg: &ProgramConfig, account: &Account, today: NaiveDate) -> Option<(u64, NaiveDate)> {
    let cooldown = cfg.trigger(TriggerKind::PointsExpiring).cooldown_days.unwrap_or(0);
    let until = add_days(today, cooldown);
    let soon: Vec<(NaiveDate, u64)> =
        account.expiring(today).into_iter().filter(|(on, points)| *on <= until && *points > 0).collect();
    let first = soon.first()?.0;
    Some((soon.iter().map(|(_, p)| p).sum(), first))
}

/// Every enabled trigger whose window holds `date` and whose condition holds for the
/// record, highest priority first. Episodes already decided are the caller's to leave out.
pub fn due_triggers(cfg: &ProgramConfig, record: &CustomerRecord, date: NaiveDate) -> Vec<Due> {
    let account = &record.account;
    let mut due = Vec::new();
    for trigger in cfg.triggers_by_priority() {
        let t = cfg.trigger(trigger);
        if !t.enabled {
            continue;
        }
        let found = match trigger {
            TriggerKind::Lapsed30 | TriggerKind::Lapsed60 | TriggerKind::Lapsed90 => {
                let last = account.last_purchase_on;
                last.filter(|l| lapse_last_purchases(cfg, trigger, date).contains(l))
                    .filter(|_| account.balance(date) >= t.min_balance)
                    .map(|last| {
                        let end = add_days(last, t.after_days.unwrap_or(0) + t.window_days);
                        Due { trigger, episode: Episode::Lapse(last), window_end: end, valid_until: end, expiring_points: 0 }
                    })
            }
            TriggerKind::Birthday => record.customer.birthday.and_then(|birthday| {
                let target = birthday_targets(cfg, date)
                    .into_iter()
                    .find(|b| birthday_in(birthday, b.year()) == *b)?;
                let (_, end) = birthday_window(cfg, target)?;
                let valid_until = target - Duration::days(1);
                Some(Due { trigger, episode: Episode::Birthday(target.year()), window_end: end, valid_until, expiring_points: 0 })
            }),
            TriggerKind::PointsExpiring => {
                let cooldown = t.cooldown_days.unwrap_or(0);
                let targets = expiry_targets(cfg, date);
                let first_due = targets.iter().rev().find(|e| account.lots.keys().any(|k| k.expires_on == **e));
                match (first_due, expiring_soon(cfg, account, date)) {
                    (Some(burn), Some((points, _)))
                        if points >= t.min_points.unwrap_or(0)
                            && record.contact.allows_expiry_warning(date, cooldown) =>
                    {
                        let before = t.days_before.unwrap_or(0);
                        let end = burn.checked_sub_signed(days(before - t.window_days + 1)).unwrap_or(date);
                        Some(Due {
                            trigger,
                            episode: Episode::Expiry(*burn),
                            window_end: end,
                            valid_until: end,
                            expiring_points: points,
                        })
                    }
                    _ => None,
                }
            }
        };
        due.extend(found);
    }
    due
}

/// What the sweep does with one due trigger of a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Decide it now: the holdout split, the channel, a message to send.
    Decide,
    /// Not now: a higher-priority trigger or a recent message comes first; a later date of
    /// its window may let it through. Nothing is recorded.
    Defer,
    /// Its window closes today without a send: recorded `capped`, nothing is sent.
    Cap,
    /// Its message would arrive after the date it makes sense (a run catching up): recorded
    /// `expired`, nothing is sent.
    Expire,
}

/// The contact rules for one customer on `date` whose messages go out on `send_on` (later
/// than `date` when a run catches up): the highest-priority due trigger goes if the governor
/// allows a message on `send_on`, the others wait. `dues` come highest priority first.
/// The rules come before the holdout split, so the held-out meet them as the treated do.
pub fn plan(cfg: &ProgramConfig, contact: &ContactState, dues: &[Due], date: NaiveDate, send_on: NaiveDate) -> Vec<Step> {
    let mut free = contact.allows_message(send_on, cfg.messaging.min_days_between_messages);
    dues.iter()
        .map(|due| {
            if due.valid_until < send_on {
                Step::Expire
            } else if free {
                free = false;
                Step::Decide
            } else if date >= due.window_end {
                Step::Cap
            } else {
                Step::Defer
            }
        })
        .collect()
}

/// The contact state once `due` is decided for `send_on`: the customer's next message waits
/// for the governor, and a warning starts its cooldown.
pub fn reserve(contact: &ContactState, due: &Due, send_on: NaiveDate) -> ContactState {
    let mut next = *contact;
    next.last_message_on = Some(send_on);
    if due.trigger == TriggerKind::PointsExpiring {
        next.last_expiry_warning_on = Some(send_on);
    }
    next
}

/// The year a holdout draw is salted with: the birthday's for a birthday, the sweep date's
/// for the others. Membership is stable within an episode and rotates from year to year, so
/// nobody is held out of the same trigger for good.
pub fn holdout_year(episode: Episode, date: NaiveDate) -> i32 {
    match episode {
        Episode::Birthday(year) => year,
        Episode::Lapse(_) | Episode::Expiry(_) => date.year(),
    }
}

/// True when the customer is in the trigger's holdout for `year`: a stable hash of customer,
/// trigger and year.
pub fn in_holdout(customer: &CustomerId, trigger: TriggerKind, percent: u8, year: i32) -> bool {
    let digest = Sha256::digest(format!("holdout:{trigger}:{year}:{customer}").as_bytes());
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

/// True when `channel` can carry a message to the customer now.
pub fn usable(customer: &Customer, channel: Channel, sms_opted_out: bool) -> bool {
    !customer.is_erased()
        && match channel {
            Channel::Email => {
                customer.email.is_some() && customer.consent.email && customer.email_undeliverable_at.is_none()
            }
            Channel::Sms => customer.phone.is_some() && customer.consent.sms && !sms_opted_out,
        }
}

/// The channel to use: the preferred one if the customer has that contact and consent (and it
/// is not suppressed), else the other one, else none.
pub fn choose_channel(customer: &Customer, sms_opted_out: bool) -> Result<Channel, Unreachable> {
    if customer.is_erased() {
        return Err(Unreachable::Erased);
    }
    let preferred = customer.preferred_channel.unwrap_or(Channel::Email);
    let other = match preferred {
        Channel::Email => Channel::Sms,
        Channel::Sms => Channel::Email,
    };
    [preferred, other].into_iter().find(|c| usable(customer, *c, sms_opted_out)).ok_or(Unreachable::NoChannel)
}

/// Where a decision stands. `Pending` → `Sending` → `Sent`/`Failed` for messages; a send cut
/// off mid-way ends `Unknown` and is never sent again. `Capped` and `Expired` are decided by
/// the contact rules (nothing sent); at the second look before a send a pending decision may
/// end `Expired`, `Cancelled` or `Suppressed` instead.
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
    /// The trigger's window closed without a send (the contact rules kept it back).
    Capped,
    /// Its message would have come after the date it made sense.
    Expired,
    /// The reason for the message went away before the send (the customer bought, the points
    /// were spent).
    Cancelled,
    /// The customer cannot be messaged any more (erased, consent withdrawn, address suppressed).
    Suppressed,
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
            OutcomeStatus::Capped => "capped",
            OutcomeStatus::Expired => "expired",
            OutcomeStatus::Cancelled => "cancelled",
            OutcomeStatus::Suppressed => "suppressed",
        }
    }
    pub fn is_final(self) -> bool {
        !matches!(self, OutcomeStatus::Pending | OutcomeStatus::Sending)
    }
}

/// Who took a decision to send it, and when: a `sending` decision names its owner, so that
/// another process neither sends it again nor calls a send still in flight `unknown`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub owner: String,
    pub at: DateTime<Utc>,
}

impl Claim {
    /// True when the send it stands for can no longer be in flight: its lease ran out, or it
    /// was `owner` (this process, which is not sending it).
    pub fn abandoned(claim: Option<&Claim>, owner: &str, now: DateTime<Utc>) -> bool {
        claim.is_none_or(|c| c.owner == owner || now - c.at >= CLAIM_LEASE)
    }
}

/// How long a send may take, retries included, before its claim counts as abandoned (the
/// process died mid-send) and the decision is recorded `unknown`.
pub const CLAIM_LEASE: Duration = Duration::minutes(15);

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
    /// The gift the message carries: planned when decided, credited with the send.
    pub gift_points: u64,
    /// Set when the gift was credited (with the claim to send): its lot's expiry date.
    pub gift_expires_on: Option<NaiveDate>,
    /// points_expiring: how many points burn within the cooldown, when decided.
    pub expiring_points: u64,
    pub decided_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Why a send failed (a provider's message, never an address).
    pub error: Option<String>,
    /// The last local date the message makes sense; past it, it is never sent.
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    /// The decision was split to the treated group (a message was meant to go), whatever
    /// happened after: the report's intent-to-treat group.
    #[serde(default)]
    pub treated: bool,
    #[serde(default)]
    pub claim: Option<Claim>,
}

impl Outcome {
    fn new(key: OutcomeKey, due: &Due, date: NaiveDate, now: DateTime<Utc>, status: OutcomeStatus) -> Self {
        Outcome {
            key,
            sweep_date: date,
            status,
            channel: None,
            unreachable: None,
            gift_points: 0,
            gift_expires_on: None,
            expiring_points: due.expiring_points,
            decided_at: now,
            sent_at: None,
            error: None,
            valid_until: Some(due.valid_until),
            treated: false,
            claim: None,
        }
    }
}

/// The record of a step that sends nothing: `Cap` or `Expire`.
pub fn closed(customer: &CustomerId, due: &Due, date: NaiveDate, now: DateTime<Utc>, status: OutcomeStatus) -> Outcome {
    let key = OutcomeKey { customer_id: customer.clone(), trigger: due.trigger, episode: due.episode };
    Outcome::new(key, due, date, now, status)
}

/// The decision for one due trigger the contact rules let through: the holdout split, then
/// the channel (the held out keep whether they could have been told, so the report compares
/// the treated with the reachable part of the holdout).
pub fn decide(
    cfg: &ProgramConfig,
    record: &CustomerRecord,
    due: &Due,
    date: NaiveDate,
    now: DateTime<Utc>,
    sms_opted_out: bool,
) -> Outcome {
    let customer = &record.customer;
    let key = OutcomeKey { customer_id: customer.customer_id.clone(), trigger: due.trigger, episode: due.episode };
    let t = cfg.trigger(due.trigger);
    let mut outcome = Outcome::new(key, due, date, now, OutcomeStatus::Holdout);
    let reach = choose_channel(customer, sms_opted_out);
    if in_holdout(&customer.customer_id, due.trigger, t.holdout_percent, holdout_year(due.episode, date)) {
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
            outcome.treated = true;
            outcome.gift_points = t.gift_points;
        }
    }
    outcome
}

/// What the second look right before a send finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondLook {
    Send,
    /// Too late: `today` is past the date the message made sense.
    Expired,
    /// The reason went away: a lapsed customer bought, the points are no longer burning.
    Cancelled,
    /// Erased, consent withdrawn, or the address suppressed on the decision's channel.
    Suppressed,
}

/// The second look at a pending decision with the customer's record as it is now.
pub fn second_look(
    cfg: &ProgramConfig,
    record: Option<&CustomerRecord>,
    outcome: &Outcome,
    today: NaiveDate,
    sms_opted_out: bool,
) -> SecondLook {
    if outcome.valid_until.is_some_and(|until| today > until) {
        return SecondLook::Expired;
    }
    let Some(record) = record else { return SecondLook::Suppressed };
    let reachable = outcome.channel.is_some_and(|c| usable(&record.customer, c, sms_opted_out));
    if !reachable {
        return SecondLook::Suppressed;
    }
    let trigger = outcome.key.trigger;
    match outcome.key.episode {
        Episode::Lapse(last) if trigger.is_lapse() && record.account.last_purchase_on > Some(last) => {
            return SecondLook::Cancelled;
        }
        Episode::Expiry(_) => {
            let min = cfg.trigger(trigger).min_points.unwrap_or(0);
            if expiring_soon(cfg, &record.account, today).is_none_or(|(points, _)| points < min.max(1)) {
                return SecondLook::Cancelled;
            }
        }
        _ => {}
    }
    SecondLook::Send
}

#[cfg(test)]
mod tests;
