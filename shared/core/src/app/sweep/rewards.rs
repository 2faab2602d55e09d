//! The referrers' rewards in the sweep's send step. A reward is a gift, so it follows the
//! triggers' protocol: it is credited only with its message and exactly once. The reward's own
//! record is the durable intent (written with the friend's purchase); one conditional write
//! claims it (`pending → sending`), credits the referrer and reserves the governor's date;
//! then the send; then `sent`/`failed`, or `unknown` for a send cut off, never sent again.
//! Before the claim it meets the contact rules: a referrer nobody can reach (erased, no
//! consent, address suppressed, SMS STOP) gets neither message nor points (`unreachable`),
//! the governor moves the reward's due date on, and outside the waking hours it waits.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::send::Pace;
use super::{SendMode, SweepReport};
use crate::app::retry::{read_decide_commit, Attempt};
use crate::app::{Boomerang, Error};
use crate::domain::customer::CustomerRecord;
use crate::domain::ids::CustomerId;
use crate::domain::kinds::{Channel, MessageKind};
use crate::domain::messages::render_reward;
use crate::domain::referral::{credit_reward, reward_contact, settle, ReferralReward, RewardContact, RewardStatus, RewardStep};
use crate::domain::triggers::Claim;
use crate::ports::{MessageKey, Messenger, RecordCommit, RewardCommit, SendError, StoreError};

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

    fn count(&mut self, end: RewardEnd) {
        match end {
            RewardEnd::Sent(channel, points) => {
                match channel {
                    Channel::Email => self.sent_email += 1,
                    Channel::Sms => self.sent_sms += 1,
                }
                self.credited += 1;
                self.points_credited += points;
            }
            RewardEnd::Failed(points) => {
                self.failed += 1;
                self.credited += 1;
                self.points_credited += points;
            }
            RewardEnd::Unknown => self.unknown += 1,
            RewardEnd::Unreachable => self.unreachable += 1,
            RewardEnd::Postponed(_) => self.postponed += 1,
            RewardEnd::Capped => self.capped += 1,
            RewardEnd::Cancelled => self.cancelled += 1,
            RewardEnd::Deferred(_) | RewardEnd::Skipped => {}
        }
    }
}

/// What one look at a reward did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewardEnd {
    /// Credited and sent on this channel (the points).
    Sent(Channel, u64),
    /// Credited with the claim; the provider refused the message.
    Failed(u64),
    /// Credited with the claim; the send was cut off (never sent again).
    Unknown,
    Unreachable,
    /// The governor: not before this date.
    Postponed(NaiveDate),
    Capped,
    Cancelled,
    /// Outside the channel's waking hours: it waits for this instant.
    Deferred(DateTime<Utc>),
    /// Not due, already settled, or in another process's hands.
    Skipped,
}

/// What the look before the send led to.
enum Look {
    Ended(RewardEnd),
    /// Claimed by this process: the reward `sending` on its channel, and the referrer's record
    /// with its points.
    Claimed(ReferralReward, Channel, CustomerRecord),
}

impl Boomerang {
    /// Sends (or hands over) the rewards due from `since` to today that are still waiting:
    /// read by due date (O(rewards due)), each read again before anything is done with it.
    pub(super) async fn send_rewards(
        &self,
        messenger: &dyn Messenger,
        since: NaiveDate,
        now: DateTime<Utc>,
        mode: SendMode,
        pace: &mut Pace,
        report: &mut SweepReport,
    ) -> Result<(), Error> {
        let today = self.today(now);
        let mut day = since;
        while day <= today {
            for due in self.store().rewards_due_on(day).await? {
                if !matches!(due.status, RewardStatus::Pending | RewardStatus::Sending) {
                    continue;
                }
                if mode == SendMode::Handoff && due.status == RewardStatus::Pending {
                    report.rewards_to_send.push(due.friend);
                    continue;
                }
                if due.status == RewardStatus::Pending {
                    pace.wait().await;
                }
                let end = self.deliver_reward(messenger, &due.friend, now).await?;
                report.referral_rewards.count(end);
            }
            day += Duration::days(1);
        }
        Ok(())
    }

