//! The daily sweep as a use case: burn what expired, decide every due trigger once per
//! episode (gift and outcome in one atomic write), then send what was decided at most once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::app::{Boomerang, Error};
use crate::app::retry::{committed, read_decide_commit, Attempt};
use crate::domain::auth;
use crate::domain::customer::CustomerRecord;
use crate::domain::ids::CustomerId;
use crate::domain::kinds::{Channel, TriggerKind};
use crate::domain::ledger::LotKey;
use crate::domain::messages::render_outcome;
use crate::domain::triggers::{
    birthdays_falling_on, decide, due_triggers, lapse_last_purchase, target_date, Outcome, OutcomeKey, OutcomeStatus,
};
use crate::ports::{BurnCommit, GiftCommit, Messenger, OutgoingMessage, SendError, StoreError};

/// How many days back a run catches up on missed sweeps (the date itself included).
pub const CATCH_UP_DAYS: i64 = 7;
/// Sends retried in-process when the provider says "not now" (throttled, 5xx).
const SEND_ATTEMPTS: u32 = 4;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TriggerCounts {
    pub eligible: u64,
    pub holdout: u64,
    pub sent_email: u64,
    pub sent_sms: u64,
    pub unreachable: u64,
    pub failed: u64,
    pub unknown: u64,
    pub points_credited: u64,
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
    /// The dates this run swept (catch-up included), oldest first; empty when already done.
    pub dates: Vec<NaiveDate>,
    pub triggers: BTreeMap<TriggerKind, TriggerCounts>,
    pub points_burned: u64,
    pub audience: Vec<AudienceLine>,
    /// Decisions left for a sender to send (`SendMode::Handoff`).
    pub to_send: Vec<OutcomeKey>,
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

/// What a send did to an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent(Channel),
    Failed,
    Unknown,
    /// Someone else has it, or it is already final.
    Skipped,
}

/// Paces sends to at most `per_second`.
struct Pace {
    interval: StdDuration,
    next: Option<tokio::time::Instant>,
}

impl Pace {
    fn new(per_second: u32) -> Self {
        Self { interval: StdDuration::from_secs(1) / per_second.max(1), next: None }
    }
    async fn wait(&mut self) {
        let now = tokio::time::Instant::now();
        let at = self.next.map_or(now, |n| n.max(now));
        tokio::time::sleep_until(at).await;
        self.next = Some(at + self.interval);
    }
}

