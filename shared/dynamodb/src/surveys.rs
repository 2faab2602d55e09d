//! NPS surveys (`SV#<customer>/<purchase date>`, in `by_survey_asked` and, once answered,
//! `by_survey_answered`) and the owner's alerts (`TENANT/ALERT#<date>`).

use async_trait::async_trait;
use chrono::NaiveDate;

use boomerang_core::domain::kinds::SendStatus;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::survey::alert::OwnerAlert;
use boomerang_core::domain::survey::{Survey, SurveyKey};
use boomerang_core::ports::{encode_date, encode_json, Expected, Guard, RecordCommit, StoreError, SurveyStore};

use crate::items::{self, item, key, n, s, Item};
use crate::layout::{
    owner_alert_sk, survey_answered_pk, survey_answered_pks, survey_asked_pk, survey_asked_pks, survey_pk,
    BY_SURVEY_ANSWERED, BY_SURVEY_ASKED, OUTCOME_STATUS, RECORD, SURVEY_REVISION, TENANT_PK,
};
use crate::transaction::{Condition, Transaction};
use crate::DynamoStore;

/// A survey: the record, its revision (for the conditions) and its index keys.
fn survey_item(survey: &Survey) -> Result<Item, StoreError> {
    let customer = survey.key.customer_id.as_str();
    let index_sk = format!("{customer}#{}", encode_date(survey.key.purchased_on));
    let mut found = item(
        survey_pk(customer),
        &encode_date(survey.key.purchased_on),
        [
            (RECORD, s(encode_json(survey, "survey")?)),
            (SURVEY_REVISION, n(survey.revision)),
            (BY_SURVEY_ASKED.pk, s(survey_asked_pk(survey.asked_on, customer))),
            (BY_SURVEY_ASKED.sk, s(index_sk.clone())),
        ],
    );
    if let Some(answer) = &survey.answer {
        found.insert(BY_SURVEY_ANSWERED.pk.to_owned(), s(survey_answered_pk(answer.listed_on(), customer)));
        found.insert(BY_SURVEY_ANSWERED.sk.to_owned(), s(index_sk));
    }
    Ok(found)
}

/// The stored survey is at the revision before `survey`'s.
fn previous_revision(survey: &Survey) -> Condition {
    Condition { expression: "r = :r", values: vec![(":r", n(survey.revision.saturating_sub(1)))] }
}

fn sorted(found: &[Item]) -> Result<Vec<Survey>, StoreError> {
    let mut surveys = found.iter().map(items::record).collect::<Result<Vec<Survey>, _>>()?;
    surveys.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(surveys)
}

impl DynamoStore {
    /// `survey` under `condition` with, when given, the customer record in one transaction.
    async fn write_survey(
        &self,
        survey: &Survey,
        condition: (Condition, Guard),
        record: Option<&RecordCommit>,
    ) -> Result<(), StoreError> {
        let Some(record) = record else {
            return match self.put_if(survey_item(survey)?, condition.0).await? {
                true => Ok(()),
                false => Err(StoreError::refused([condition.1]).unwrap_or(StoreError::Conflict)),
            };
        };
        let mut tx = Transaction::default();
        tx.put(&self.table, survey_item(survey)?, Some(condition))?;
        tx.put_customer(&self.table, &record.record, Expected::Version(record.expected_version))?;
        self.transact(tx).await
    }
}

#[async_trait]
impl SurveyStore for DynamoStore {
    async fn survey(&self, survey: &SurveyKey) -> Result<Option<Survey>, StoreError> {
        let found =
            self.get(key(survey_pk(survey.customer_id.as_str()), &encode_date(survey.purchased_on))).await?;
        found.as_ref().map(items::record).transpose()
    }

    async fn surveys_of(&self, customer: &CustomerId) -> Result<Vec<Survey>, StoreError> {
        let query = self.partition_query(None, survey_pk(customer.as_str()), None);
        sorted(&self.query_all(query).await?)
    }

    async fn record_survey(&self, survey: &Survey, record: &RecordCommit) -> Result<(), StoreError> {
        self.write_survey(survey, (Condition::absent(), Guard::NewId), Some(record)).await
    }

    async fn update_survey(&self, survey: &Survey, record: Option<&RecordCommit>) -> Result<(), StoreError> {
        self.write_survey(survey, (previous_revision(survey), Guard::Unchanged), record).await
    }

    async fn surveys_asked_on(&self, date: NaiveDate) -> Result<Vec<Survey>, StoreError> {
        sorted(&self.query_index(&BY_SURVEY_ASKED, survey_asked_pks(date)).await?)
    }

    async fn surveys_answered_on(&self, date: NaiveDate) -> Result<Vec<Survey>, StoreError> {
        sorted(&self.query_index(&BY_SURVEY_ANSWERED, survey_answered_pks(date)).await?)
    }

    async fn owner_alert(&self, date: NaiveDate) -> Result<Option<OwnerAlert>, StoreError> {
        let found = self.get(key(TENANT_PK.to_owned(), &owner_alert_sk(date))).await?;
        found.as_ref().map(items::record).transpose()
    }

    async fn put_owner_alert(&self, alert: &OwnerAlert, from: Option<SendStatus>) -> Result<(), StoreError> {
        let alert_item = item(
            TENANT_PK.to_owned(),
            &owner_alert_sk(alert.date),
            [(RECORD, s(encode_json(alert, "owner alert")?)), (OUTCOME_STATUS, s(alert.delivery.status.as_str()))],
        );
        let (condition, guard) = match from {
            None => (Condition::absent(), Guard::NewId),
            Some(from) => (Condition { expression: "st = :from", values: vec![(":from", s(from.as_str()))] }, Guard::Unchanged),
        };
        match self.put_if(alert_item, condition).await? {
            true => Ok(()),
            false => Err(StoreError::refused([guard]).unwrap_or(StoreError::Conflict)),
        }
    }
}
