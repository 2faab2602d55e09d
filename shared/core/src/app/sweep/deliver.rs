//! One protocol for every message the sweep sends on its own: a trigger's decision, a
//! referrer's reward, and whatever comes next. The message's own record is the durable intent,
//! written before anything is sent. Delivering it:
//!
//! 1. reads the intent; one found `sending` by a sender that is gone (its lease ran out, or it
//!    was this process) ends `unknown` and is never sent again; one in flight elsewhere, or
//!    already settled, is left alone;
//! 2. takes the intent's own look (the contact rules, its reason still there...), which may
//!    end it, leave it for later, or name the record and channel to send to;
//! 3. waits for the channel's waking hours (an intent whose date would pass meanwhile expires);
//! 4. claims it: one conditional write moves it `pending → sending`, names this process as its
//!    sender and writes the customer record (a gift credited, the governor's date reserved),
//!    only while the record is as read; a lost race looks again;
//! 5. sends, retrying in-process while the provider says "not now";
//! 6. records `sent`, `failed` or `unknown`.
//!
//! A gift is therefore credited exactly once and only with its message, and a message is sent
//! at most once.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::{Delivery, SendMode, SweepReport};
use crate::app::retry::{read_decide_commit, Attempt};
use crate::app::{Boomerang, Error};
use crate::domain::auth;
use crate::domain::customer::CustomerRecord;
use crate::domain::kinds::Channel;
use crate::domain::messages::Rendered;
use crate::domain::triggers::Claim;
use crate::ports::{MessageKey, Messenger, OutgoingMessage, RecordCommit, SendError, StoreError};

/// Sends retried in-process when the provider says "not now" (throttled, 5xx).
const SEND_ATTEMPTS: u32 = 4;

/// Where an intent stands in the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Written, not yet claimed.
    Pending,
    /// Claimed by a sender (maybe gone).
    Sending,
    /// Nothing more to do with it.
    Settled,
}

/// The ends the protocol itself records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Settle {
    /// Cut off mid-send (maybe sent): never sent again.
    Unknown(Option<String>),
    /// Certainly not sent, for this reason.
    Failed(String),
    Sent,
}

/// What an intent's own look before the claim decided.
pub(crate) enum Look<I> {
    /// It ends without a message: `I` as it should be stored (moved from `pending`), and what
    /// that means for the caller.
    End(I, Delivery),
    /// Nothing to do now (not due, already handled): nothing written.
    Leave(Delivery),
    /// Something moved under the look (a withdrawal was just recorded): look again.
    Again,
    /// To be sent on this channel to this record.
    Send(CustomerRecord, Channel),
}

/// The protocol's own bookkeeping in a message's record: where it stands, who claimed it, and
/// how it ended.
pub(crate) trait Tracked: Sized {
    type Status;
    fn stage(&self) -> Stage;
    fn claim(&self) -> Option<&Claim>;
    /// The record moved to one of the protocol's own ends, at `now`.
    fn settled(self, end: Settle, now: DateTime<Utc>) -> Self;
    /// The status a record stored at `stage` has.
    fn status_at(stage: Stage) -> Self::Status;
}

/// `Tracked` for a record that keeps the protocol's fields itself (`status`, `claim`, `error`,
/// `sent_at`), its status enum having the protocol's `Pending`, `Sending`, `Sent`, `Failed` and
/// `Unknown` among its own.
macro_rules! tracked_by_fields {
    ($record:ty, $status:ident) => {
        impl $crate::app::sweep::deliver::Tracked for $record {
            type Status = $status;

            fn stage(&self) -> Stage {
                match self.status {
                    $status::Pending => Stage::Pending,
                    $status::Sending => Stage::Sending,
                    _ => Stage::Settled,
                }
            }

            fn claim(&self) -> Option<&Claim> {
                self.claim.as_ref()
            }

            fn settled(self, end: Settle, now: DateTime<Utc>) -> Self {
                match end {
                    Settle::Unknown(error) => Self { status: $status::Unknown, error: error.or(self.error.clone()), ..self },
                    Settle::Failed(error) => Self { status: $status::Failed, error: Some(error), ..self },
                    Settle::Sent => Self { status: $status::Sent, error: None, sent_at: Some(now), ..self },
                }
            }

            fn status_at(stage: Stage) -> $status {
                if stage == Stage::Sending { $status::Sending } else { $status::Pending }
            }
        }
    };
}
pub(super) use tracked_by_fields;

