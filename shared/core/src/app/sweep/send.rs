//! The sweep's send step: each decision sent at most once, after a second look, in the
//! channel's waking hours, its gift credited in the write that claims the send.

use std::collections::BTreeSet;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::{Delivery, SendMode, SweepReport};
use crate::app::retry::{read_decide_commit, Attempt};
use crate::app::{Boomerang, Error};
use crate::domain::auth;
use crate::domain::config::ProgramConfig;
use crate::domain::customer::CustomerRecord;
use crate::domain::kinds::{Channel, TriggerKind};
use crate::domain::ledger::{add_days, LotKey};
use crate::domain::messages::{render_outcome, Rendered};
use crate::domain::triggers::{second_look, Claim, Outcome, OutcomeKey, OutcomeStatus, SecondLook};
use crate::ports::{MessageKey, Messenger, OutgoingMessage, RecordCommit, SendError, StoreError};

/// Sends retried in-process when the provider says "not now" (throttled, 5xx).
const SEND_ATTEMPTS: u32 = 4;

/// Paces sends to at most `per_second`.
pub(super) struct Pace {
    interval: StdDuration,
    next: Option<tokio::time::Instant>,
}

impl Pace {
    pub(super) fn new(per_second: u32) -> Self {
        Self { interval: StdDuration::from_secs(1) / per_second.max(1), next: None }
    }
    pub(super) async fn wait(&mut self) {
        let now = tokio::time::Instant::now();
        let at = self.next.map_or(now, |n| n.max(now));
        tokio::time::sleep_until(at).await;
        self.next = Some(at + self.interval);
    }
}

/// How many days a decision may wait for its send and still make sense: its trigger's window
/// (a birthday greeting, until the day before the birthday).
pub(super) fn still_sensible_days(cfg: &ProgramConfig) -> i64 {
    TriggerKind::ALL
        .iter()
        .map(|kind| {
            let t = cfg.trigger(*kind);
            if *kind == TriggerKind::Birthday { t.days_before.unwrap_or(0) } else { t.window_days }
        })
        .max()
        .map_or(1, i64::from)
}

/// What the second look at a decision led to.
enum Look {
    /// Nothing to send (ended, deferred, or someone else's).
    Ended(Delivery),
    /// Claimed by this process: the decision in `sending` and the record with its gift.
    Claimed(Outcome, CustomerRecord),
}

impl Boomerang {
    /// Sends (or hands over) this run's decisions, carried here from the decide step, and
    /// the decisions of the last days still waiting (held back by the waking hours, or left
    /// by a run that failed); those were written by earlier runs, so the date index that
    /// lists them has long caught up. Only days whose decisions can still make sense are
    /// read. A claim found abandoned is recorded `unknown`.
    pub(super) async fn send_decided(
        &self,
        messenger: &dyn Messenger,
        decided: Vec<Outcome>,
        since: NaiveDate,
        now: DateTime<Utc>,
        mode: SendMode,
        pace: &mut Pace,
        report: &mut SweepReport,
    ) -> Result<(), Error> {
        let mine: BTreeSet<OutcomeKey> = decided.iter().map(|o| o.key.clone()).collect();
        let mut waiting: Vec<Outcome> = Vec::new();
        let today = self.today(now);
        let mut day = since;
        while day <= today {
            for outcome in self.store().outcomes_on(day).await? {
                if !outcome.status.is_final() && !mine.contains(&outcome.key) {
                    waiting.push(outcome);
                }
            }
            day += Duration::days(1);
        }
        for outcome in decided.into_iter().chain(waiting) {
            let key = outcome.key;
            if mode == SendMode::Handoff && outcome.status == OutcomeStatus::Pending {
                report.to_send.push(key);
                continue;
            }
            if outcome.status == OutcomeStatus::Pending {
                pace.wait().await;
            }
            let delivery = self.deliver(messenger, &key, now).await?;
            report.count_delivery(key.trigger, delivery);
        }
        Ok(())
    }

