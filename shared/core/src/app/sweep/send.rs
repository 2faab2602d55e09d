//! The sweep's send step for the triggers' decisions: each sent at most once through the
//! one delivery protocol (`deliver`), after a second look, with its gift credited in the
//! write that claims the send.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::deliver::{tracked_by_fields, Intent, Look, SendRun, Settle, Stage, Tracked};
use super::{Delivery, SweepReport};
use crate::app::{Boomerang, Error};
use crate::domain::config::ProgramConfig;
use crate::domain::date::dates;
use crate::domain::customer::CustomerRecord;
use crate::domain::kinds::{Channel, TriggerKind};
use crate::domain::ledger::{add_days, LotKey};
use crate::domain::messages::{render_outcome, Rendered};
use crate::domain::triggers::{second_look, Claim, Outcome, OutcomeKey, OutcomeStatus, SecondLook};
use crate::ports::{MessageKey, Messenger, RecordCommit, StoreError};

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

impl Boomerang {
    /// Sends (or hands over) this run's decisions, carried here from the decide step, and
    /// the decisions of the last days still waiting (held back by the waking hours, or left
    /// by a run that failed); those were written by earlier runs, so the date index that
    /// lists them has long caught up. Only days whose decisions can still make sense are
    /// read. A claim found abandoned is recorded `unknown`.
    pub(super) async fn send_decided(&self, run: &mut SendRun<'_>, decided: Vec<Outcome>, since: NaiveDate) -> Result<(), Error> {
        let mine: BTreeSet<OutcomeKey> = decided.iter().map(|o| o.key.clone()).collect();
        let mut waiting: Vec<Outcome> = Vec::new();
        let today = self.today(run.now);
        for day in dates(since, today) {
            for outcome in self.store().outcomes_on(day).await? {
                if !mine.contains(&outcome.key) {
                    waiting.push(outcome);
                }
            }
        }
        let all = decided.into_iter().chain(waiting).collect();
        self.deliver_each(run, all).await
    }

    /// Sends one decided message at most once (the protocol of `deliver.rs`). The second look
    /// reads the customer again: expired, cancelled or suppressed decisions end there, nothing
    /// credited; the claim credits the gift.
    pub async fn deliver(&self, messenger: &dyn Messenger, key: &OutcomeKey, now: DateTime<Utc>) -> Result<Delivery, Error> {
        self.deliver_intent::<Outcome>(messenger, key, now).await
    }
}

tracked_by_fields!(Outcome, OutcomeStatus);

#[async_trait]
impl Intent for Outcome {
    type Key = OutcomeKey;

    async fn load(app: &Boomerang, key: &OutcomeKey) -> Result<Option<Self>, Error> {
        Ok(app.store().outcome(key).await?)
    }

    fn key(&self) -> &OutcomeKey {
        &self.key
    }

    async fn store_moved(&self, app: &Boomerang, from: Stage) -> Result<(), StoreError> {
        app.store().update_outcome(self, Self::status_at(from)).await
    }

    async fn look(&self, app: &Boomerang, messenger: &dyn Messenger, now: DateTime<Utc>) -> Result<Look<Self>, Error> {
        let record = app.store().customer(&self.key.customer_id).await?;
        let opted_out = match (&record, self.channel) {
            (Some(r), Some(Channel::Sms)) => app.sms_opted_out(messenger, r).await?,
            _ => false,
        };
        if let (true, Some(r)) = (opted_out, &record) {
            // The decision is ended as suppressed below, whatever the record says now.
            app.note_sms_opt_out(r, now).await?;
        }
        let ended = |status, delivery| Look::End(Outcome { status, ..self.clone() }, delivery);
        Ok(match second_look(app.config(), record.as_ref(), self, app.today(now), opted_out) {
            SecondLook::Send => match (record, self.channel) {
                (Some(record), Some(channel)) => Look::Send(record, channel),
                _ => Look::Leave(Delivery::Skipped),
            },
            SecondLook::Expired => ended(OutcomeStatus::Expired, Delivery::Expired),
            SecondLook::Cancelled => ended(OutcomeStatus::Cancelled, Delivery::Cancelled),
            SecondLook::Suppressed => ended(OutcomeStatus::Suppressed, Delivery::Suppressed),
        })
    }

    fn expired_by(&self, send_date: NaiveDate) -> Option<Self> {
        let too_late = self.valid_until.is_some_and(|until| send_date > until);
        too_late.then(|| Outcome { status: OutcomeStatus::Expired, ..self.clone() })
    }

    /// `sending` by this process, with its gift in the customer's record (a fresh lot dated
    /// from today, so the message names a real date).
    fn claimed(self, app: &Boomerang, mut record: CustomerRecord, _channel: Channel, claim: Claim) -> Result<(Self, RecordCommit), Error> {
        let now = claim.at;
        let today = app.today(now);
        let t = app.config().trigger(self.key.trigger);
        let mut sending = Outcome { status: OutcomeStatus::Sending, claim: Some(claim), ..self };
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

    async fn store_claim(&self, app: &Boomerang, record: &RecordCommit) -> Result<(), StoreError> {
        app.store().claim_outcome(self, record).await
    }

    fn credited(&self) -> u64 {
        if self.gift_expires_on.is_some() { self.gift_points } else { 0 }
    }

    fn message_key(&self) -> MessageKey {
        MessageKey::from(&self.key)
    }

    fn render(&self, app: &Boomerang, record: &CustomerRecord, _channel: Channel, now: DateTime<Utc>, url: &str) -> Option<Rendered> {
        render_outcome(app.config(), record, self, app.today(now), url)
    }

    fn tally(&self, report: &mut SweepReport, delivery: Option<Delivery>) {
        match delivery {
            Some(delivery) => report.count_delivery(self.key.trigger, delivery),
            None => report.to_send.push(self.key.clone()),
        }
    }
}
