//! The owner's daily detractor alert: when `survey.owner_alert_email` is set, the sweep sends
//! one email listing the previous day's answers of 0-6 (score, comment, store, receipt id; no
//! contacts). Not a marketing message: no governor, no consent, no waking hours. Its record,
//! keyed by the date and holding the email itself, is written by the sweep before the send and
//! claimed like any intent, so a rerun (or a second sweep, or the AWS sender it is handed to)
//! never sends the day's alert twice.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::{Delivery, SendMode, SweepReport};
use crate::app::owner_mail::OwnerMail;
use crate::app::{Boomerang, Error};
use crate::domain::ids::CustomerId;
use crate::domain::kinds::{Channel, MessageKind, SendStatus};
use crate::domain::survey::alert::{detractors_of, render_alert, OwnerAlert};
use crate::domain::survey::Delivery as Progress;
use crate::domain::triggers::Claim;
use crate::ports::{MessageKey, Messenger, OutgoingMessage, StoreError};

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

    /// Sends the owner's alert of `date` at most once (see `owner_mail`); its text is dropped
    /// once the send ends.
    pub async fn deliver_owner_alert(&self, messenger: &dyn Messenger, date: NaiveDate, now: DateTime<Utc>) -> Result<Delivery, Error> {
        let cfg = self.config();
        let Some(alert) = self.store().owner_alert(date).await? else { return Ok(Delivery::Skipped) };
        let message = match (cfg.survey.owner_alert_email.clone(), alert.message.clone()) {
            (Some(to), Some((subject, text))) => Some(OutgoingMessage {
                key: MessageKey {
                    kind: MessageKind::SurveyAlert,
                    customer_id: CustomerId::parse(OWNER).expect("a valid id"),
                    episode: date.to_string(),
                },
                channel: Channel::Email,
                to,
                from_name: cfg.shop_name.clone(),
                subject: Some(subject),
                text,
                html: None,
                unsubscribe_url: None,
                created_at: now,
            }),
            _ => None,
        };
        let send = message.map(|message| async move |_: &OwnerAlert| self.send_with_retries(messenger, &message).await);
        self.deliver_owner_mail(alert, now, send).await
    }
}

#[async_trait]
impl OwnerMail for OwnerAlert {
    fn status(&self) -> SendStatus {
        self.delivery.status
    }

    fn sender(&self) -> Option<Claim> {
        self.delivery.claim.clone()
    }

    fn moved(&self, status: SendStatus, owner: &str, error: Option<String>, now: DateTime<Utc>) -> Self {
        let mut next = self.clone();
        next.delivery.status = status;
        if status == SendStatus::Sending {
            next.delivery.channel = Some(Channel::Email);
            next.delivery.claim = Some(Claim { owner: owner.to_owned(), at: now });
            return next;
        }
        // The text quotes comments (personal data): it goes once the send has ended.
        next.message = None;
        if status == SendStatus::Sent {
            next.delivery.sent_at = Some(now);
        }
        if error.is_some() {
            next.delivery.error = error;
        }
        next
    }

    async fn store(&self, app: &Boomerang, from: SendStatus) -> Result<(), StoreError> {
        app.store().put_owner_alert(self, Some(from)).await
    }
}
