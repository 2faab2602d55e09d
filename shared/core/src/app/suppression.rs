//! Suppression from provider feedback. SES: a permanent bounce marks the customer's address
//! undeliverable, a complaint is the customer's withdrawal of email consent (source
//! `complaint`). The SMS provider: a number that opted out (the customer replied STOP) is
//! the customer's withdrawal of SMS consent (source `sms_opt_out`). Each concerns one address
//! or number: if the customer has changed it since, the event is about a contact we no longer
//! hold and nothing changes. All are idempotent (SNS and Lambda deliver at least once, the
//! sweep asks every day): the first withdrawal is the evidence kept. An unknown or erased
//! customer is not an error: there is nothing to suppress.
//!
//! The use cases need only the customer record: one read, one conditional write.

use chrono::{DateTime, Utc};

use crate::app::{Boomerang, Error};
use crate::app::customers::{rewrite_customer, Rewrite, Rewritten};
use crate::domain::customer::{ConsentSource, Customer};
use crate::domain::ids::{CustomerId, Phone};
use crate::domain::kinds::Channel;

/// What a bounce, complaint or opt-out did to the customer: safe to log (no contact data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppression {
    /// The address is now suppressed (bounce) or the channel withdrawn (complaint, opt-out).
    Applied,
    /// It already was: a replayed event, or a second event about the same contact.
    AlreadyApplied,
    /// The customer's current email or phone is not the one the event is about (changed or removed).
    AddressChanged,
    /// No customer with this id.
    UnknownCustomer,
    /// The customer was erased: no contacts left to suppress.
    Erased,
}

impl Suppression {
    pub fn as_str(self) -> &'static str {
        match self {
            Suppression::Applied => "applied",
            Suppression::AlreadyApplied => "already_applied",
            Suppression::AddressChanged => "address_changed",
            Suppression::UnknownCustomer => "unknown_customer",
            Suppression::Erased => "erased",
        }
    }

    /// True when the event changed the record.
    pub fn changed(self) -> bool {
        self == Suppression::Applied
    }
}

/// True when `address` (as SES reports it) is the customer's `email`. Compared without case:
/// SES and receiving servers may report the address in a different case than we sent it.
/// A `Name <address>` form is reduced to the address.
pub fn same_address(email: &str, address: &str) -> bool {
    let address = address.trim();
    let address = match (address.rfind('<'), address.strip_suffix('>')) {
        (Some(open), Some(inner)) => &inner[open + 1..],
        _ => address,
    };
    email.trim().to_lowercase() == address.trim().to_lowercase()
}

/// What SES reported about mail to one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    /// A permanent bounce: the address is marked undeliverable (consent is untouched: the
    /// customer did not withdraw it).
    Bounce,
    /// A complaint (the recipient marked the message as spam): the customer's withdrawal of
    /// email consent, recorded with the source `complaint`.
    Complaint,
}

impl Feedback {
    /// Applies the feedback received at `at`; false when the customer already bears it.
    fn apply(self, customer: &mut Customer, at: DateTime<Utc>) -> bool {
        match self {
            Feedback::Bounce if customer.email_undeliverable_at.is_none() => {
                customer.email_undeliverable_at = Some(at);
                true
            }
            Feedback::Bounce => false,
            Feedback::Complaint => customer.withdraw(Channel::Email, at, &ConsentSource::Complaint),
        }
    }
}

impl Boomerang {
    /// SES reported `feedback` about mail to `address` at `at`: applied to the customer if
    /// their email still is `address`.
    pub async fn email_feedback(&self, feedback: Feedback, id: &CustomerId, address: &str, at: DateTime<Utc>) -> Result<Suppression, Error> {
        let still_theirs =
            |c: &Customer| c.email.as_ref().is_some_and(|email| same_address(email.as_str(), address));
        self.suppress(id, still_theirs, at, |customer| feedback.apply(customer, at)).await
    }

    /// The SMS provider says `phone` opted out (the customer replied STOP), as learnt at `at`:
    /// the customer's withdrawal of SMS consent, recorded with the source `sms_opt_out`, if
    /// their phone still is `phone`. The sweep calls it when it finds an opted-out number;
    /// asking again changes nothing.
    pub async fn sms_opt_out(&self, id: &CustomerId, phone: &Phone, at: DateTime<Utc>) -> Result<Suppression, Error> {
        let still_theirs = |c: &Customer| c.phone.as_ref() == Some(phone);
        self.suppress(id, still_theirs, at, |customer| customer.withdraw(Channel::Sms, at, &ConsentSource::SmsOptOut)).await
    }

