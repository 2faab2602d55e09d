//! NPS surveys (intent, message and answer in one record) and the owner's daily alerts.

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::domain::kinds::SendStatus;
use crate::domain::ids::CustomerId;
use crate::domain::survey::alert::OwnerAlert;
use crate::domain::survey::{Survey, SurveyKey};
use super::{RecordCommit, StoreError};

#[async_trait]
pub trait SurveyStore: Send + Sync {
    async fn survey(&self, key: &SurveyKey) -> Result<Option<Survey>, StoreError>;
    /// Every survey of one customer (for erasure); their number grows by at most one per
    /// `survey.min_days_between`.
    async fn surveys_of(&self, customer: &CustomerId) -> Result<Vec<Survey>, StoreError>;
    /// The sweep's decision to ask: the survey only if its key is new (`Duplicate` otherwise)
    /// and, in the same atomic write, the customer record remembering the date it was asked
    /// (`Conflict` if it moved). Nothing is written on either error.
    async fn record_survey(&self, survey: &Survey, record: &RecordCommit) -> Result<(), StoreError>;
    /// Stores `survey` only if the stored one is still at `survey.revision - 1` and, when
    /// given, the customer record in the same atomic write (a claim reserves the governor's
    /// date). `Conflict` if either moved; nothing written then.
    async fn update_survey(&self, survey: &Survey, record: Option<&RecordCommit>) -> Result<(), StoreError>;
    /// The surveys a sweep asked on this date (an index: it may lag a write of the last moments).
    async fn surveys_asked_on(&self, date: NaiveDate) -> Result<Vec<Survey>, StoreError>;
    /// The surveys whose latest answer was given on this local date (`Answer::listed_on`; an
    /// index, as above).
    async fn surveys_answered_on(&self, date: NaiveDate) -> Result<Vec<Survey>, StoreError>;
    async fn owner_alert(&self, date: NaiveDate) -> Result<Option<OwnerAlert>, StoreError>;
    /// Stores the alert of its date: a new one when `from` is `None` (`Duplicate` if the date
    /// has one), else only if the stored status is still `from` (`Conflict` otherwise).
    async fn put_owner_alert(&self, alert: &OwnerAlert, from: Option<SendStatus>) -> Result<(), StoreError>;
}