/// A message recorded before it is sent: what the protocol needs to know of it.
#[async_trait]
pub(crate) trait Intent: Tracked + Clone + Send + Sync {
    type Key: Sync + ?Sized;

    async fn load(app: &Boomerang, key: &Self::Key) -> Result<Option<Self>, Error>;
    /// Stores the intent only if the stored one is still at `from` (`Conflict` otherwise).
    async fn store_moved(&self, app: &Boomerang, from: Stage) -> Result<(), StoreError>;
    /// The intent's own rules before the claim.
    async fn look(&self, app: &Boomerang, messenger: &dyn Messenger, now: DateTime<Utc>) -> Result<Look<Self>, Error>;
    /// The intent ended `expired` if its message, sent on `send_date` (after the waking hours
    /// it waits for), would come too late; `None` when it can wait.
    fn expired_by(&self, send_date: NaiveDate) -> Option<Self>;
    fn key(&self) -> &Self::Key;
    /// The claim: the intent `sending` by `claim` on `channel`, and the record to write with it.
    fn claimed(self, app: &Boomerang, record: CustomerRecord, channel: Channel, claim: Claim) -> Result<(Self, RecordCommit), Error>;
    /// Writes the claim (`Conflict` if the intent or the record moved; nothing written then).
    async fn store_claim(&self, app: &Boomerang, record: &RecordCommit) -> Result<(), StoreError>;
    /// Points credited with the claim (what a sent or failed message carried).
    fn credited(&self) -> u64;
    fn message_key(&self) -> MessageKey;
    /// The message, rendered now from the record as it is, with the unsubscribe link given
    /// (empty for SMS).
    fn render(&self, app: &Boomerang, record: &CustomerRecord, channel: Channel, now: DateTime<Utc>, unsubscribe_url: &str) -> Option<Rendered>;
    /// Counts how it went in the sweep's report: `None` when it was handed to a sender.
    fn tally(&self, report: &mut SweepReport, delivery: Option<Delivery>);
}

/// The sweep's send step: the messenger, its time, whether it sends or hands over, its pace
/// and the report it tells.
pub(super) struct SendRun<'a> {
    pub messenger: &'a dyn Messenger,
    pub now: DateTime<Utc>,
    pub mode: SendMode,
    pub pace: Pace,
    pub report: &'a mut SweepReport,
}

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

/// What the protocol's steps before the send led to.
enum Before<I> {
    Ended(Delivery),
    Claimed(I, Channel, CustomerRecord),
}

impl Boomerang {
    /// Sends (or, in `Handoff` mode, hands over to a sender) each intent still waiting, paced,
    /// and tells the report how each went.
    pub(super) async fn deliver_each<I: Intent>(&self, run: &mut SendRun<'_>, intents: Vec<I>) -> Result<(), Error> {
        for intent in intents {
            let stage = intent.stage();
            if stage == Stage::Settled {
                continue;
            }
            if run.mode == SendMode::Handoff && stage == Stage::Pending {
                intent.tally(run.report, None);
                continue;
            }
            if stage == Stage::Pending {
                run.pace.wait().await;
            }
            let delivery = self.deliver_intent::<I>(run.messenger, intent.key(), run.now).await?;
            intent.tally(run.report, Some(delivery));
        }
        Ok(())
    }

