//! Customer profiles: enrol or update (PUT), read, erase, and the one-click unsubscribe.

use chrono::{DateTime, Utc};

use crate::app::{Boomerang, Error};
use crate::app::retry::{committed, read_decide_commit, Attempt, Backoff};
use crate::domain::auth;
use crate::domain::customer::{CustomerRecord, ProfilePatch};
use crate::domain::ids::CustomerId;
use crate::ports::{CustomerReader, CustomerWriter, Expected};

/// What a read-modify-write of a customer record decides once it has read the record.
pub(crate) enum Rewrite<T> {
    /// Write this record (the loop sets its version).
    Put(CustomerRecord),
    /// Write nothing and answer this.
    Keep(T),
}

/// What a read-modify-write did.
pub(crate) enum Rewritten<T> {
    /// The record as written, at its new version.
    Written(CustomerRecord),
    Kept(T),
}

/// Reads the customer record, lets `decide` change it, and writes it under the version it was
/// read at. Every change of a customer record alone goes through here.
pub(crate) async fn rewrite_customer<S, T, F>(
    store: &S,
    backoff: &dyn Backoff,
    id: &CustomerId,
    decide: F,
) -> Result<Rewritten<T>, Error>
where
    S: CustomerReader + CustomerWriter + ?Sized,
    F: Fn(Option<CustomerRecord>) -> Result<Rewrite<T>, Error>,
{
    let decide = &decide;
    read_decide_commit(backoff, || async move {
        let current = store.customer(id).await?;
        let expected = Expected::of(&current);
        let mut record = match decide(current)? {
            Rewrite::Put(record) => record,
            Rewrite::Keep(answer) => return Ok(Attempt::Done(Rewritten::Kept(answer))),
        };
        record.version = expected.next_version();
        let result = store.put_customer(&record, expected).await;
        committed(result, || Rewritten::Written(record))
    })
    .await
}

impl Boomerang {
    pub async fn customer(&self, id: &CustomerId) -> Result<CustomerRecord, Error> {
        self.store().customer(id).await?.ok_or(Error::CustomerNotFound)
    }

    /// Applies `change` to the customer record under a version condition, retrying on conflict.
    /// `change` gets the current record (or a fresh one when `create` allows it).
    async fn update_customer<F>(
        &self,
        id: &CustomerId,
        now: DateTime<Utc>,
        create: bool,
        change: F,
    ) -> Result<(CustomerRecord, bool), Error>
    where
        F: Fn(&mut CustomerRecord) -> Result<(), Error>,
    {
        let rewritten = rewrite_customer(&**self.store(), self.backoff(), id, |current| {
            if current.is_none() && !create {
                return Err(Error::CustomerNotFound);
            }
            let mut record = current.unwrap_or_else(|| CustomerRecord::new(id.clone(), now));
            change(&mut record)?;
            Ok(Rewrite::<std::convert::Infallible>::Put(record))
        })
        .await?;
        match rewritten {
            // Version 1 is the first write of a record: this one created it.
            Rewritten::Written(record) => {
                let created = record.version == 1;
                Ok((record, created))
            }
            Rewritten::Kept(never) => match never {},
        }
    }

    /// PUT: enroll or update. Returns the record and whether it was created.
    pub async fn enroll(
        &self,
        id: &CustomerId,
        patch: &ProfilePatch,
        now: DateTime<Utc>,
    ) -> Result<(CustomerRecord, bool), Error> {
        self.update_customer(id, now, true, |record| {
            if record.customer.is_erased() && patch.sets_personal_data() {
                return Err(Error::CustomerErased);
            }
            record.customer.apply(patch, now);
            Ok(())
        })
        .await
    }

    /// DELETE: erase personal data for good; the anonymous ledger stays.
    pub async fn erase(&self, id: &CustomerId, now: DateTime<Utc>) -> Result<(), Error> {
        self.update_customer(id, now, false, |record| {
            record.customer.erase(now);
            Ok(())
        })
        .await
        .map(|_| ())
    }

    pub async fn unsubscribe_token(&self, id: &CustomerId) -> Result<String, Error> {
        Ok(auth::unsubscribe_token(self.secret().await?, id))
    }

    /// Checks an unsubscribe token without changing anything.
    pub async fn check_unsubscribe_token(&self, token: &str) -> Result<CustomerId, Error> {
        auth::verify_unsubscribe_token(self.secret().await?, token).ok_or(Error::InvalidToken)
    }

    /// One-click unsubscribe: email consent off for the customer the token names.
    pub async fn unsubscribe(&self, token: &str, now: DateTime<Utc>) -> Result<CustomerId, Error> {
        let id = self.check_unsubscribe_token(token).await?;
        match self
            .update_customer(&id, now, false, |record| {
                record.customer.consent.email = false;
                record.customer.updated_at = now;
                Ok(())
            })
            .await
        {
            // A signed token for a customer we no longer hold: nothing to unsubscribe.
            Ok(_) | Err(Error::CustomerNotFound) => Ok(id),
            Err(e) => Err(e),
        }
    }
}
