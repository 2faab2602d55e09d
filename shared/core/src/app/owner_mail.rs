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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use chrono::Duration;

    use super::*;
    use crate::app::testing::MemoryStore;
    use crate::domain::triggers::CLAIM_LEASE;

    /// The stored record: what `store` conditions on and writes.
    #[derive(Debug, Clone, PartialEq)]
    struct Stored {
        status: SendStatus,
        claim: Option<Claim>,
        error: Option<String>,
    }

    /// A mail record as read, and the one table it is stored in.
    #[derive(Clone)]
    struct Mail {
        read: Stored,
        table: Arc<Mutex<Stored>>,
    }

    impl Mail {
        fn stored(status: SendStatus, claim: Option<Claim>) -> Self {
            let read = Stored { status, claim, error: None };
            Mail { table: Arc::new(Mutex::new(read.clone())), read }
        }

        fn now_stored(&self) -> Stored {
            self.table.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl OwnerMail for Mail {
        fn status(&self) -> SendStatus {
            self.read.status
        }

        fn sender(&self) -> Option<Claim> {
            self.read.claim.clone()
        }

        fn moved(&self, status: SendStatus, owner: &str, error: Option<String>, now: DateTime<Utc>) -> Self {
            let claim = if status == SendStatus::Sending { Some(Claim { owner: owner.to_owned(), at: now }) } else { self.read.claim.clone() };
            Mail { read: Stored { status, claim, error }, table: self.table.clone() }
        }

        async fn store(&self, _: &Boomerang, from: SendStatus) -> Result<(), StoreError> {
            let mut stored = self.table.lock().unwrap();
            if stored.status != from {
                return Err(StoreError::Conflict);
            }
            *stored = self.read.clone();
            Ok(())
        }
    }

    /// The type of a send there is none of.
    type NoSend = fn(&Mail) -> std::future::Ready<Result<(), SendError>>;

    fn now() -> DateTime<Utc> {
        "2026-12-01T09:00:00Z".parse().unwrap()
    }

    fn claimed_by(owner: &str, minutes_ago: i64) -> Option<Claim> {
        Some(Claim { owner: owner.to_owned(), at: now() - Duration::minutes(minutes_ago) })
    }

    /// Delivers `mail` with a send that answers `answer` and counts its calls.
    async fn deliver(app: &Boomerang, mail: Mail, answer: Result<(), SendError>) -> (Delivery, usize) {
        let calls = Mutex::new(0);
        let send = async |_: &Mail| {
            *calls.lock().unwrap() += 1;
            answer
        };
        let delivery = app.deliver_owner_mail(mail, now(), Some(send)).await.unwrap();
        let calls = *calls.lock().unwrap();
        (delivery, calls)
    }

    #[tokio::test]
    async fn a_pending_mail_is_claimed_sent_once_and_recorded_sent() {
        let (app, _) = MemoryStore::app();
        let mail = Mail::stored(SendStatus::Pending, None);
        assert_eq!(deliver(&app, mail.clone(), Ok(())).await, (Delivery::Sent(Channel::Email, 0), 1));
        assert_eq!(mail.now_stored().status, SendStatus::Sent);
        assert_eq!(mail.now_stored().claim.map(|c| c.owner), Some(app.owner().to_owned()), "claimed by this process");
        // The same record read again (or the stale copy read before): never sent twice.
        let again = Mail { read: mail.now_stored(), table: mail.table.clone() };
        assert_eq!(deliver(&app, again, Ok(())).await, (Delivery::Skipped, 0));
        assert_eq!(deliver(&app, mail.clone(), Ok(())).await, (Delivery::Skipped, 0), "the claim is lost to the stored state");
    }

    #[tokio::test]
    async fn a_claim_whose_sender_is_gone_ends_unknown_and_is_not_sent() {
        let (app, _) = MemoryStore::app();
        let gone = Mail::stored(SendStatus::Sending, claimed_by("another-process", CLAIM_LEASE.num_minutes()));
        assert_eq!(deliver(&app, gone.clone(), Ok(())).await, (Delivery::Unknown, 0));
        assert_eq!(gone.now_stored().status, SendStatus::Unknown);

        let in_flight = Mail::stored(SendStatus::Sending, claimed_by("another-process", 1));
        assert_eq!(deliver(&app, in_flight.clone(), Ok(())).await, (Delivery::Skipped, 0));
        assert_eq!(in_flight.now_stored(), in_flight.read, "a send in flight elsewhere is left alone");
    }

    #[tokio::test]
    async fn with_nowhere_to_send_a_pending_mail_stays_pending() {
        let (app, _) = MemoryStore::app();
        let mail = Mail::stored(SendStatus::Pending, None);
        let nowhere: Option<NoSend> = None;
        assert_eq!(app.deliver_owner_mail(mail.clone(), now(), nowhere).await.unwrap(), Delivery::Skipped);
        assert_eq!(mail.now_stored(), mail.read);
    }

    #[tokio::test]
    async fn a_refused_send_is_recorded_failed_with_the_providers_words() {
        let (app, _) = MemoryStore::app();
        let mail = Mail::stored(SendStatus::Pending, None);
        let refused = Err(SendError::Rejected("address not verified".into()));
        assert_eq!(deliver(&app, mail.clone(), refused).await, (Delivery::Failed(0), 1));
        assert_eq!(mail.now_stored().status, SendStatus::Failed);
        assert_eq!(mail.now_stored().error.as_deref(), Some("address not verified"));
        let cut = Mail::stored(SendStatus::Pending, None);
        assert_eq!(deliver(&app, cut.clone(), Err(SendError::Unknown("timed out".into()))).await, (Delivery::Unknown, 1));
        assert_eq!(cut.now_stored().status, SendStatus::Unknown);
    }

    #[tokio::test]
    async fn a_send_whose_end_another_process_recorded_first_still_counts_as_sent() {
        let (app, _) = MemoryStore::app();
        let mail = Mail::stored(SendStatus::Pending, None);
        let table = mail.table.clone();
        // While this process sends, another one finds the claim abandoned and records it.
        let send = async |_: &Mail| {
            table.lock().unwrap().status = SendStatus::Unknown;
            Ok(())
        };
        assert_eq!(app.deliver_owner_mail(mail.clone(), now(), Some(send)).await.unwrap(), Delivery::Sent(Channel::Email, 0));
        assert_eq!(mail.now_stored().status, SendStatus::Unknown, "the other process's record stands");
    }
}
