//! The daily sweep as a use case: burn what expired, decide every due trigger once per
//! episode under the contact rules (the decision and the customer's reserved message date in
//! one atomic write), then send what was decided at most once, after a second look, in the
//! channel's waking hours, with its gift credited in the same write that claims the send;
//! the referrers' rewards due by then, the same way.
//!
//! This file holds the run (dates, burns, candidates) and its report; `decide` the decide
//! step, `deliver` the one protocol every message is sent by, `send` the triggers' decisions
//! in it, `rewards` the referrers' rewards.

mod alert;
mod decide;
mod deliver;
mod rewards;
mod send;
mod surveys;

pub use surveys::{SurveyCounts, SurveyMessageKey};
use surveys::SurveyMessage;
pub use rewards::RewardCounts;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::app::retry::{committed, read_decide_commit, Attempt};
use crate::app::{Boomerang, Error};
use crate::domain::customer::CustomerRecord;
use crate::domain::date::dates;
use crate::domain::ids::CustomerId;
use crate::domain::referral::ReferralReward;
use crate::domain::kinds::{Channel, MessageKind, TriggerKind};
use crate::domain::triggers::{
    birthday_targets, birthdays_falling_on, expiry_targets, lapse_last_purchases, OutcomeKey, OutcomeStatus,
};
use crate::ports::{BurnCommit, Messenger, StoreError};

use decide::{DecideOn, DryRun};
use deliver::{Pace, SendRun};
use send::still_sensible_days;

/// How many days back a run decides triggers for missed sweeps (the date itself included).
/// Burns catch up every missed date, however many.
pub const CATCH_UP_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TriggerCounts {
    /// Outcomes recorded: held out, unreachable, to send, capped or expired.
    pub eligible: u64,
    pub holdout: u64,
    pub sent_email: u64,
    pub sent_sms: u64,
    pub unreachable: u64,
    pub failed: u64,
    pub unknown: u64,
    pub points_credited: u64,
    /// Due, but kept for a later date of the window by the contact rules (nothing recorded).
    pub deferred: u64,
    /// The window closed without a send.
    pub capped: u64,
    /// Too late to make sense (catching up, or past its date at the send).
    pub expired: u64,
    /// The reason went away before the send (the customer bought, the points were spent).
    pub cancelled: u64,
    /// The customer could no longer be messaged at the send (erased, opted out, suppressed).
    pub suppressed: u64,
}

/// One line of `--list`: who, which trigger, what was (or would be) done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AudienceLine {
    pub date: NaiveDate,
    pub customer_id: String,
    pub trigger: TriggerKind,
    pub episode: String,
    pub status: OutcomeStatus,
    pub channel: Option<Channel>,
    pub gift_points: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// The dates this run decided triggers for (catch-up included), oldest first; empty when
    /// already done.
    pub dates: Vec<NaiveDate>,
    pub triggers: BTreeMap<TriggerKind, TriggerCounts>,
    pub points_burned: u64,
    pub audience: Vec<AudienceLine>,
    /// Decisions left for a sender to send (`SendMode::Handoff`).
    pub to_send: Vec<OutcomeKey>,
    /// Referrers' rewards settled and told (rewards.rs); left out of the JSON when none were.
    #[serde(skip_serializing_if = "RewardCounts::is_empty")]
    pub referral_rewards: RewardCounts,
    /// Rewards left for a sender (`SendMode::Handoff`), by friend.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rewards_to_send: Vec<CustomerId>,
    /// NPS surveys asked and sent, promoters invited, owner alerts (surveys.rs); left out of
    /// the JSON when none were.
    #[serde(skip_serializing_if = "SurveyCounts::is_empty")]
    pub surveys: SurveyCounts,
    /// Survey messages left for a sender (`SendMode::Handoff`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub surveys_to_send: Vec<SurveyMessageKey>,
    /// Owner alerts left for a sender (`SendMode::Handoff`), by date.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts_to_send: Vec<NaiveDate>,
    /// The owner's weekly digest, on its day: sent (or not) here, or left for a sender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_digest: Option<DigestOutcome>,
    /// The sweep date whose digest a sender is to send (`SendMode::Handoff`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest_to_send: Option<NaiveDate>,
}