    /// Reads the record, checks the contact is still the customer's, applies `change` (false:
    /// nothing to change) and writes under the record's version, reading again on conflict.
    async fn suppress(
        &self,
        id: &CustomerId,
        still_theirs: impl Fn(&Customer) -> bool,
        at: DateTime<Utc>,
        change: impl Fn(&mut Customer) -> bool,
    ) -> Result<Suppression, Error> {
        let rewritten = rewrite_customer(&**self.store(), self.backoff(), id, |current| {
            let Some(mut record) = current else {
                return Ok(Rewrite::Keep(Suppression::UnknownCustomer));
            };
            if record.customer.is_erased() {
                return Ok(Rewrite::Keep(Suppression::Erased));
            }
            if !still_theirs(&record.customer) {
                return Ok(Rewrite::Keep(Suppression::AddressChanged));
            }
            if !change(&mut record.customer) {
                return Ok(Rewrite::Keep(Suppression::AlreadyApplied));
            }
            // A late event never moves `updated_at` back.
            record.customer.updated_at = record.customer.updated_at.max(at);
            Ok(Rewrite::Put(record, Suppression::Applied))
        })
        .await?;
        Ok(match rewritten {
            Rewritten::Written(_, outcome) | Rewritten::Kept(outcome) => outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::app::MAX_ATTEMPTS;
    use std::sync::Arc;

    use crate::app::testing::{MemoryStore, NoBackoff};
    use crate::domain::config::ProgramConfig;
    use crate::domain::customer::CustomerRecord;
    use crate::domain::ids::Email;
    use crate::domain::kinds::Channel;
    use crate::domain::triggers::{choose_channel, Unreachable};
    use crate::ports::StoreError;
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn id(s: &str) -> CustomerId {
        CustomerId::parse(s).unwrap()
    }

    /// The application over `store` (sharing its records), retrying without waiting.
    fn on(store: &MemoryStore) -> Boomerang {
        Boomerang::new(Arc::new(store.clone()), Arc::new(ProgramConfig::defaults())).with_backoff(Arc::new(NoBackoff))
    }

    /// A store holding `id` with `email`, consented to email.
    fn store_with(id_: &str, email: Option<&str>) -> MemoryStore {
        let store = MemoryStore::default();
        add(&store, id_, email);
        store
    }

    fn add(store: &MemoryStore, id_: &str, email: Option<&str>) {
        let mut record = CustomerRecord::new(id(id_), at("2026-01-01T00:00:00Z"));
        record.customer.email = email.map(|e| Email::parse(e).unwrap());
        record.customer.consent.email = true;
        record.version = 1;
        store.insert(record);
    }

    const BOUNCED: &str = "2026-11-24T09:00:05Z";

    #[tokio::test]
    async fn a_permanent_bounce_marks_the_address_undeliverable_once() {
        let store = store_with("c1", Some("anna@example.ru"));
        let got = on(&store).email_feedback(Feedback::Bounce, &id("c1"), "anna@example.ru", at(BOUNCED)).await.unwrap();
        assert_eq!(got, Suppression::Applied);
        let record = store.get("c1");
        assert_eq!(record.customer.email_undeliverable_at, Some(at(BOUNCED)));
        assert_eq!(record.customer.updated_at, at(BOUNCED));
        assert_eq!(record.version, 2);
        assert!(record.customer.consent.email, "a bounce is not a withdrawal of consent");
        assert_eq!(choose_channel(&record.customer, false), Err(Unreachable::NoChannel));

        // The same event again, or a later bounce: the first time stays.
        let again = on(&store).email_feedback(Feedback::Bounce, &id("c1"), "anna@example.ru", at("2026-11-25T00:00:00Z")).await.unwrap();
        assert_eq!(again, Suppression::AlreadyApplied);
        assert_eq!(store.get("c1"), record);
        assert_eq!(store.writes(), 1);
    }

    #[tokio::test]
    async fn a_complaint_turns_email_consent_off_once() {
        let store = store_with("c1", Some("anna@example.ru"));
        let got = on(&store).email_feedback(Feedback::Complaint, &id("c1"), "anna@example.ru", at(BOUNCED)).await.unwrap();
        assert_eq!(got, Suppression::Applied);
        let record = store.get("c1");
        assert!(!record.customer.consent.email);
        let complaint = record.customer.withdrawal(Channel::Email).cloned().expect("the customer's withdrawal");
        assert_eq!((complaint.at, complaint.source), (at(BOUNCED), ConsentSource::Complaint));
        assert_eq!(record.customer.email_undeliverable_at, None, "the address still works");
        assert_eq!(choose_channel(&record.customer, false), Err(Unreachable::NoChannel));
        let again = on(&store).email_feedback(Feedback::Complaint, &id("c1"), "anna@example.ru", at(BOUNCED)).await.unwrap();
        assert_eq!(again, Suppression::AlreadyApplied);
        assert_eq!(store.writes(), 1);
    }

    #[tokio::test]
    async fn a_complaint_about_an_address_already_off_is_still_the_customers_no() {
        let store = store_with("c1", Some("anna@example.ru"));
        let mut record = store.get("c1");
        record.customer.consent.email = false; // turned off at a till: not the customer's own no
        store.insert(record);
        let got = on(&store).email_feedback(Feedback::Complaint, &id("c1"), "anna@example.ru", at(BOUNCED)).await.unwrap();
        assert_eq!(got, Suppression::Applied);
        assert_eq!(store.get("c1").customer.withdrawal(Channel::Email).map(|w| w.source.clone()), Some(ConsentSource::Complaint));
    }

    #[tokio::test]
    async fn a_bounce_withdraws_no_consent_and_records_no_consent_change() {
        let store = store_with("c1", Some("anna@example.ru"));
        on(&store).email_feedback(Feedback::Bounce, &id("c1"), "anna@example.ru", at(BOUNCED)).await.unwrap();
        let c = store.get("c1").customer;
        assert_eq!((c.consent.email, &c.consent_details.email), (true, &None));
        assert_eq!(c.withdrawal(Channel::Email), None);
    }

    fn phone(p: &str) -> Phone {
        Phone::parse(p).unwrap()
    }

    /// A store holding `c1` with a phone and SMS consent.
    fn texting() -> MemoryStore {
        let store = store_with("c1", None);
        let mut record = store.get("c1");
        record.customer.phone = Some(phone("+79161234567"));
        record.customer.consent.sms = true;
        store.insert(record);
        store
    }

    #[tokio::test]
    async fn an_sms_opt_out_is_the_customers_withdrawal_recorded_once() {
        let store = texting();
        let stop = at("2026-11-24T04:00:00Z");
        let got = on(&store).sms_opt_out(&id("c1"), &phone("+79161234567"), stop).await.unwrap();
        assert_eq!(got, Suppression::Applied);
        let c = store.get("c1").customer;
        let withdrawal = c.withdrawal(Channel::Sms).cloned().expect("withdrawn by the customer");
        assert_eq!((c.consent.sms, withdrawal.at, withdrawal.source), (false, stop, ConsentSource::SmsOptOut));
        assert_eq!(c.updated_at, stop);
        // The sweep asks again the next day: nothing changes, the first date stays.
        let again = on(&store).sms_opt_out(&id("c1"), &phone("+79161234567"), at("2026-11-25T04:00:00Z")).await;
        assert_eq!(again.unwrap(), Suppression::AlreadyApplied);
        assert_eq!(store.writes(), 1);
        assert_eq!(choose_channel(&store.get("c1").customer, false), Err(Unreachable::NoChannel));
    }

    #[tokio::test]
    async fn an_opt_out_of_another_number_or_customer_changes_nothing() {
        let store = texting();
        add(&store, "gone", Some("x@example.ru"));
        let mut gone = store.get("gone");
        gone.customer.erase(at("2026-06-01T00:00:00Z"));
        store.insert(gone);
        let stop = at("2026-11-24T04:00:00Z");
        for (who, number, expected) in [
            ("c1", "+79160000000", Suppression::AddressChanged),
            ("nobody", "+79161234567", Suppression::UnknownCustomer),
            ("gone", "+79161234567", Suppression::Erased),
        ] {
            assert_eq!(on(&store).sms_opt_out(&id(who), &phone(number), stop).await.unwrap(), expected, "{who}");
        }
        assert_eq!(store.writes(), 0);
        assert!(store.get("c1").customer.consent.sms);
    }

    #[tokio::test]
    async fn the_address_is_compared_without_case() {
        let store = store_with("c1", Some("Anna.Petrova@Example.ru"));
        let got = on(&store).email_feedback(Feedback::Bounce, &id("c1"), "anna.petrova@EXAMPLE.RU", at(BOUNCED)).await.unwrap();
        assert_eq!(got, Suppression::Applied);
        assert!(same_address("anna@example.ru", " \"Anna\" <ANNA@example.ru> "));
        assert!(!same_address("anna@example.ru", "anna@example.ru.evil"));
        assert!(!same_address("anna@example.ru", "<anna@example.ru"));
    }

    #[tokio::test]
    async fn an_event_about_an_address_the_customer_no_longer_has_changes_nothing() {
        let store = store_with("c1", Some("new@example.ru"));
        add(&store, "c2", None);
        for result in [
            on(&store).email_feedback(Feedback::Bounce, &id("c1"), "old@example.ru", at(BOUNCED)).await,
            on(&store).email_feedback(Feedback::Complaint, &id("c1"), "old@example.ru", at(BOUNCED)).await,
            on(&store).email_feedback(Feedback::Bounce, &id("c2"), "old@example.ru", at(BOUNCED)).await,
        ] {
            assert_eq!(result.unwrap(), Suppression::AddressChanged);
        }
        assert_eq!(store.writes(), 0);
        let c1 = store.get("c1").customer;
        assert_eq!((c1.email_undeliverable_at, c1.consent.email), (None, true));
        assert_eq!(choose_channel(&c1, false), Ok(Channel::Email));
    }

    #[tokio::test]
    async fn unknown_and_erased_customers_are_a_no_op() {
        let store = store_with("c1", Some("anna@example.ru"));
        let mut erased = store.get("c1");
        erased.customer.erase(at("2026-06-01T00:00:00Z"));
        store.insert(erased.clone());
        assert_eq!(
            on(&store).email_feedback(Feedback::Bounce, &id("c1"), "anna@example.ru", at(BOUNCED)).await.unwrap(),
            Suppression::Erased
        );
        assert_eq!(
            on(&store).email_feedback(Feedback::Complaint, &id("nobody"), "anna@example.ru", at(BOUNCED)).await.unwrap(),
            Suppression::UnknownCustomer
        );
        assert_eq!(store.get("c1"), erased);
        assert_eq!(store.writes(), 0);
    }

    #[tokio::test]
    async fn a_concurrent_write_is_retried_and_kept() {
        let store = store_with("c1", Some("anna@example.ru"));
        store.lose_next_races(3);
        let got = on(&store).email_feedback(Feedback::Bounce, &id("c1"), "anna@example.ru", at(BOUNCED)).await.unwrap();
        assert_eq!(got, Suppression::Applied);
        let record = store.get("c1");
        assert_eq!(record.version, 5, "three racing writes, then ours");
        assert_eq!(record.customer.name.as_deref(), Some("renamed 4"), "the racing write is not lost");
        assert_eq!(record.customer.email_undeliverable_at, Some(at(BOUNCED)));
    }

    #[tokio::test]
    async fn endless_contention_and_an_unavailable_store_are_errors() {
        let store = store_with("c1", Some("anna@example.ru"));
        store.lose_next_races(MAX_ATTEMPTS);
        let err = on(&store).email_feedback(Feedback::Complaint, &id("c1"), "anna@example.ru", at(BOUNCED)).await.unwrap_err();
        assert!(matches!(err, Error::Contention), "{err:?}");
        store.set_unavailable(true);
        let err = on(&store).email_feedback(Feedback::Bounce, &id("c1"), "anna@example.ru", at(BOUNCED)).await.unwrap_err();
        assert!(matches!(err, Error::Store(StoreError::Unavailable(_))), "{err:?}");
    }

    #[tokio::test]
    async fn a_late_event_never_moves_updated_at_back() {
        let store = store_with("c1", Some("anna@example.ru"));
        let mut record = store.get("c1");
        record.customer.updated_at = at("2026-12-01T00:00:00Z");
        store.insert(record);
        on(&store).email_feedback(Feedback::Complaint, &id("c1"), "anna@example.ru", at(BOUNCED)).await.unwrap();
        assert_eq!(store.get("c1").customer.updated_at, at("2026-12-01T00:00:00Z"));
    }
}
