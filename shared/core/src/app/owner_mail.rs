//! Mail to the shop's owner (the weekly digest, the detractor alert), sent at most once. No
//! contact rules apply to it (it is not marketing), but like a customer's message it is its
//! own stored intent, written before the send: delivering claims it (`pending → sending`),
//! sends, and records `sent`, `failed` or `unknown`; one found `sending` by a sender that is
//! gone ends `unknown` and is never sent again.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::app::sweep::Delivery;
use crate::app::{Boomerang, Error};
use crate::domain::kinds::{Channel, SendStatus};
use crate::domain::triggers::Claim;
use crate::ports::{SendError, StoreError};

/// What delivery needs of an owner's mail record.
#[async_trait]
pub(crate) trait OwnerMail: Sized + Send + Sync {
    fn status(&self) -> SendStatus;
    /// The claim of the sender that moved it to `sending`.
    fn sender(&self) -> Option<Claim>;
    /// The record moved to `status` at `now`: claimed by `owner` when `sending`, with the
    /// provider's `error` when it failed or was cut off.
    fn moved(&self, status: SendStatus, owner: &str, error: Option<String>, now: DateTime<Utc>) -> Self;
    /// Stores the record, only if the stored one is still at `from` (`Conflict` otherwise).
    async fn store(&self, app: &Boomerang, from: SendStatus) -> Result<(), StoreError>;
}

impl Boomerang {
    /// Delivers `recorded` with `send`, or only settles a claim found abandoned when `send` is
    /// `None` (nowhere to send it now: it stays pending). `Skipped` when another process has
    /// it or had it.
    pub(crate) async fn deliver_owner_mail<M: OwnerMail>(
        &self,
        recorded: M,
        now: DateTime<Utc>,
        send: Option<impl AsyncFnOnce(&M) -> Result<(), SendError>>,
    ) -> Result<Delivery, Error> {
        match recorded.status() {
            SendStatus::Pending => {}
            // Maybe sent: recorded `unknown`, never sent again.
            SendStatus::Sending if Claim::abandoned(recorded.sender().as_ref(), self.owner(), now) => {
                let unknown = recorded.moved(SendStatus::Unknown, self.owner(), None, now);
                return match unknown.store(self, SendStatus::Sending).await {
                    Ok(()) => Ok(Delivery::Unknown),
                    // Another process settled it first.
                    Err(StoreError::Conflict) => Ok(Delivery::Skipped),
                    Err(e) => Err(e.into()),
                };
            }
            _ => return Ok(Delivery::Skipped),
        }
        let Some(send) = send else { return Ok(Delivery::Skipped) };
        let sending = recorded.moved(SendStatus::Sending, self.owner(), None, now);
        match sending.store(self, SendStatus::Pending).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Ok(Delivery::Skipped),
            Err(e) => return Err(e.into()),
        }
        let (status, delivery, error) = match send(&sending).await {
            Ok(()) => (SendStatus::Sent, Delivery::Sent(Channel::Email, 0), None),
            Err(SendError::Unknown(e)) => (SendStatus::Unknown, Delivery::Unknown, Some(e)),
            // Certainly not sent (the digest can be sent by hand: `boomerang digest --send`).
            Err(SendError::Rejected(e) | SendError::Retryable(e)) => (SendStatus::Failed, Delivery::Failed(0), Some(e)),
        };
        let done = sending.moved(status, self.owner(), error, now);
        match done.store(self, SendStatus::Sending).await {
            // What was sent was sent, whoever recorded its end first.
            Ok(()) | Err(StoreError::Conflict) => Ok(delivery),
            Err(e) => Err(e.into()),
        }
    }
}