/// What a run did about the owner's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestOutcome {
    Sent,
    Failed,
    Unknown,
    /// Left to a sender (`SendMode::Handoff`).
    HandedOff,
    /// Sent, or being sent, by an earlier run.
    AlreadyHandled,
}

/// One message left to a sender, as its queue body: a trigger's decision (its key, the body
/// the queue always carried), or a referrer's reward (`{"referral_reward": friend}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SendJob {
    Decision(OutcomeKey),
    ReferralReward { referral_reward: CustomerId },
    /// The owner's weekly digest recorded by the sweep of this date.
    OwnerDigest { owner_digest: NaiveDate },
    /// A survey's link or a promoter's invitation (`{"survey_message": {"survey", "invite"}}`).
    SurveyMessage { survey_message: SurveyMessageKey },
    /// The owner's detractor alert of a date (`{"owner_alert": "YYYY-MM-DD"}`).
    OwnerAlert { owner_alert: NaiveDate },
}

impl SendJob {
    /// What it is, for logs: a trigger's name, `referral_reward` or `owner_digest` (never a
    /// customer id).
    pub fn kind(&self) -> &'static str {
        match self {
            SendJob::Decision(key) => MessageKind::from(key.trigger).as_str(),
            SendJob::ReferralReward { .. } => MessageKind::ReferralReward.as_str(),
            SendJob::SurveyMessage { survey_message } if survey_message.invite => MessageKind::PromoterInvite.as_str(),
            SendJob::SurveyMessage { .. } => MessageKind::Survey.as_str(),
            SendJob::OwnerAlert { .. } => MessageKind::SurveyAlert.as_str(),
            SendJob::OwnerDigest { .. } => "owner_digest",
        }
    }
}

impl SweepReport {
    /// Everything this run left to a sender (`SendMode::Handoff`).
    pub fn jobs(&self) -> Vec<SendJob> {
        let decisions = self.to_send.iter().cloned().map(SendJob::Decision);
        let rewards = self.rewards_to_send.iter().cloned().map(|friend| SendJob::ReferralReward { referral_reward: friend });
        let surveys = self.surveys_to_send.iter().cloned().map(|key| SendJob::SurveyMessage { survey_message: key });
        let alerts = self.alerts_to_send.iter().map(|date| SendJob::OwnerAlert { owner_alert: *date });
        let digest = self.digest_to_send.map(|date| SendJob::OwnerDigest { owner_digest: date });
        decisions.chain(rewards).chain(surveys).chain(alerts).chain(digest).collect()
    }

    fn counts(&mut self, trigger: TriggerKind) -> &mut TriggerCounts {
        self.triggers.entry(trigger).or_default()
    }

    fn count_delivery(&mut self, trigger: TriggerKind, delivery: Delivery) {
        let c = self.counts(trigger);
        match delivery {
            Delivery::Sent(channel, gift) => {
                match channel {
                    Channel::Email => c.sent_email += 1,
                    Channel::Sms => c.sent_sms += 1,
                }
                c.points_credited += gift;
            }
            Delivery::Failed(gift) => {
                c.failed += 1;
                c.points_credited += gift;
            }
            Delivery::Unknown => c.unknown += 1,
            Delivery::Expired => c.expired += 1,
            Delivery::Cancelled => c.cancelled += 1,
            Delivery::Suppressed => c.suppressed += 1,
            // A decision's look never ends these ways (a reward's may).
            Delivery::Unreachable | Delivery::Postponed(_) | Delivery::Capped => {}
            Delivery::Deferred(_) | Delivery::Skipped => {}
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// Send here, at the capped rate (local runs, small days).
    Inline,
    /// Leave pending decisions to a sender (the Lambda sweep hands them to SQS).
    Handoff,
}

#[derive(Debug, Clone, Copy)]
pub struct SweepOptions {
    /// Compute and report the audience without writing or sending anything.
    pub dry_run: bool,
    pub send: SendMode,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self { dry_run: false, send: SendMode::Inline }
    }
}

/// What one delivery did to a message's intent (a decision, a reward).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Sent on this channel, with this many gift points credited.
    Sent(Channel, u64),
    /// Refused by the provider (the gift, credited with the claim, stays).
    Failed(u64),
    Unknown,
    /// Outside the channel's waking hours: it waits for this instant (nothing changed).
    Deferred(DateTime<Utc>),
    Expired,
    Cancelled,
    Suppressed,
    /// Nobody could be told (a reward: nothing credited).
    Unreachable,
    /// The governor moved it to this date (a reward).
    Postponed(NaiveDate),
    /// Over the referrer's monthly cap (a reward).
    Capped,
    /// Someone else has it (sending right now), or it is already final.
    Skipped,
}