impl Boomerang {
    /// Sweeps `date` and every missed date before it (at most a week back), each as of its
    /// own date. A date already completed is not swept again.
    pub async fn sweep(
        &self,
        messenger: &dyn Messenger,
        date: NaiveDate,
        now: DateTime<Utc>,
        options: SweepOptions,
    ) -> Result<SweepReport, Error> {
        let store = self.store();
        let last = store.last_completed_sweep().await?;
        let earliest = date - Duration::days(CATCH_UP_DAYS - 1);
        let first = match last {
            Some(last) if last >= date => return Ok(SweepReport::default()),
            Some(last) => (last + Duration::days(1)).max(earliest),
            None => date,
        };
        let mut report = SweepReport::default();
        for kind in TriggerKind::ALL {
            report.triggers.insert(kind, TriggerCounts::default());
        }
        let mut pace = Pace::new(self.config().messaging.max_sends_per_second);
        let mut day = first;
        while day <= date {
            report.dates.push(day);
            if !options.dry_run {
                report.points_burned += self.burn(day, now).await?;
            }
            self.decide_day(messenger, day, now, &options, &mut report).await?;
            if !options.dry_run {
                match options.send {
                    SendMode::Inline => self.send_day(messenger, day, now, &mut pace, &mut report).await?,
                    SendMode::Handoff => {
                        for outcome in store.outcomes_on(day).await? {
                            if !outcome.status.is_final() {
                                report.to_send.push(outcome.key);
                            }
                        }
                    }
                }
                store.complete_sweep(day).await?;
            }
            day += Duration::days(1);
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

    /// Everyone a trigger may apply to on `day`, read through the indexes.
    async fn candidates(&self, day: NaiveDate) -> Result<BTreeSet<CustomerId>, Error> {
        let store = self.store();
        let cfg = self.config();
        let mut ids = BTreeSet::new();
        for kind in [TriggerKind::Lapsed30, TriggerKind::Lapsed60, TriggerKind::Lapsed90] {
            if let (true, Some(last)) = (cfg.trigger(kind).enabled, lapse_last_purchase(cfg, kind, day)) {
                ids.extend(store.customers_last_bought_on(last).await?);
            }
        }
        if let (true, Some(target)) =
            (cfg.trigger(TriggerKind::Birthday).enabled, target_date(cfg, TriggerKind::Birthday, day))
        {
            for (month, dom) in birthdays_falling_on(target) {
                ids.extend(store.customers_born_on(month, dom).await?);
            }
        }
        if let (true, Some(target)) =
            (cfg.trigger(TriggerKind::PointsExpiring).enabled, target_date(cfg, TriggerKind::PointsExpiring, day))
        {
            ids.extend(store.customers_with_lots_expiring_on(target).await?);
        }
        Ok(ids)
    }

    async fn decide_day(
        &self,
        messenger: &dyn Messenger,
        day: NaiveDate,
        now: DateTime<Utc>,
        options: &SweepOptions,
        report: &mut SweepReport,
    ) -> Result<(), Error> {
        let store = self.store();
        for id in self.candidates(day).await? {
            let Some(record) = store.customer(&id).await? else { continue };
            for due in due_triggers(self.config(), &record, day) {
                let key = OutcomeKey { customer_id: id.clone(), trigger: due.trigger, episode: due.episode };
                if store.outcome(&key).await?.is_some() {
                    continue; // decided by an earlier run: once per episode
                }
                let opted_out = self.sms_opted_out(messenger, &record).await?;
                let outcome = decide(self.config(), &record, due, day, now, opted_out);
                let recorded = if options.dry_run { Some(outcome) } else { self.record(outcome).await? };
                let Some(outcome) = recorded else { continue };
                let counts = report.triggers.entry(due.trigger).or_default();
                counts.eligible += 1;
                match outcome.status {
                    OutcomeStatus::Holdout => counts.holdout += 1,
                    OutcomeStatus::Unreachable => counts.unreachable += 1,
                    _ => counts.points_credited += outcome.gift_points,
                }
                if options.dry_run {
                    match outcome.channel {
                        Some(Channel::Email) => counts.sent_email += 1,
                        Some(Channel::Sms) => counts.sent_sms += 1,
                        None => {}
                    }
                }
                report.audience.push(AudienceLine {
                    date: day,
                    customer_id: id.to_string(),
                    trigger: due.trigger,
                    episode: due.episode.to_string(),
                    status: outcome.status,
                    channel: outcome.channel,
                    gift_points: outcome.gift_points,
                });
            }
        }
        Ok(())
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

    /// Records a decision with its gift, exactly once. `None` when another run recorded it.
    async fn record(&self, outcome: Outcome) -> Result<Option<Outcome>, Error> {
        let outcome = &outcome;
        read_decide_commit(self.backoff(), || async move {
            let gift = match (outcome.gift_points, outcome.gift_expires_on) {
                (points, Some(expires_on)) if points > 0 => {
                    let Some(mut record) = self.store().customer(&outcome.key.customer_id).await? else {
                        return Ok(Attempt::Done(None));
                    };
                    let expected_version = record.version;
                    let lot = LotKey::gift(expires_on, outcome.key.trigger);
                    let entries = record.account.gift(lot, points, &outcome.key.reference());
                    record.version += 1;
                    Some(GiftCommit { record, expected_version, entries })
                }
                _ => None,
            };
            match self.store().record_outcome(&outcome, gift.as_ref()).await {
                // Another run recorded this episode first.
                Err(StoreError::Duplicate) => Ok(Attempt::Done(None)),
                result => committed(result, || Some(outcome.clone())),
            }
        })
        .await
    }

    async fn send_day(
        &self,
        messenger: &dyn Messenger,
        day: NaiveDate,
        now: DateTime<Utc>,
        pace: &mut Pace,
        report: &mut SweepReport,
    ) -> Result<(), Error> {
        for outcome in self.store().outcomes_on(day).await? {
            if outcome.status.is_final() {
                continue;
            }
            pace.wait().await;
            let delivery = self.deliver(messenger, &outcome.key, now).await?;
            let counts = report.triggers.entry(outcome.key.trigger).or_default();
            match delivery {
                Delivery::Sent(Channel::Email) => counts.sent_email += 1,
                Delivery::Sent(Channel::Sms) => counts.sent_sms += 1,
                Delivery::Failed => counts.failed += 1,
                Delivery::Unknown => counts.unknown += 1,
                Delivery::Skipped => {}
            }
        }
        Ok(())
    }

    /// Sends one decided message at most once: pending → sending (a conditional write that
    /// only one sender can win) → send → sent/failed. A decision found in `sending` was cut
    /// off mid-send: its outcome is unknown and it is never sent again.
    pub async fn deliver(&self, messenger: &dyn Messenger, key: &OutcomeKey, now: DateTime<Utc>) -> Result<Delivery, Error> {
        let store = self.store();
        let Some(outcome) = store.outcome(key).await? else { return Ok(Delivery::Skipped) };
        match outcome.status {
            OutcomeStatus::Sending => {
                let unknown = Outcome { status: OutcomeStatus::Unknown, ..outcome };
                return Ok(match store.update_outcome(&unknown, OutcomeStatus::Sending).await {
                    Ok(()) => Delivery::Unknown,
                    Err(StoreError::Conflict) => Delivery::Skipped,
                    Err(e) => return Err(e.into()),
                });
            }
            OutcomeStatus::Pending => {}
            _ => return Ok(Delivery::Skipped),
        }
        let record = store.customer(&key.customer_id).await?;
        let secret = self.secret().await?;
        let message = match record.as_ref().and_then(|r| self.message_for(r, &outcome, now, secret)) {
            Some(message) => message,
            None => {
                // Erased, unsubscribed or suppressed since the decision: never sent.
                let failed = Outcome {
                    status: OutcomeStatus::Failed,
                    error: Some("the channel was withdrawn before sending".into()),
                    ..outcome
                };
                return self.finish(failed, Delivery::Failed).await;
            }
        };
        let sending = Outcome { status: OutcomeStatus::Sending, ..outcome.clone() };
        match store.update_outcome(&sending, OutcomeStatus::Pending).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Ok(Delivery::Skipped),
            Err(e) => return Err(e.into()),
        }
        let mut attempt = 0;
        let result = loop {
            match messenger.send(&message).await {
                Err(SendError::Retryable(_)) if attempt + 1 < SEND_ATTEMPTS => {
                    attempt += 1;
                    // Longer waits than a lost race: the provider asked us to slow down.
                    self.backoff().wait(attempt + 3).await;
                }
                other => break other,
            }
        };
        let (status, delivery, error) = match result {
            Ok(()) => (OutcomeStatus::Sent, Delivery::Sent(message.channel), None),
            Err(SendError::Rejected(e)) => (OutcomeStatus::Failed, Delivery::Failed, Some(e)),
            Err(SendError::Unknown(e)) => (OutcomeStatus::Unknown, Delivery::Unknown, Some(e)),
            // Still refused after the retries: recorded as failed (certainly not sent).
            Err(SendError::Retryable(e)) => (OutcomeStatus::Failed, Delivery::Failed, Some(e)),
        };
        let done = Outcome { status, error, sent_at: (status == OutcomeStatus::Sent).then_some(now), ..sending };
        match store.update_outcome(&done, OutcomeStatus::Sending).await {
            Ok(()) => Ok(delivery),
            Err(e) => Err(e.into()),
        }
    }

    async fn finish(&self, outcome: Outcome, delivery: Delivery) -> Result<Delivery, Error> {
        match self.store().update_outcome(&outcome, OutcomeStatus::Pending).await {
            Ok(()) => Ok(delivery),
            Err(StoreError::Conflict) => Ok(Delivery::Skipped),
            Err(e) => Err(e.into()),
        }
    }

    /// The message of a decision, if its channel is still usable now.
    fn message_for(
        &self,
        record: &CustomerRecord,
        outcome: &Outcome,
        now: DateTime<Utc>,
        secret: &[u8],
    ) -> Option<OutgoingMessage> {
        let cfg = self.config();
        let channel = outcome.channel?;
        let c = &record.customer;
        let to = match channel {
            _ if c.is_erased() => return None,
            Channel::Email if c.consent.email && c.email_undeliverable_at.is_none() => c.email.as_ref()?.as_str(),
            Channel::Sms if c.consent.sms => c.phone.as_ref()?.as_str(),
            _ => return None,
        }
        .to_owned();
        let unsubscribe_url = (channel == Channel::Email).then(|| {
            let token = auth::unsubscribe_token(secret, &c.customer_id);
            format!("{}/v1/unsubscribe?token={token}", cfg.messaging.unsubscribe_base_url.trim_end_matches('/'))
        });
        let rendered =
            render_outcome(cfg, record, outcome, self.today(now), unsubscribe_url.as_deref().unwrap_or(""))?;
        Some(OutgoingMessage {
            key: outcome.key.clone(),
            channel,
            to,
            from_name: cfg.shop_name.clone(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            unsubscribe_url,
            created_at: now,
        })
    }
}