    /// Delivers the intent at `key` at most once (the protocol above).
    pub(crate) async fn deliver_intent<I: Intent>(
        &self,
        messenger: &dyn Messenger,
        key: &I::Key,
        now: DateTime<Utc>,
    ) -> Result<Delivery, Error> {
        let cfg = self.config();
        let before = read_decide_commit(self.backoff(), || async move {
            let skipped = Ok(Attempt::Done(Before::Ended(Delivery::Skipped)));
            let Some(intent) = I::load(self, key).await? else { return skipped };
            match intent.stage() {
                Stage::Sending if Claim::abandoned(intent.claim(), self.owner(), now) => {
                    let unknown = intent.settled(Settle::Unknown(None), now);
                    return self.move_intent(unknown, Stage::Sending, Delivery::Unknown).await;
                }
                Stage::Pending => {}
                _ => return skipped,
            }
            let (record, channel) = match intent.look(self, messenger, now).await? {
                Look::End(ended, delivery) => return self.move_intent(ended, Stage::Pending, delivery).await,
                Look::Leave(delivery) => return Ok(Attempt::Done(Before::Ended(delivery))),
                Look::Again => return Ok(Attempt::Lost),
                Look::Send(record, channel) => (record, channel),
            };
            let start = cfg.send_window(channel).next_start(now, cfg.timezone);
            if start > now {
                if let Some(expired) = intent.expired_by(cfg.local_date(start)) {
                    return self.move_intent(expired, Stage::Pending, Delivery::Expired).await;
                }
                return Ok(Attempt::Done(Before::Ended(Delivery::Deferred(start))));
            }
            let claim = Claim { owner: self.owner().to_owned(), at: now };
            let (sending, commit) = intent.claimed(self, record, channel, claim)?;
            match sending.store_claim(self, &commit).await {
                Ok(()) => Ok(Attempt::Done(Before::Claimed(sending, channel, commit.record))),
                // Someone else claimed it, or the customer's record moved: look again.
                Err(StoreError::Conflict) => Ok(Attempt::Lost),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
        match before {
            Before::Ended(delivery) => Ok(delivery),
            Before::Claimed(sending, channel, record) => self.send_claimed(messenger, sending, channel, &record, now).await,
        }
    }

    /// Moves an intent from `from` without a message: `delivery`, or `Skipped` when another
    /// process moved it first.
    async fn move_intent<I: Intent>(&self, moved: I, from: Stage, delivery: Delivery) -> Result<Attempt<Before<I>>, Error> {
        match moved.store_moved(self, from).await {
            Ok(()) => Ok(Attempt::Done(Before::Ended(delivery))),
            Err(StoreError::Conflict) => Ok(Attempt::Done(Before::Ended(Delivery::Skipped))),
            Err(e) => Err(e.into()),
        }
    }

    /// Sends a claimed intent's message and records how it went.
    async fn send_claimed<I: Intent>(
        &self,
        messenger: &dyn Messenger,
        sending: I,
        channel: Channel,
        record: &CustomerRecord,
        now: DateTime<Utc>,
    ) -> Result<Delivery, Error> {
        let credited = sending.credited();
        let secret = self.secret().await?;
        let render = |url: &str| sending.render(self, record, channel, now, url);
        let (end, delivery) = match self.outgoing(record, sending.message_key(), channel, now, secret, render) {
            // The look found the channel usable on this very record: not reached.
            None => (Settle::Failed("no address on the channel".into()), Delivery::Failed(credited)),
            Some(message) => match self.send_with_retries(messenger, &message).await {
                Ok(()) => (Settle::Sent, Delivery::Sent(channel, credited)),
                Err(SendError::Unknown(e)) => (Settle::Unknown(Some(e)), Delivery::Unknown),
                // Refused for good, or still refused after the retries: certainly not sent.
                Err(SendError::Rejected(e) | SendError::Retryable(e)) => (Settle::Failed(e), Delivery::Failed(credited)),
            },
        };
        sending.settled(end, now).store_moved(self, Stage::Sending).await?;
        Ok(delivery)
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