impl Boomerang {
    /// Sends one job a sender was handed, at most once (the protocol of `deliver.rs`; the
    /// owner's messages have their own).
    pub async fn deliver_job(&self, messenger: &dyn Messenger, job: &SendJob, now: DateTime<Utc>) -> Result<Delivery, Error> {
        match job {
            SendJob::Decision(key) => self.deliver(messenger, key, now).await,
            SendJob::ReferralReward { referral_reward } => self.deliver_intent::<ReferralReward>(messenger, referral_reward, now).await,
            SendJob::OwnerDigest { owner_digest } => self.deliver_owner_digest(messenger, *owner_digest, now).await,
            SendJob::SurveyMessage { survey_message } => self.deliver_intent::<SurveyMessage>(messenger, survey_message, now).await,
            SendJob::OwnerAlert { owner_alert } => self.deliver_owner_alert(messenger, *owner_alert, now).await,
        }
    }

    /// Sweeps `date` and every missed date before it, each as of its own date: burns for
    /// every missed date, triggers for the last [`CATCH_UP_DAYS`] of them (a message that
    /// would come too late is recorded `expired`). Then sends, or hands over, this run's
    /// decisions and the ones of the last days still waiting. A date later than today in the
    /// tenant's timezone is refused: it would burn live points and silence the schedule.
    pub async fn sweep(
        &self,
        messenger: &dyn Messenger,
        date: NaiveDate,
        now: DateTime<Utc>,
        options: SweepOptions,
    ) -> Result<SweepReport, Error> {
        let today = self.today(now);
        if date > today {
            let zone = self.config().timezone;
            let message = format!(
                "{date} is in the future (today is {today} in {zone}): sweeping it would burn points that are still live and skip the days between"
            );
            return Err(Error::invalid("date", message));
        }
        let store = self.store();
        let last = store.last_completed_sweep().await?;
        let earliest_decision = date - Duration::days(CATCH_UP_DAYS - 1);
        let first = match last {
            Some(last) if last >= date => None,
            Some(last) => Some(last + Duration::days(1)),
            None => Some(date),
        };
        let mut report = SweepReport::default();
        for kind in TriggerKind::ALL {
            report.triggers.insert(kind, TriggerCounts::default());
        }
        let mut decided = Vec::new();
        let mut surveys = Vec::new();
        let mut dry = DryRun::default();
        for day in dates(first.unwrap_or(date + Duration::days(1)), date) {
            if !options.dry_run {
                report.points_burned += self.burn(day, now).await?;
            }
            if day >= earliest_decision {
                report.dates.push(day);
                let send_on = day.max(today);
                let on = DecideOn { messenger, day, send_on, now };
                self.decide_day(on, &options, &mut report, &mut decided, &mut dry).await?;
                if !options.dry_run {
                    surveys.extend(self.decide_surveys(day, now, &mut report).await?);
                    store.complete_sweep(day).await?;
                }
            }
        }
        if !options.dry_run {
            // Decisions still waiting from before this run: the days they were decided on, as
            // far back as such a decision can still make sense (further after an outage).
            let since = first.unwrap_or(today).min(today) - Duration::days(still_sensible_days(self.config()));
            let pace = Pace::new(self.config().messaging.max_sends_per_second);
            let mut run = SendRun { messenger, now, mode: options.send, pace, report: &mut report };
            self.send_decided(&mut run, decided, since).await?;
            self.send_rewards(&mut run, since).await?;
            self.send_surveys(&mut run, surveys, since).await?;
            self.alert_owner(messenger, date - Duration::days(1), now, options.send, &mut report).await?;
            // The owner's digest goes last: the week's messages are out by then.
            // A run catching up finds the digest day among the dates it swept.
            if let Some(digest_date) = self.record_weekly_digest(first.unwrap_or(date), date, now).await? {
                report.owner_digest = Some(match options.send {
                    SendMode::Handoff => {
                        report.digest_to_send = Some(digest_date);
                        DigestOutcome::HandedOff
                    }
                    SendMode::Inline => match self.deliver_owner_digest(messenger, digest_date, now).await? {
                        Delivery::Sent(..) => DigestOutcome::Sent,
                        Delivery::Failed(_) => DigestOutcome::Failed,
                        Delivery::Unknown => DigestOutcome::Unknown,
                        _ => DigestOutcome::AlreadyHandled,
                    },
                });
            }
        }
        Ok(report)
    }

