//! NPS surveys and the owner's daily alerts.

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{params, Connection, Transaction};

use boomerang_core::domain::kinds::SendStatus;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::survey::alert::OwnerAlert;
use boomerang_core::domain::survey::{Survey, SurveyKey};
use boomerang_core::ports::{decode_json, encode_date, encode_json, Guard, RecordCommit, StoreError, SurveyStore};

use crate::rows::{exists, read_json, refuse_unless};
use crate::sweep::RecordRows;
use crate::{write_tx, Fail, SqliteStore};

/// A survey as its row: customer, purchase date, asked date, the date it is listed under as
/// answered (`Answer::listed_on`), revision, JSON.
struct SurveyRow {
    customer: String,
    purchased_on: String,
    asked_on: String,
    answered_on: Option<String>,
    revision: i64,
    body: String,
}

impl SurveyRow {
    fn encode(survey: &Survey) -> Result<Self, StoreError> {
        Ok(Self {
            customer: survey.key.customer_id.as_str().to_owned(),
            purchased_on: encode_date(survey.key.purchased_on),
            asked_on: encode_date(survey.asked_on),
            answered_on: survey.answer.as_ref().map(|a| encode_date(a.listed_on())),
            revision: i64::try_from(survey.revision).map_err(|_| StoreError::Corrupt("survey revision".into()))?,
            body: encode_json(survey, "survey")?,
        })
    }

    fn taken(&self, tx: &Transaction<'_>) -> Result<bool, Fail> {
        Ok(tx
            .prepare_cached("SELECT 1 FROM surveys WHERE customer_id = ?1 AND purchased_on = ?2")?
            .exists(params![self.customer, self.purchased_on])?)
    }

    /// True unless the stored survey is at the revision before this one.
    fn moved(&self, tx: &Transaction<'_>) -> Result<bool, Fail> {
        Ok(!tx
            .prepare_cached("SELECT 1 FROM surveys WHERE customer_id = ?1 AND purchased_on = ?2 AND revision = ?3")?
            .exists(params![self.customer, self.purchased_on, self.revision - 1])?)
    }

    fn upsert(&self, tx: &Transaction<'_>) -> Result<(), Fail> {
        tx.prepare_cached(
            "INSERT INTO surveys (customer_id, purchased_on, asked_on, answered_on, revision, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (customer_id, purchased_on) DO UPDATE SET \
             asked_on = excluded.asked_on, answered_on = excluded.answered_on, revision = excluded.revision, \
             body = excluded.body",
        )?
        .execute(params![self.customer, self.purchased_on, self.asked_on, self.answered_on, self.revision, self.body])?;
        Ok(())
    }
}

fn surveys_where(conn: &Connection, sql: &str, param: &str) -> Result<Vec<Survey>, Fail> {
    let mut stmt = conn.prepare_cached(sql)?;
    let bodies = stmt.query_map([param], |row| row.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    let mut surveys = bodies.iter().map(|b| decode_json(b, "survey")).collect::<Result<Vec<Survey>, _>>()?;
    surveys.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(surveys)
}

#[async_trait]
impl SurveyStore for SqliteStore {
    async fn survey(&self, key: &SurveyKey) -> Result<Option<Survey>, StoreError> {
        let (customer, on) = (key.customer_id.as_str().to_owned(), encode_date(key.purchased_on));
        self.run(move |conn| {
            let body: Option<String> = rusqlite::OptionalExtension::optional(
                conn.prepare_cached("SELECT body FROM surveys WHERE customer_id = ?1 AND purchased_on = ?2")?
                    .query_row(params![customer, on], |row| row.get(0)),
            )?;
            Ok(body.map(|b| decode_json(&b, "survey")).transpose()?)
        })
        .await
    }

    async fn surveys_of(&self, customer: &CustomerId) -> Result<Vec<Survey>, StoreError> {
        let customer = customer.as_str().to_owned();
        self.run(move |conn| Ok(surveys_where(conn, "SELECT body FROM surveys WHERE customer_id = ?1", &customer)?))
            .await
    }

    async fn record_survey(&self, survey: &Survey, record: &RecordCommit) -> Result<(), StoreError> {
        let row = SurveyRow::encode(survey)?;
        // A survey's commits credit nothing: the book's date is never used.
        let record = RecordRows::encode(record, record.recorded_at.date_naive())?;
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            refuse_unless([(row.taken(&tx)?, Guard::NewId), (RecordRows::moved(Some(&record), &tx)?, Guard::Unchanged)])?;
            RecordRows::write(Some(&record), &tx)?;
            row.upsert(&tx)?;
            Ok(tx.commit()?)
        })
        .await
    }

    async fn update_survey(&self, survey: &Survey, record: Option<&RecordCommit>) -> Result<(), StoreError> {
        let row = SurveyRow::encode(survey)?;
        let record = record.map(|r| RecordRows::encode(r, r.recorded_at.date_naive())).transpose()?;
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            refuse_unless([(row.moved(&tx)?, Guard::Unchanged), (RecordRows::moved(record.as_ref(), &tx)?, Guard::Unchanged)])?;
            RecordRows::write(record.as_ref(), &tx)?;
            row.upsert(&tx)?;
            Ok(tx.commit()?)
        })
        .await
    }

    async fn surveys_asked_on(&self, date: NaiveDate) -> Result<Vec<Survey>, StoreError> {
        let on = encode_date(date);
        self.run(move |conn| Ok(surveys_where(conn, "SELECT body FROM surveys WHERE asked_on = ?1", &on)?)).await
    }

    async fn surveys_answered_on(&self, date: NaiveDate) -> Result<Vec<Survey>, StoreError> {
        let on = encode_date(date);
        self.run(move |conn| Ok(surveys_where(conn, "SELECT body FROM surveys WHERE answered_on = ?1", &on)?)).await
    }

    async fn owner_alert(&self, date: NaiveDate) -> Result<Option<OwnerAlert>, StoreError> {
        let on = encode_date(date);
        self.run(move |conn| Ok(read_json(conn, "SELECT body FROM survey_alerts WHERE alert_date = ?1", &on, "owner alert")?))
            .await
    }

    async fn put_owner_alert(&self, alert: &OwnerAlert, from: Option<SendStatus>) -> Result<(), StoreError> {
        let (on, status, body) = (encode_date(alert.date), alert.delivery.status.as_str(), encode_json(alert, "owner alert")?);
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            match from {
                None => {
                    let taken = exists(&tx, "SELECT 1 FROM survey_alerts WHERE alert_date = ?1", &on)?;
                    refuse_unless([(taken, Guard::NewId)])?;
                    tx.prepare_cached("INSERT INTO survey_alerts (alert_date, status, body) VALUES (?1, ?2, ?3)")?
                        .execute(params![on, status, body])?;
                }
                Some(from) => {
                    let updated = tx
                        .prepare_cached("UPDATE survey_alerts SET status = ?2, body = ?3 WHERE alert_date = ?1 AND status = ?4")?
                        .execute(params![on, status, body, from.as_str()])?;
                    refuse_unless([(updated == 0, Guard::Unchanged)])?;
                }
            }
            Ok(tx.commit()?)
        })
        .await
    }
}
