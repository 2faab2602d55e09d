//! The owner's daily detractor alert: when `survey.owner_alert_email` is set, the sweep sends
//! one email listing the previous day's answers of 0-6 (score, comment, store, receipt id; no
//! contacts). Not a marketing message: no governor, no consent, no waking hours. Its record,
//! keyed by the date and holding the email itself, is written by the sweep before the send and
//! claimed like any intent, so a rerun (or a second sweep, or the AWS sender it is handed to)
//! never sends the day's alert twice.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Delivery, SendMode, SweepReport};
use crate::app::{Boomerang, Error};
use crate::domain::ids::CustomerId;
use crate::domain::kinds::{Channel, MessageKind, SendStatus};
use crate::domain::survey::alert::{detractors_of, render_alert, OwnerAlert};
use crate::domain::survey::{Delivery as Progress};
use crate::domain::triggers::Claim;
use crate::ports::{MessageKey, Messenger, OutgoingMessage, SendError, StoreError};

/// The recipient id an alert's message key names: the shop's owner, not a customer.
pub const OWNER: &str = "owner";

impl Boomerang {
    /// Records the alert of `date`'s detractor answers (at most one per date), then sends it
    /// here (`Inline`) or leaves it to a sender (`Handoff`).
    pub(super) async fn alert_owner(
        &self,
        messenger: &dyn Messenger,
        date: NaiveDate,
        now: DateTime<Utc>,
        mode: SendMode,
        report: &mut SweepReport,
    ) -> Result<(), Error> {
        let (cfg, store) = (self.config(), self.store());
        if cfg.survey.owner_alert_email.is_none() {
            return Ok(());
        }
        let answered = store.surveys_answered_on(date).await?;
        let detractors = detractors_of(&answered, date);
        if detractors.is_empty() {
            return Ok(());
        }
        let fresh = OwnerAlert {
            date,
            answers: u32::try_from(detractors.len()).unwrap_or(u32::MAX),
            decided_at: now,
            delivery: Progress::pending(),
            message: Some(render_alert(&cfg.shop_name, date, &detractors)),
        };
        match store.put_owner_alert(&fresh, None).await {
            Ok(()) | Err(StoreError::Duplicate) => {}
            Err(e) => return Err(e.into()),
        }
        if mode == SendMode::Handoff {
            report.alerts_to_send.push(date);
            return Ok(());
        }
        if let Delivery::Sent(..) = self.deliver_owner_alert(messenger, date, now).await? {
            report.surveys.alerts_sent += 1;
        }
        Ok(())
    }

    /// Sends the owner's alert of `date` at most once: claimed (`pending → sending`), sent,
    /// then `sent`, `failed` or `unknown` (a claim found abandoned), its text dropped.
    pub async fn deliver_owner_alert(&self, messenger: &dyn Messenger, date: NaiveDate, now: DateTime<Utc>) -> Result<Delivery, Error> {
        let (cfg, store) = (self.config(), self.store());
        let Some(alert) = store.owner_alert(date).await? else { return Ok(Delivery::Skipped) };
        let moved = |status, alert: &OwnerAlert| OwnerAlert {
            delivery: Progress { status, ..alert.delivery.clone() },
            message: None,
            ..alert.clone()
        };
        match alert.delivery.status {
            SendStatus::Pending => {}
            SendStatus::Sending if Claim::abandoned(alert.delivery.claim.as_ref(), self.owner(), now) => {
                let unknown = moved(SendStatus::Unknown, &alert);
                ignore_lost(store.put_owner_alert(&unknown, Some(SendStatus::Sending)).await)?;
                return Ok(Delivery::Unknown);
            }
            _ => return Ok(Delivery::Skipped),
        }
        let (Some(to), Some((subject, text))) = (cfg.survey.owner_alert_email.clone(), alert.message.clone()) else {
            return Ok(Delivery::Skipped);
        };
        let mut sending = alert.clone();
        sending.delivery = Progress {
            status: SendStatus::Sending,
            channel: Some(Channel::Email),
            claim: Some(Claim { owner: self.owner().to_owned(), at: now }),
            ..alert.delivery.clone()
        };
        match store.put_owner_alert(&sending, Some(SendStatus::Pending)).await {
            Ok(()) => {}
            // Another sender claimed it.
            Err(StoreError::Conflict) => return Ok(Delivery::Skipped),
            Err(e) => return Err(e.into()),
        }
        let owner = CustomerId::parse(OWNER).expect("a valid id");
        let message = OutgoingMessage {
            key: MessageKey { kind: MessageKind::SurveyAlert, customer_id: owner, episode: date.to_string() },
            channel: Channel::Email,
            to,
            from_name: cfg.shop_name.clone(),
            subject: Some(subject),
            text,
            html: None,
            unsubscribe_url: None,
            created_at: now,
        };
        let mut settled = moved(SendStatus::Sent, &sending);
        let delivery = match self.send_with_retries(messenger, &message).await {
            Ok(()) => {
                settled.delivery.sent_at = Some(now);
                Delivery::Sent(Channel::Email, 0)
            }
            Err(SendError::Unknown(e)) => {
                (settled.delivery.status, settled.delivery.error) = (SendStatus::Unknown, Some(e));
                Delivery::Unknown
            }
            Err(SendError::Rejected(e) | SendError::Retryable(e)) => {
                (settled.delivery.status, settled.delivery.error) = (SendStatus::Failed, Some(e));
                Delivery::Failed(0)
            }
        };
        ignore_lost(store.put_owner_alert(&settled, Some(SendStatus::Sending)).await)?;
        Ok(delivery)
    }
}

/// Another process moved the alert first: nothing more to do.
fn ignore_lost(result: Result<(), StoreError>) -> Result<(), Error> {
    match result {
        Ok(()) | Err(StoreError::Conflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
