//! The referrers' rewards in the sweep's send step. A reward is a gift, so it follows the
//! triggers' protocol: it is credited only with its message and exactly once. The reward's own
//! record is the durable intent (written with the friend's purchase); one conditional write
//! claims it (`pending → sending`), credits the referrer and reserves the governor's date;
//! then the send; then `sent`/`failed`, or `unknown` for a send cut off, never sent again.
//! Before the claim it meets the contact rules: a referrer nobody can reach (erased, no
//! consent, address suppressed, SMS STOP) gets neither message nor points (`unreachable`),
//! the governor moves the reward's due date on, and outside the waking hours it waits.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::deliver::{tracked_by_fields, Intent, Look, SendRun, Settle, Stage, Tracked};
use super::{Delivery, SweepReport};
use crate::app::{Boomerang, Error};
use crate::domain::customer::CustomerRecord;
use crate::domain::date::dates;
use crate::domain::ids::CustomerId;
use crate::domain::kinds::{Channel, MessageKind, SendStatus};
use crate::domain::messages::{render_reward, Rendered};
use crate::domain::referral::{credit_reward, reward_contact, settle, ReferralReward, RewardContact, RewardStep};
use crate::domain::triggers::Claim;
use crate::ports::{MessageKey, Messenger, RecordCommit, RewardCommit, StoreError};

/// What the sweep did with the referrers' rewards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RewardCounts {
    /// Credited with their message (sent, or refused by the provider after the claim).
    pub credited: u64,
    pub points_credited: u64,
    pub sent_email: u64,
    pub sent_sms: u64,
    pub failed: u64,
    pub unknown: u64,
    /// Nobody could be told: nothing credited.
    pub unreachable: u64,
    /// The governor moved them to a later date.
    pub postponed: u64,
    pub capped: u64,
    pub cancelled: u64,
}

impl RewardCounts {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn count(&mut self, delivery: Delivery) {
        match delivery {
            Delivery::Sent(channel, points) => {
                match channel {
                    Channel::Email => self.sent_email += 1,
                    Channel::Sms => self.sent_sms += 1,
                }
                self.credited += 1;
                self.points_credited += points;
            }
            Delivery::Failed(points) => {
                self.failed += 1;
                self.credited += 1;
                self.points_credited += points;
            }
            Delivery::Unknown => self.unknown += 1,
            Delivery::Unreachable => self.unreachable += 1,
            Delivery::Postponed(_) => self.postponed += 1,
            Delivery::Capped => self.capped += 1,
            Delivery::Cancelled => self.cancelled += 1,
            Delivery::Deferred(_) | Delivery::Skipped | Delivery::Expired | Delivery::Suppressed => {}
        }
    }
}

impl Boomerang {
    /// Sends (or hands over) the rewards due from `since` to today that are still waiting:
    /// read by due date (O(rewards due)), each read again before anything is done with it.
    pub(super) async fn send_rewards(&self, run: &mut SendRun<'_>, since: NaiveDate) -> Result<(), Error> {
        let today = self.today(run.now);
        let mut due = Vec::new();
        for day in dates(since, today) {
            due.extend(self.store().rewards_due_on(day).await?);
        }
        self.deliver_each(run, due).await
    }
}

tracked_by_fields!(ReferralReward, SendStatus);

#[async_trait]
impl Intent for ReferralReward {
    type Key = CustomerId;

    async fn load(app: &Boomerang, friend: &CustomerId) -> Result<Option<Self>, Error> {
        Ok(app.store().referral_reward(friend).await?)
    }

    fn key(&self) -> &CustomerId {
        &self.friend
    }

    async fn store_moved(&self, app: &Boomerang, from: Stage) -> Result<(), StoreError> {
        app.store().commit_reward(&RewardCommit { reward: self.clone(), referrer: None }, Self::status_at(from)).await
    }

