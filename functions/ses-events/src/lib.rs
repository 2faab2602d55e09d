//! ses-events: suppresses the email addresses SES reports as bouncing or complaining.
//!
//! The sender's SES configuration set publishes `Bounce` and `Complaint` events to an SNS
//! topic; this function is subscribed to it. Each SNS record's `Message` is one SES event
//! (see [`ses`]), tagged by the sender with `customer_id` (tag-encoded), `trigger` and
//! `episode`:
//!
//! - a `Permanent` bounce marks the customer's email undeliverable
//!   ([`Boomerang::email_feedback`]); `Transient` and `Undetermined` bounces change nothing
//!   (the address may work next time; SES retries on its own);
//! - a complaint turns the customer's email consent off ([`Boomerang::email_feedback`]);
//! - every other event type is ignored.
//!
//! Either only applies while the customer's email is still the address SES reports, so an
//! event about an address the customer has since replaced changes nothing. The use cases are
//! idempotent, so a redelivered event is harmless.
//!
//! Failures: a message that cannot be used (not an SES event, no or a bad `customer_id` tag)
//! is logged and skipped: retrying would not make it better. A store failure is an error of
//! the invocation: SNS invokes asynchronously, so Lambda retries it (twice) and then hands
//! it to the function's on-failure destination. Nothing logged here is contact data or a
//! customer id: SES message ids, event types, outcomes and counts only.

pub mod ses;

use aws_lambda_events::event::sns::{SnsEvent, SnsMessage};
use boomerang_core::app::suppression::Feedback;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::ports::StoreError;
use boomerang_core::{Boomerang, Error};
use chrono::{DateTime, Utc};
use tracing::Instrument;

use ses::{label, BounceType, Recipient, SesEvent};

/// What one invocation did, record by record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Records that suppressed an address.
    pub applied: usize,
    /// Bounces and complaints that changed nothing: already applied, an address the customer
    /// no longer has, an unknown or erased customer.
    pub unchanged: usize,
    /// Events that call for nothing: soft bounces, other event types.
    pub ignored: usize,
    /// Messages that cannot be used: logged, never retried.
    pub skipped: usize,
}

/// Some records could not be applied (the store failed): Lambda retries the invocation;
/// the records already applied are no-ops the second time.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {records} SES event(s) could not be applied; the invocation is retried")]
pub struct HandlerError {
    pub failed: usize,
    pub records: usize,
    /// The first failure (its text is withheld from the message: see `describe`).
    pub first: Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handled {
    Applied,
    Unchanged,
    Ignored,
    Skipped,
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Bounce,
    Complaint,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Bounce => "bounce",
            Action::Complaint => "complaint",
        }
    }
}

/// Handles one SNS event (one record in practice; any number is fine).
pub async fn handle(app: &Boomerang, event: SnsEvent) -> Result<Report, HandlerError> {
    let records = event.records.len();
    let mut report = Report::default();
    let (mut failed, mut first) = (0, None);
    for record in &event.records {
        let span = tracing::info_span!("sns_record", sns_message_id = %record.sns.message_id);
        match process(app, &record.sns).instrument(span).await {
            Ok(Handled::Applied) => report.applied += 1,
            Ok(Handled::Unchanged) => report.unchanged += 1,
            Ok(Handled::Ignored) => report.ignored += 1,
            Ok(Handled::Skipped) => report.skipped += 1,
            Err(e) => {
                tracing::error!(
                    sns_message_id = %record.sns.message_id,
                    error = %describe(&e),
                    "the event could not be applied; the invocation is retried"
                );
                failed += 1;
                first.get_or_insert(e);
            }
        }
    }
    tracing::info!(
        records,
        applied = report.applied,
        unchanged = report.unchanged,
        ignored = report.ignored,
        skipped = report.skipped,
        failed,
        "event done"
    );
    match first {
        Some(first) => Err(HandlerError { failed, records, first }),
        None => Ok(report),
    }
}

async fn process(app: &Boomerang, sns: &SnsMessage) -> Result<Handled, Error> {
    let event = match ses::parse(&sns.message) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(error = %e, "skipped");
            return Ok(Handled::Skipped);
        }
    };
    let (action, mail, recipients, at) = match &event {
        SesEvent::Other(event_type) => {
            tracing::info!(event_type, "not a bounce or complaint; ignored");
            return Ok(Handled::Ignored);
        }
        SesEvent::Bounce(e) => {
            let sub_type = label(e.bounce.bounce_sub_type.as_deref().unwrap_or(""));
            if e.bounce.bounce_type != BounceType::Permanent {
                tracing::info!(
                    ses_message_id = ses::message_id(&e.mail),
                    bounce_type = e.bounce.bounce_type.as_str(),
                    bounce_sub_type = sub_type,
                    "not a permanent bounce; the address stays"
                );
                return Ok(Handled::Ignored);
            }
            tracing::info!(ses_message_id = ses::message_id(&e.mail), bounce_sub_type = sub_type, "permanent bounce");
            (Action::Bounce, &e.mail, &e.bounce.bounced_recipients, e.bounce.timestamp)
        }
        SesEvent::Complaint(e) => {
            let feedback_type = label(e.complaint.complaint_feedback_type.as_deref().unwrap_or(""));
            tracing::info!(ses_message_id = ses::message_id(&e.mail), feedback_type, "complaint");
            (Action::Complaint, &e.mail, &e.complaint.complained_recipients, e.complaint.timestamp)
        }
    };
    let customer = match mail.customer_id() {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(error = %e, action = action.as_str(), "skipped");
            return Ok(Handled::Skipped);
        }
    };
    if recipients.is_empty() {
        tracing::warn!(action = action.as_str(), "no recipients; skipped");
        return Ok(Handled::Skipped);
    }
    // Events carry their own time; the SNS publish time when one does not.
    suppress(app, action, &customer, recipients, at.unwrap_or(sns.timestamp)).await
}

/// Applies the action to each reported address (Boomerang sends to one; the use case only
/// acts on the customer's current email in any case).
async fn suppress(
    app: &Boomerang,
    action: Action,
    customer: &CustomerId,
    recipients: &[Recipient],
    at: DateTime<Utc>,
) -> Result<Handled, Error> {
    let mut changed = false;
    for recipient in recipients {
        let address = recipient.email_address.as_str();
        let outcome = match action {
            Action::Bounce => app.email_feedback(Feedback::Bounce, customer, address, at).await?,
            Action::Complaint => app.email_feedback(Feedback::Complaint, customer, address, at).await?,
        };
        tracing::info!(action = action.as_str(), outcome = outcome.as_str(), "suppression");
        changed |= outcome.changed();
    }
    Ok(if changed { Handled::Applied } else { Handled::Unchanged })
}

/// An error for the log: a corrupt record's text names the record (its customer id), so it
/// is withheld; the store's own error is kept (it carries no customer data).
pub fn describe(e: &Error) -> String {
    match e {
        Error::Store(StoreError::Corrupt(_)) => {
            "stored data is corrupt (details withheld: they name the record)".into()
        }
        Error::Store(StoreError::Unavailable(source)) => format!("{e}: {source}"),
        e => e.to_string(),
    }
}