    /// Settles and tells the reward for `friend`'s first purchase at most once: the look
    /// (cancelled, capped, unreachable, postponed, deferred, or claimed with the points), then
    /// the send and its outcome. A reward found `sending` by a sender that is gone ends
    /// `unknown`; one in flight elsewhere is left alone.
    pub async fn deliver_reward(
        &self,
        messenger: &dyn Messenger,
        friend: &CustomerId,
        now: DateTime<Utc>,
    ) -> Result<RewardEnd, Error> {
        let store = self.store();
        let cfg = self.config();
        let today = self.today(now);
        let look = read_decide_commit(self.backoff(), || async move {
            let skipped = Ok(Attempt::Done(Look::Ended(RewardEnd::Skipped)));
            let Some(reward) = store.referral_reward(friend).await? else { return skipped };
            match reward.status {
                RewardStatus::Sending if Claim::abandoned(reward.claim.as_ref(), self.owner(), now) => {
                    let unknown = ReferralReward { status: RewardStatus::Unknown, ..reward };
                    return self.end_reward(unknown, RewardStatus::Sending, RewardEnd::Unknown).await;
                }
                RewardStatus::Pending => {}
                _ => return skipped,
            }
            let friend_record = store.customer(friend).await?;
            let referrer = store.customer(&reward.referrer).await?;
            let settled = |status| ReferralReward { status, settled_at: Some(now), ..reward.clone() };
            let record = match (settle(&cfg.referral, &reward, friend_record.as_ref(), referrer.as_ref(), today), referrer) {
                (RewardStep::Wait, _) | (RewardStep::Credit, None) => return skipped,
                (RewardStep::Cancel(reason), _) => {
                    let cancelled = ReferralReward { reason: Some(reason), ..settled(RewardStatus::Cancelled) };
                    return self.end_reward(cancelled, RewardStatus::Pending, RewardEnd::Cancelled).await;
                }
                (RewardStep::Cap, _) => {
                    return self.end_reward(settled(RewardStatus::Capped), RewardStatus::Pending, RewardEnd::Capped).await
                }
                (RewardStep::Credit, Some(record)) => record,
            };
            let min_days = cfg.messaging.min_days_between_messages;
            // The SMS provider is asked only when SMS would carry it, as for a decision's send.
            let by_sms = reward_contact(&record, today, min_days, false) == RewardContact::Tell(Channel::Sms);
            let opted_out = by_sms && self.sms_opted_out(messenger, &record).await?;
            // The referrer texted STOP: their withdrawal is recorded, then looked at again.
            if opted_out && self.note_sms_opt_out(&record, now).await? {
                return Ok(Attempt::Lost);
            }
            let channel = match reward_contact(&record, today, min_days, opted_out) {
                RewardContact::Unreachable => {
                    let unreachable = settled(RewardStatus::Unreachable);
                    return self.end_reward(unreachable, RewardStatus::Pending, RewardEnd::Unreachable).await;
                }
                RewardContact::NotBefore(date) => {
                    let later = ReferralReward { due_on: date, ..reward.clone() };
                    return self.end_reward(later, RewardStatus::Pending, RewardEnd::Postponed(date)).await;
                }
                RewardContact::Tell(channel) => channel,
            };
            let start = cfg.send_window(channel).next_start(now, cfg.timezone);
            if start > now {
                return Ok(Attempt::Done(Look::Ended(RewardEnd::Deferred(start))));
            }
            let (sending, referrer) = self.claim_reward(&reward, record, channel, today, now)?;
            let record = referrer.record.clone();
            let commit = RewardCommit { reward: sending.clone(), referrer: Some(referrer) };
            match store.commit_reward(&commit, RewardStatus::Pending).await {
                Ok(()) => Ok(Attempt::Done(Look::Claimed(sending, channel, record))),
                // Someone else settled it, or the referrer's record moved: look again.
                Err(StoreError::Conflict) => Ok(Attempt::Lost),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
        match look {
            Look::Ended(end) => Ok(end),
            Look::Claimed(sending, channel, record) => {
                self.send_claimed_reward(messenger, sending, channel, &record, now).await
            }
        }
    }

    /// The claim: the reward `sending` by this process on `channel`, and the referrer's record
    /// with its points credited and the governor's date reserved (written together).
    fn claim_reward(
        &self,
        reward: &ReferralReward,
        mut record: CustomerRecord,
        channel: Channel,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(ReferralReward, RecordCommit), Error> {
        let expected_version = record.version;
        let (entries, expires_on) = credit_reward(&self.config().referral, &mut record, reward, today)?;
        record.version = expected_version + 1;
        let sending = ReferralReward {
            status: RewardStatus::Sending,
            settled_at: Some(now),
            expires_on: Some(expires_on),
            channel: Some(channel),
            claim: Some(Claim { owner: self.owner().to_owned(), at: now }),
            ..reward.clone()
        };
        Ok((sending, RecordCommit { record, expected_version, entries, recorded_at: now }))
    }

    /// Sends a claimed reward's message and records how it went.
    async fn send_claimed_reward(
        &self,
        messenger: &dyn Messenger,
        sending: ReferralReward,
        channel: Channel,
        record: &CustomerRecord,
        now: DateTime<Utc>,
    ) -> Result<RewardEnd, Error> {
        let points = sending.points;
        let secret = self.secret().await?;
        let key = MessageKey {
            kind: MessageKind::ReferralReward,
            customer_id: sending.referrer.clone(),
            episode: sending.friend.to_string(),
        };
        let today = self.today(now);
        let render = |url: &str| Some(render_reward(self.config(), record, &sending, channel, today, url));
        let Some(message) = self.outgoing(record, key, channel, now, secret, render) else {
            let failed = ReferralReward { status: RewardStatus::Failed, error: Some("no address on the channel".into()), ..sending };
            return self.record_reward_send(failed, RewardEnd::Failed(points)).await;
        };
        let (status, end, error) = match self.send_with_retries(messenger, &message).await {
            Ok(()) => (RewardStatus::Sent, RewardEnd::Sent(channel, points), None),
            Err(SendError::Unknown(e)) => (RewardStatus::Unknown, RewardEnd::Unknown, Some(e)),
            // Refused for good, or still refused after the retries: certainly not sent.
            Err(SendError::Rejected(e) | SendError::Retryable(e)) => (RewardStatus::Failed, RewardEnd::Failed(points), Some(e)),
        };
        let done = ReferralReward { status, error, sent_at: (status == RewardStatus::Sent).then_some(now), ..sending };
        self.record_reward_send(done, end).await
    }

    async fn record_reward_send(&self, done: ReferralReward, end: RewardEnd) -> Result<RewardEnd, Error> {
        self.store().commit_reward(&RewardCommit { reward: done, referrer: None }, RewardStatus::Sending).await?;
        Ok(end)
    }

    /// Moves a reward from `from` to `reward`'s state, with nothing credited: `end`, or
    /// `Skipped` when another process moved it first.
    async fn end_reward(&self, reward: ReferralReward, from: RewardStatus, end: RewardEnd) -> Result<Attempt<Look>, Error> {
        match self.store().commit_reward(&RewardCommit { reward, referrer: None }, from).await {
            Ok(()) => Ok(Attempt::Done(Look::Ended(end))),
            Err(StoreError::Conflict) => Ok(Attempt::Done(Look::Ended(RewardEnd::Skipped))),
            Err(e) => Err(e.into()),
        }
    }
}