    /// Before the claim: the reward's own rules (the hold, a refund, the monthly cap), then the
    /// contact rules for the referrer.
    async fn look(&self, app: &Boomerang, messenger: &dyn Messenger, now: DateTime<Utc>) -> Result<Look<Self>, Error> {
        let (store, cfg, today) = (app.store(), app.config(), app.today(now));
        let friend_record = store.customer(&self.friend).await?;
        let referrer = store.customer(&self.referrer).await?;
        let settled = |status| ReferralReward { status, settled_at: Some(now), ..self.clone() };
        let record = match (settle(&cfg.referral, self, friend_record.as_ref(), referrer.as_ref(), today), referrer) {
            (RewardStep::Wait, _) | (RewardStep::Credit, None) => return Ok(Look::Leave(Delivery::Skipped)),
            (RewardStep::Cancel(reason), _) => {
                let cancelled = ReferralReward { reason: Some(reason), ..settled(SendStatus::Cancelled) };
                return Ok(Look::End(cancelled, Delivery::Cancelled));
            }
            (RewardStep::Cap, _) => return Ok(Look::End(settled(SendStatus::Capped), Delivery::Capped)),
            (RewardStep::Credit, Some(record)) => record,
        };
        let min_days = cfg.messaging.min_days_between_messages;
        // The SMS provider is asked only when SMS would carry it, as for a decision's send.
        let by_sms = reward_contact(&record, today, min_days, false) == RewardContact::Tell(Channel::Sms);
        let opted_out = by_sms && app.sms_opted_out(messenger, &record).await?;
        // The referrer texted STOP: their withdrawal is recorded, then looked at again.
        if opted_out && app.note_sms_opt_out(&record, now).await? {
            return Ok(Look::Again);
        }
        Ok(match reward_contact(&record, today, min_days, opted_out) {
            RewardContact::Unreachable => Look::End(settled(SendStatus::Unreachable), Delivery::Unreachable),
            RewardContact::NotBefore(date) => Look::End(ReferralReward { due_on: date, ..self.clone() }, Delivery::Postponed(date)),
            RewardContact::Tell(channel) => Look::Send(record, channel),
        })
    }

    /// A reward does not go stale: it waits for the waking hours.
    fn expired_by(&self, _send_date: NaiveDate) -> Option<Self> {
        None
    }

    /// `sending` by this process on `channel`, and the referrer's record with its points
    /// credited and the governor's date reserved (written together).
    fn claimed(self, app: &Boomerang, mut record: CustomerRecord, channel: Channel, claim: Claim) -> Result<(Self, RecordCommit), Error> {
        let now = claim.at;
        let expected_version = record.version;
        let (entries, expires_on) = credit_reward(&app.config().referral, &mut record, &self, app.today(now))?;
        record.version = expected_version + 1;
        let sending = ReferralReward {
            status: SendStatus::Sending,
            settled_at: Some(now),
            expires_on: Some(expires_on),
            channel: Some(channel),
            claim: Some(claim),
            ..self
        };
        Ok((sending, RecordCommit { record, expected_version, entries, recorded_at: now }))
    }

    async fn store_claim(&self, app: &Boomerang, record: &RecordCommit) -> Result<(), StoreError> {
        let commit = RewardCommit { reward: self.clone(), referrer: Some(record.clone()) };
        app.store().commit_reward(&commit, SendStatus::Pending).await
    }

    fn credited(&self) -> u64 {
        self.points
    }

    fn message_key(&self) -> MessageKey {
        MessageKey { kind: MessageKind::ReferralReward, customer_id: self.referrer.clone(), episode: self.friend.to_string() }
    }

    fn render(&self, app: &Boomerang, record: &CustomerRecord, channel: Channel, now: DateTime<Utc>, url: &str) -> Option<Rendered> {
        Some(render_reward(app.config(), record, self, channel, app.today(now), url))
    }

    fn tally(&self, report: &mut SweepReport, delivery: Option<Delivery>) {
        match delivery {
            Some(delivery) => report.referral_rewards.count(delivery),
            None => report.rewards_to_send.push(self.friend.clone()),
        }
    }
}