    /// Burns the lots that expire on `day` (ledger entries, never silent deletes).
    async fn burn(&self, day: NaiveDate, now: DateTime<Utc>) -> Result<u64, Error> {
        let mut burned = 0;
        for id in self.store().customers_with_lots_expiring_on(day).await? {
            burned += self.burn_customer(&id, day, now).await?;
        }
        Ok(burned)
    }

    async fn burn_customer(&self, id: &CustomerId, day: NaiveDate, now: DateTime<Utc>) -> Result<u64, Error> {
        read_decide_commit(self.backoff(), || async move {
            let Some(mut record) = self.store().customer(id).await? else { return Ok(Attempt::Done(0)) };
            let expected_version = record.version;
            let entries = record.account.burn_expired(day, &format!("burn:{day}"));
            let points = entries.iter().map(|e| e.points).sum();
            record.version += 1;
            let burn = BurnCommit { record, expected_version, entries, burned_dates: vec![day], recorded_at: now };
            committed(self.store().commit_burn(&burn).await, || points)
        })
        .await
    }

    /// Everyone a trigger may apply to on `day`, read through the indexes. An index may lag
    /// a recent write; every record is read again before anything is decided for it.
    async fn candidates(&self, day: NaiveDate) -> Result<BTreeSet<CustomerId>, Error> {
        let store = self.store();
        let cfg = self.config();
        let enabled = |kind: TriggerKind| cfg.trigger(kind).enabled;
        let mut ids = BTreeSet::new();
        for kind in [TriggerKind::Lapsed30, TriggerKind::Lapsed60, TriggerKind::Lapsed90].into_iter().filter(|k| enabled(*k)) {
            for last in lapse_last_purchases(cfg, kind, day) {
                ids.extend(store.customers_last_bought_on(last).await?);
            }
        }
        if enabled(TriggerKind::Birthday) {
            for target in birthday_targets(cfg, day) {
                for (month, dom) in birthdays_falling_on(target) {
                    ids.extend(store.customers_born_on(month, dom).await?);
                }
            }
        }
        if enabled(TriggerKind::PointsExpiring) {
            for target in expiry_targets(cfg, day) {
                ids.extend(store.customers_with_lots_expiring_on(target).await?);
            }
        }
        Ok(ids)
    }

    /// Records that the provider says the customer's number opted out (texted STOP): their
    /// withdrawal of SMS consent, with its source.
    /// True when that changed the record.
    async fn note_sms_opt_out(&self, record: &CustomerRecord, now: DateTime<Utc>) -> Result<bool, Error> {
        match &record.customer.phone {
            Some(phone) => Ok(self.sms_opt_out(&record.customer.customer_id, phone, now).await?.changed()),
            None => Ok(false),
        }
    }

    /// Asks the SMS provider only when SMS could be the channel.
    async fn sms_opted_out(&self, messenger: &dyn Messenger, record: &CustomerRecord) -> Result<bool, Error> {
        let c = &record.customer;
        match (&c.phone, c.consent.sms && !c.is_erased()) {
            (Some(phone), true) => messenger
                .sms_opted_out(phone)
                .await
                .map_err(|e| Error::Store(StoreError::Unavailable(Box::new(e)))),
            _ => Ok(false),
        }
    }
}