    /// Sends one decided message at most once. The second look reads the customer again
    /// (expired, cancelled or suppressed decisions end there, nothing credited); outside the
    /// channel's waking hours it waits (`Deferred`). Then one conditional write moves the
    /// decision `pending → sending`, names this process as its sender and credits the gift,
    /// only while the record is as read; then the send; then `sent`/`failed`/`unknown`.
    /// A decision found `sending` by a sender that is gone (its lease ran out, or it was this
    /// process) ends `unknown` and is never sent again; one in flight elsewhere is left alone.
    pub async fn deliver(&self, messenger: &dyn Messenger, key: &OutcomeKey, now: DateTime<Utc>) -> Result<Delivery, Error> {
        let store = self.store();
        let cfg = self.config();
        let today = self.today(now);
        let look = read_decide_commit(self.backoff(), || async move {
            let skipped = Ok(Attempt::Done(Look::Ended(Delivery::Skipped)));
            let Some(outcome) = store.outcome(key).await? else { return skipped };
            match outcome.status {
                OutcomeStatus::Sending => {
                    if !Claim::abandoned(outcome.claim.as_ref(), self.owner(), now) {
                        return skipped;
                    }
                    let unknown = Outcome { status: OutcomeStatus::Unknown, ..outcome };
                    return Ok(Attempt::Done(Look::Ended(self.finish(unknown, OutcomeStatus::Sending, Delivery::Unknown).await?)));
                }
                OutcomeStatus::Pending => {}
                _ => return skipped,
            }
            let record = store.customer(&key.customer_id).await?;
            let opted_out = match (&record, outcome.channel) {
                (Some(r), Some(Channel::Sms)) => self.sms_opted_out(messenger, r).await?,
                _ => false,
            };
            if let (true, Some(r)) = (opted_out, &record) {
                // The decision is ended as suppressed below, whatever the record says now.
                self.note_sms_opt_out(r, now).await?;
            }
            let (status, delivery) = match second_look(cfg, record.as_ref(), &outcome, today, opted_out) {
                SecondLook::Send => (None, None),
                SecondLook::Expired => (Some(OutcomeStatus::Expired), Some(Delivery::Expired)),
                SecondLook::Cancelled => (Some(OutcomeStatus::Cancelled), Some(Delivery::Cancelled)),
                SecondLook::Suppressed => (Some(OutcomeStatus::Suppressed), Some(Delivery::Suppressed)),
            };
            if let (Some(status), Some(delivery)) = (status, delivery) {
                let ended = Outcome { status, ..outcome };
                return Ok(Attempt::Done(Look::Ended(self.finish(ended, OutcomeStatus::Pending, delivery).await?)));
            }
            let (Some(record), Some(channel)) = (record, outcome.channel) else { return skipped };
            let start = cfg.send_window(channel).next_start(now, cfg.timezone);
            if start > now {
                if outcome.valid_until.is_some_and(|until| cfg.local_date(start) > until) {
                    let ended = Outcome { status: OutcomeStatus::Expired, ..outcome };
                    let delivery = self.finish(ended, OutcomeStatus::Pending, Delivery::Expired).await?;
                    return Ok(Attempt::Done(Look::Ended(delivery)));
                }
                return Ok(Attempt::Done(Look::Ended(Delivery::Deferred(start))));
            }
            let (sending, commit) = self.claim(outcome, record, today, now)?;
            match store.claim_outcome(&sending, &commit).await {
                Ok(()) => Ok(Attempt::Done(Look::Claimed(sending, commit.record))),
                // Someone else claimed it, or the customer's record moved: look again.
                Err(StoreError::Conflict) => Ok(Attempt::Lost),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
        match look {
            Look::Ended(delivery) => Ok(delivery),
            Look::Claimed(sending, record) => self.send_claimed(messenger, sending, &record, now).await,
        }
    }

    /// The claim of a pending decision: `sending` by this process, with its gift in the
    /// customer's record (a fresh lot dated from today, so the message names a real date).
    fn claim(
        &self,
        outcome: Outcome,
        mut record: CustomerRecord,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, RecordCommit), Error> {
        let t = self.config().trigger(outcome.key.trigger);
        let mut sending = Outcome {
            status: OutcomeStatus::Sending,
            claim: Some(Claim { owner: self.owner().to_owned(), at: now }),
            ..outcome
        };
        let expected_version = record.version;
        let mut entries = Vec::new();
        if sending.gift_points > 0 {
            record.account.check_credit(sending.gift_points)?;
            let expires_on = add_days(today, t.gift_valid_days);
            sending.gift_expires_on = Some(expires_on);
            let lot = LotKey::gift(expires_on, sending.key.trigger);
            entries = record.account.gift(lot, sending.gift_points, &sending.key.reference());
        }
        record.version = expected_version + 1;
        Ok((sending, RecordCommit { record, expected_version, entries, recorded_at: now }))
    }

    /// Sends a claimed decision and records how it went.
    async fn send_claimed(
        &self,
        messenger: &dyn Messenger,
        sending: Outcome,
        record: &CustomerRecord,
        now: DateTime<Utc>,
    ) -> Result<Delivery, Error> {
        let gift = if sending.gift_expires_on.is_some() { sending.gift_points } else { 0 };
        let secret = self.secret().await?;
        let Some(message) = self.message_for(record, &sending, now, secret) else {
            // The second look found the channel usable on this very record: not reached.
            let failed = Outcome { status: OutcomeStatus::Failed, error: Some("no address on the channel".into()), ..sending };
            return self.finish(failed, OutcomeStatus::Sending, Delivery::Failed(gift)).await;
        };
        let result = self.send_with_retries(messenger, &message).await;
        let (status, delivery, error) = match result {
            Ok(()) => (OutcomeStatus::Sent, Delivery::Sent(message.channel, gift), None),
            Err(SendError::Rejected(e)) => (OutcomeStatus::Failed, Delivery::Failed(gift), Some(e)),
            Err(SendError::Unknown(e)) => (OutcomeStatus::Unknown, Delivery::Unknown, Some(e)),
            // Still refused after the retries: recorded as failed (certainly not sent).
            Err(SendError::Retryable(e)) => (OutcomeStatus::Failed, Delivery::Failed(gift), Some(e)),
        };
        let done = Outcome { status, error, sent_at: (status == OutcomeStatus::Sent).then_some(now), ..sending };
        self.store().update_outcome(&done, OutcomeStatus::Sending).await?;
        Ok(delivery)
    }

    /// Moves a decision from `from` to `outcome`'s status: `delivery`, or `Skipped` when
    /// another process moved it first.
    async fn finish(&self, outcome: Outcome, from: OutcomeStatus, delivery: Delivery) -> Result<Delivery, Error> {
        match self.store().update_outcome(&outcome, from).await {
            Ok(()) => Ok(delivery),
            Err(StoreError::Conflict) => Ok(Delivery::Skipped),
            Err(e) => Err(e.into()),
        }
    }

    /// The message of a claimed decision, rendered now from the record as it is (its points,
    /// balance and dates are today's); `None` when the record has no address on the channel.
    fn message_for(
        &self,
        record: &CustomerRecord,
        outcome: &Outcome,
        now: DateTime<Utc>,
        secret: &[u8],
    ) -> Option<OutgoingMessage> {
        let channel = outcome.channel?;
        let key = MessageKey::from(&outcome.key);
        let today = self.today(now);
        self.outgoing(record, key, channel, now, secret, |url| render_outcome(self.config(), record, outcome, today, url))
    }

    /// A message to `record` on `channel`, rendered by `render` with the unsubscribe link (empty
    /// for SMS); `None` when the record has no address on the channel.
    pub(super) fn outgoing(
        &self,
        record: &CustomerRecord,
        key: MessageKey,
        channel: Channel,
        now: DateTime<Utc>,
        secret: &[u8],
        render: impl FnOnce(&str) -> Option<Rendered>,
    ) -> Option<OutgoingMessage> {
        let cfg = self.config();
        let c = &record.customer;
        let to = match channel {
            Channel::Email => c.email.as_ref()?.as_str(),
            Channel::Sms => c.phone.as_ref()?.as_str(),
        }
        .to_owned();
        let unsubscribe_url = (channel == Channel::Email).then(|| {
            let token = auth::unsubscribe_token(secret, &c.customer_id);
            format!("{}/v1/unsubscribe?token={token}", cfg.messaging.unsubscribe_base_url.trim_end_matches('/'))
        });
        let rendered = render(unsubscribe_url.as_deref().unwrap_or(""))?;
        Some(OutgoingMessage {
            key,
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

    /// Sends `message`, trying again in-process while the provider says "not now".
    pub(super) async fn send_with_retries(
        &self,
        messenger: &dyn Messenger,
        message: &OutgoingMessage,
    ) -> Result<(), SendError> {
        let mut attempt = 0;
        loop {
            match messenger.send(message).await {
                Err(SendError::Retryable(_)) if attempt + 1 < SEND_ATTEMPTS => {
                    attempt += 1;
                    // Longer waits than a lost race: the provider asked us to slow down.
                    self.backoff().wait(attempt + 3).await;
                }
                other => break other,
            }
        }
    }
}
