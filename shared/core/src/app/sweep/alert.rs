//! The owner's daily detractor alert: when `survey.owner_alert_email` is set, the sweep sends
//! one email listing the previous day's answers of 0-6 (score, comment, store, receipt id; no
//! contacts). Not a marketing message: no governor, no consent, no waking hours. Its record,
//! keyed by the date, is written before the send and claimed like any intent, so a rerun (or
//! a second sweep) never sends the day's alert twice.

use chrono::{DateTime, NaiveDate, Utc};

use super::SweepReport;
use crate::app::{Boomerang, Error};
use crate::domain::ids::CustomerId;
use crate::domain::kinds::{Channel, MessageKind};
use crate::domain::survey::alert::{detractors_of, render_alert, OwnerAlert};
use crate::domain::survey::{Delivery, SendStatus};
use crate::domain::triggers::Claim;
use crate::ports::{MessageKey, Messenger, OutgoingMessage, SendError, StoreError};

/// The recipient id an alert's message key names: the shop's owner, not a customer.
pub const OWNER: &str = "owner";

impl Boomerang {
    /// Sends the alert of `date`'s detractor answers, at most once per date.
    pub(super) async fn alert_owner(
        &self,
        messenger: &dyn Messenger,
        date: NaiveDate,
        now: DateTime<Utc>,
        report: &mut SweepReport,
    ) -> Result<(), Error> {
        let (cfg, store) = (self.config(), self.store());
        let Some(to) = cfg.survey.owner_alert_email.clone() else { return Ok(()) };
        let answered = store.surveys_answered_on(date).await?;
        let detractors = detractors_of(&answered, date);
        if detractors.is_empty() {
            return Ok(());
        }
        let fresh = OwnerAlert {
            date,
            answers: u32::try_from(detractors.len()).unwrap_or(u32::MAX),
            decided_at: now,
            delivery: Delivery::pending(),
        };
        let alert = match store.put_owner_alert(&fresh, None).await {
            Ok(()) => fresh,
            Err(StoreError::Duplicate) => match store.owner_alert(date).await? {
                Some(stored) => stored,
                None => return Ok(()),
            },
            Err(e) => return Err(e.into()),
        };
        let moved = |status, alert: &OwnerAlert| OwnerAlert { delivery: Delivery { status, ..alert.delivery.clone() }, ..alert.clone() };
        match alert.delivery.status {
            SendStatus::Pending => {}
            SendStatus::Sending if Claim::abandoned(alert.delivery.claim.as_ref(), self.owner(), now) => {
                let unknown = moved(SendStatus::Unknown, &alert);
                return ignore_lost(store.put_owner_alert(&unknown, Some(SendStatus::Sending)).await);
            }
            _ => return Ok(()),
        }
        let claim = Claim { owner: self.owner().to_owned(), at: now };
        let mut sending = moved(SendStatus::Sending, &alert);
        sending.delivery.claim = Some(claim);
        sending.delivery.channel = Some(Channel::Email);
        match store.put_owner_alert(&sending, Some(SendStatus::Pending)).await {
            Ok(()) => {}
            // Another sweep claimed it.
            Err(StoreError::Conflict) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let (subject, text) = render_alert(&cfg.shop_name, date, &detractors);
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
        let mut settled = sending.clone();
        match self.send_with_retries(messenger, &message).await {
            Ok(()) => {
                report.surveys.alerts_sent += 1;
                settled.delivery.status = SendStatus::Sent;
                settled.delivery.sent_at = Some(now);
            }
            Err(SendError::Unknown(e)) => (settled.delivery.status, settled.delivery.error) = (SendStatus::Unknown, Some(e)),
            Err(SendError::Rejected(e) | SendError::Retryable(e)) => {
                (settled.delivery.status, settled.delivery.error) = (SendStatus::Failed, Some(e));
            }
        }
        ignore_lost(store.put_owner_alert(&settled, Some(SendStatus::Sending)).await)
    }
}

/// Another process moved the alert first: nothing more to do.
fn ignore_lost(result: Result<(), StoreError>) -> Result<(), Error> {
    match result {
        Ok(()) | Err(StoreError::Conflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
