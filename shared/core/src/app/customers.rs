//! Customer profiles: enrol or update (PUT), read, erase, and the unsubscribe link.

use chrono::{DateTime, Utc};

use crate::app::{Boomerang, Error};
use crate::app::retry::{committed, read_decide_commit, Attempt, Backoff};
use crate::domain::auth;
use crate::domain::customer::{ConsentSource, CustomerRecord, ProfileEditor, ProfilePatch};
use crate::domain::ids::CustomerId;
use crate::domain::kinds::Channel;
use crate::ports::{CustomerReader, CustomerWriter, Expected};

/// What a read-modify-write of a customer record decides once it has read the record.
pub(crate) enum Rewrite<T> {
    /// Write this record (the loop sets its version), then answer this.
    Put(CustomerRecord, T),
    /// Write nothing and answer this.
    Keep(T),
}

/// What a read-modify-write did.
pub(crate) enum Rewritten<T> {
    /// The record as written, at its new version, and the answer.
    Written(CustomerRecord, T),
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
        let (mut record, answer) = match decide(current)? {
            Rewrite::Put(record, answer) => (record, answer),
            Rewrite::Keep(answer) => return Ok(Attempt::Done(Rewritten::Kept(answer))),
        };
        record.version = expected.next_version();
        let result = store.put_customer(&record, expected).await;
        committed(result, || Rewritten::Written(record, answer))
    })
    .await
}

/// What a PUT (or an import row) did to a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    /// The record as it is now (written, or as it was when nothing changed).
    pub record: CustomerRecord,
    /// True when the change created the customer.
    pub created: bool,
    /// Channels the change said `true` for that the customer withdrew: left off (imports).
    pub kept_withdrawn: Vec<Channel>,
}

impl Boomerang {
    pub async fn customer(&self, id: &CustomerId) -> Result<CustomerRecord, Error> {
        self.store().customer(id).await?.ok_or(Error::CustomerNotFound)
    }

    /// Applies `change` to the customer record under a version condition, retrying on conflict.
    /// `change` gets the current record (or a fresh one when `create` allows it). A record
    /// that exists and comes out of `change` as it went in is not written.
    async fn update_customer<T, F>(
        &self,
        id: &CustomerId,
        now: DateTime<Utc>,
        create: bool,
        change: F,
    ) -> Result<(CustomerRecord, bool, T), Error>
    where
        F: Fn(&mut CustomerRecord) -> Result<T, Error>,
    {
        let rewritten = rewrite_customer(&**self.store(), self.backoff(), id, |current| {
            let Some(before) = current else {
                if !create {
                    return Err(Error::CustomerNotFound);
                }
                let mut record = CustomerRecord::new(id.clone(), now);
                let answer = change(&mut record)?;
                return Ok(Rewrite::Put(record, (None, answer)));
            };
            let mut record = before.clone();
            let answer = change(&mut record)?;
            Ok(if record == before { Rewrite::Keep((Some(record), answer)) } else { Rewrite::Put(record, (None, answer)) })
        })
        .await?;
        Ok(match rewritten {
            // Version 1 is the first write of a record: this one created it.
            Rewritten::Written(record, (_, answer)) => {
                let created = record.version == 1;
                (record, created, answer)
            }
            Rewritten::Kept((record, answer)) => (record.expect("kept only a record that exists"), false, answer),
        })
    }

    /// PUT by the operator's own tools (source `admin`); see [`Boomerang::enroll_by`].
    pub async fn enroll(
        &self,
        id: &CustomerId,
        patch: &ProfilePatch,
        now: DateTime<Utc>,
    ) -> Result<(CustomerRecord, bool), Error> {
        let enrolled = self.enroll_by(id, patch, &ProfileEditor::admin(), now).await?;
        Ok((enrolled.record, enrolled.created))
    }

    /// PUT: enroll or update, as `editor` (a till, an import, the operator). A change that
    /// changes nothing writes nothing. A `true` for a channel the customer withdrew is refused
    /// with `consent_withdrawn` (nothing applied) or kept off, as `editor` says.
    pub async fn enroll_by(
        &self,
        id: &CustomerId,
        patch: &ProfilePatch,
        editor: &ProfileEditor,
        now: DateTime<Utc>,
    ) -> Result<Enrolled, Error> {
        self.enroll_referred(id, patch, editor, None, now).await
    }

    /// DELETE by the operator's own tools (source `admin`); see [`Boomerang::erase_by`].
    pub async fn erase(&self, id: &CustomerId, now: DateTime<Utc>) -> Result<(), Error> {
        self.erase_by(id, &ConsentSource::Admin, now).await
    }

    /// DELETE: erase personal data for good; the anonymous ledger stays. Channels still on
    /// are recorded as turned off by `source`. Erasing again writes nothing.
    pub async fn erase_by(&self, id: &CustomerId, source: &ConsentSource, now: DateTime<Utc>) -> Result<(), Error> {
        self.update_customer(id, now, false, |record| {
            record.customer.erase_by(now, source);
            Ok(())
        })
        .await?;
        // After the record: a rerun of an erasure cut off here still finds the comments.
        self.erase_survey_comments(id).await
    }

