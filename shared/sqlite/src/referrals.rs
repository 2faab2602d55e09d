//! Referral codes and referrers' rewards.

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension, Transaction};

use boomerang_core::domain::kinds::SendStatus;
use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::referral::{ReferralCode, ReferralReward};
use boomerang_core::ports::{
    code_to_reserve, decode_json, encode_date, encode_json, Expected, Guard, ReferralStore, RewardCommit, StoreError,
};

use crate::rows::{exists, read_json, refuse_unless, CustomerRow};
use crate::sweep::RecordRows;
use crate::{write_tx, Fail, SqliteStore};

/// A reward as its row: friend, due date, status, JSON.
pub(crate) struct RewardRow([String; 4]);

impl RewardRow {
    pub(crate) fn encode(reward: &ReferralReward) -> Result<Self, StoreError> {
        Ok(Self([
            reward.friend.as_str().to_owned(),
            encode_date(reward.due_on),
            reward.status.as_str().to_owned(),
            encode_json(reward, "referral reward")?,
        ]))
    }

    /// Inserts a new reward: `Duplicate` when the friend has one already.
    pub(crate) fn insert(&self, tx: &Transaction<'_>) -> Result<(), Fail> {
        let [friend, due_on, status, body] = &self.0;
        let taken = exists(tx, "SELECT 1 FROM referral_rewards WHERE friend_id = ?1", friend)?;
        refuse_unless([(taken, Guard::NewId)])?;
        tx.prepare_cached("INSERT INTO referral_rewards (friend_id, due_on, status, body) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![friend, due_on, status, body])?;
        Ok(())
    }

    /// True when the friend's reward is no longer at `from`.
    fn moved(&self, tx: &Transaction<'_>, from: SendStatus) -> Result<bool, Fail> {
        Ok(!tx
            .prepare_cached("SELECT 1 FROM referral_rewards WHERE friend_id = ?1 AND status = ?2")?
            .exists(params![self.0[0], from.as_str()])?)
    }

    /// Rewrites the reward, its due date included (the governor may move it on).
    fn update(&self, tx: &Transaction<'_>) -> Result<(), Fail> {
        let [friend, due_on, status, body] = &self.0;
        tx.prepare_cached("UPDATE referral_rewards SET due_on = ?2, status = ?3, body = ?4 WHERE friend_id = ?1")?
            .execute(params![friend, due_on, status, body])?;
        Ok(())
    }
}

fn decode_reward(body: &str) -> Result<ReferralReward, StoreError> {
    decode_json(body, "referral reward")
}

#[async_trait]
impl ReferralStore for SqliteStore {
    async fn code_owner(&self, code: &ReferralCode) -> Result<Option<CustomerId>, StoreError> {
        let code = code.as_str().to_owned();
        self.run(move |conn| {
            let owner: Option<String> = conn
                .prepare_cached("SELECT customer_id FROM referral_codes WHERE code = ?1")?
                .query_row([code], |row| row.get(0))
                .optional()?;
            Ok(owner
                .map(|id| CustomerId::parse(&id).map_err(|e| StoreError::Corrupt(format!("referral code owner: {e}"))))
                .transpose()?)
        })
        .await
    }

    async fn put_customer_reserving_code(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError> {
        let code = code_to_reserve(record)?;
        let row = CustomerRow::encode(record, expected.next_version())?;
        let (code, owner) = (code.as_str().to_owned(), record.customer.customer_id.as_str().to_owned());
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            let taken = exists(&tx, "SELECT 1 FROM referral_codes WHERE code = ?1", &code)?;
            refuse_unless([(taken, Guard::NewId), (row.moved(&tx, expected)?, Guard::Unchanged)])?;
            row.write(&tx, expected)?;
            tx.prepare_cached("INSERT INTO referral_codes (code, customer_id) VALUES (?1, ?2)")?
                .execute(params![code, owner])?;
            Ok(tx.commit()?)
        })
        .await
    }

    async fn referral_reward(&self, friend: &CustomerId) -> Result<Option<ReferralReward>, StoreError> {
        let friend = friend.as_str().to_owned();
        self.run(move |conn| {
            Ok(read_json(conn, "SELECT body FROM referral_rewards WHERE friend_id = ?1", &friend, "referral reward")?)
        })
        .await
    }

    async fn rewards_due_on(&self, date: NaiveDate) -> Result<Vec<ReferralReward>, StoreError> {
        let on = encode_date(date);
        self.run(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT body FROM referral_rewards WHERE due_on = ?1 ORDER BY friend_id")?;
            let bodies = stmt.query_map([on], |row| row.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            Ok(bodies.iter().map(|b| decode_reward(b)).collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn customers_referred_on(&self, date: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
        let on = encode_date(date);
        self.run(move |conn| {
            Ok(crate::rows::customer_ids(conn, "SELECT customer_id FROM customers WHERE referred_on = ?1 ORDER BY customer_id", &on)?)
        })
        .await
    }

    async fn commit_reward(&self, commit: &RewardCommit, from: SendStatus) -> Result<(), StoreError> {
        let reward = RewardRow::encode(&commit.reward)?;
        // A referrer's reward counts in the day book on the date it came due.
        let referrer = commit.referrer.as_ref().map(|r| RecordRows::encode(r, commit.reward.due_on)).transpose()?;
        self.run(move |conn| {
            let tx = write_tx(conn)?;
            refuse_unless([(reward.moved(&tx, from)?, Guard::Unchanged), (RecordRows::moved(referrer.as_ref(), &tx)?, Guard::Unchanged)])?;
            RecordRows::write(referrer.as_ref(), &tx)?;
            reward.update(&tx)?;
            Ok(tx.commit()?)
        })
        .await
    }
}