    pub async fn unsubscribe_token(&self, id: &CustomerId) -> Result<String, Error> {
        Ok(auth::unsubscribe_token(self.secret().await?, id))
    }

    /// Checks an unsubscribe token without changing anything.
    pub async fn check_unsubscribe_token(&self, token: &str) -> Result<CustomerId, Error> {
        auth::verify_unsubscribe_token(self.secret().await?, token).ok_or(Error::InvalidToken)
    }

    /// What the unsubscribe link's page shows (GET): the customer the token names, as stored
    /// (`None` when the store no longer holds them). Reads only.
    pub async fn unsubscribe_preview(&self, token: &str) -> Result<(CustomerId, Option<CustomerRecord>), Error> {
        let id = self.check_unsubscribe_token(token).await?;
        let record = self.store().customer(&id).await?;
        Ok((id, record))
    }

    /// The customer's one-click unsubscribe (POST): email consent withdrawn by the customer,
    /// recorded with the source `unsubscribe_link`. Repeating it changes nothing (the first
    /// withdrawal is the evidence kept). Returns the record as it is now, if the store holds
    /// the customer.
    pub async fn unsubscribe(&self, token: &str, now: DateTime<Utc>) -> Result<Option<CustomerRecord>, Error> {
        let id = self.check_unsubscribe_token(token).await?;
        let changed = self
            .update_customer(&id, now, false, |record| {
                if record.customer.withdraw(Channel::Email, now, &ConsentSource::UnsubscribeLink) {
                    record.customer.updated_at = record.customer.updated_at.max(now);
                }
                Ok(())
            })
            .await;
        match changed {
            Ok((record, _, ())) => Ok(Some(record)),
            // A signed token for a customer we no longer hold: nothing to unsubscribe.
            Err(Error::CustomerNotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::app::testing::MemoryStore;
    use crate::domain::auth::Principal;
    use crate::domain::ids::TerminalName;
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn till() -> ProfileEditor {
        ProfileEditor::api(&Principal { terminal: TerminalName::parse("till-1").unwrap(), admin: false }, vec![])
    }

    fn emailable() -> ProfilePatch {
        ProfilePatch {
            email: Some(Some(crate::domain::ids::Email::parse("anna@example.ru").unwrap())),
            consent_email: Some(true),
            ..ProfilePatch::default()
        }
    }

    #[tokio::test]
    async fn a_put_that_changes_nothing_writes_nothing() {
        let (app, store) = MemoryStore::app();
        let id = CustomerId::parse("c1").unwrap();
        let first = app.enroll_by(&id, &emailable(), &till(), at("2026-11-24T07:00:00Z")).await.unwrap();
        assert!(first.created);
        assert_eq!(store.writes(), 1);
        let again = app.enroll_by(&id, &emailable(), &till(), at("2026-11-24T08:00:00Z")).await.unwrap();
        assert_eq!(store.writes(), 1, "the same profile again is not written");
        assert_eq!((again.created, again.record), (false, first.record));
        // An empty PUT of a new customer still enrolls them.
        app.enroll_by(&CustomerId::parse("c2").unwrap(), &ProfilePatch::default(), &till(), at("2026-11-24T08:00:00Z"))
            .await
            .unwrap();
        assert_eq!(store.writes(), 2);
    }

    #[tokio::test]
    async fn the_unsubscribe_link_records_the_customers_withdrawal_once() {
        let (app, store) = MemoryStore::app();
        let id = CustomerId::parse("c1").unwrap();
        app.enroll_by(&id, &emailable(), &till(), at("2026-11-24T07:00:00Z")).await.unwrap();
        let token = app.unsubscribe_token(&id).await.unwrap();

        let (_, seen) = app.unsubscribe_preview(&token).await.unwrap();
        assert!(seen.unwrap().customer.consent.email, "looking changes nothing");
        assert_eq!(store.writes(), 1);

        let record = app.unsubscribe(&token, at("2026-11-24T09:00:00Z")).await.unwrap().unwrap();
        let change = record.customer.withdrawal(Channel::Email).cloned().expect("withdrawn by the customer");
        assert_eq!((change.at, change.source), (at("2026-11-24T09:00:00Z"), ConsentSource::UnsubscribeLink));
        app.unsubscribe(&token, at("2026-11-25T09:00:00Z")).await.unwrap();
        assert_eq!(store.writes(), 2, "a second click changes nothing");

        let refused = app.enroll_by(&id, &emailable(), &till(), at("2026-11-26T09:00:00Z")).await.unwrap_err();
        assert!(matches!(refused, Error::ConsentWithdrawn(_)), "{refused:?}");
        assert_eq!((refused.code(), refused.field()), ("consent_withdrawn", Some("consent.email")));
        assert_eq!(store.writes(), 2);

        assert!(matches!(app.unsubscribe(&format!("{token}x"), at("2026-11-25T09:00:00Z")).await, Err(Error::InvalidToken)));
        assert!(matches!(app.unsubscribe_preview("garbage").await, Err(Error::InvalidToken)));
    }
}
