//! The use cases: read, decide with the pure rules, commit conditionally, retry on conflict.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, NaiveDate, Utc};

use crate::auth::{self, ApiKeyRecord, Principal};
use crate::config::ProgramConfig;
use crate::customer::{CustomerRecord, ProfilePatch};
use crate::error::Error;
use crate::ids::{CustomerId, TerminalName};
use crate::ports::{CustomerReader, CustomerWriter, Expected, PurchaseCommit, RefundCommit, Store, StoreError};
use crate::purchase::{
    decide_purchase, decide_refund, Backdating, PurchaseRequest, Receipt, Refund, RefundRequest,
};

/// Attempts at a conditional write before answering `contention`.
pub const MAX_ATTEMPTS: u32 = 12;

/// Full-jitter exponential backoff between conflicting attempts.
pub(crate) async fn backoff(attempt: u32) {
    let cap_ms = (2u64 << attempt.min(6)).min(100);
    tokio::time::sleep(StdDuration::from_millis(fastrand::u64(0..=cap_ms))).await;
}

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
/// read at; a concurrent writer makes it read and decide again (bounded, with jitter).
/// Every change of a customer record alone goes through here.
pub(crate) async fn rewrite_customer<S, T, F>(store: &S, id: &CustomerId, mut decide: F) -> Result<Rewritten<T>, Error>
where
    S: CustomerReader + CustomerWriter + ?Sized,
    F: FnMut(Option<CustomerRecord>) -> Result<Rewrite<T>, Error>,
{
    for attempt in 0..MAX_ATTEMPTS {
        let current = store.customer(id).await?;
        let expected = Expected::of(&current);
        let mut record = match decide(current)? {
            Rewrite::Put(record) => record,
            Rewrite::Keep(answer) => return Ok(Rewritten::Kept(answer)),
        };
        record.version = expected.next_version();
        match store.put_customer(&record, expected).await {
            Ok(()) => return Ok(Rewritten::Written(record)),
            Err(StoreError::Conflict | StoreError::Duplicate) => backoff(attempt).await,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Contention)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseOutcome {
    pub receipt: Receipt,
    /// True when this was a retry of an already recorded receipt.
    pub replayed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOutcome {
    pub refund: Refund,
    pub replayed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceView {
    pub customer_id: CustomerId,
    pub balance: u64,
    pub expiring: Vec<(NaiveDate, u64)>,
}

/// The application: the store behind the port and the tenant's program.
#[derive(Clone)]
pub struct Boomerang {
    store: Arc<dyn Store>,
    config: Arc<ProgramConfig>,
    /// The unsubscribe secret never changes once made: read once, not on every send.
    secret: Arc<tokio::sync::OnceCell<Vec<u8>>>,
}

impl Boomerang {
    pub fn new(store: Arc<dyn Store>, config: Arc<ProgramConfig>) -> Self {
        Self { store, config, secret: Arc::default() }
    }

    /// The tenant's unsubscribe signing secret (made by the store on first use).
    pub(crate) async fn secret(&self) -> Result<&[u8], Error> {
        let secret = self.secret.get_or_try_init(|| self.store.unsubscribe_secret()).await?;
        Ok(secret.as_slice())
    }

    pub fn config(&self) -> &ProgramConfig {
        &self.config
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Checks an `Authorization` header value. Nothing else is read before this passes.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, Error> {
        // The auth scheme is case-insensitive (RFC 7235).
        let key = authorization
            .and_then(|h| h.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim())
            .filter(|k| k.starts_with(auth::KEY_PREFIX))
            .ok_or(Error::Unauthorized)?;
        match self.store.key_by_hash(&auth::key_hash(key)).await? {
            Some(record) if record.revoked_at.is_none() => {
                Ok(Principal { terminal: record.terminal, admin: record.admin })
            }
            _ => Err(Error::Unauthorized),
        }
    }

    /// Creates a key for a terminal; returns the key, which is never stored or shown again.
    pub async fn issue_key(
        &self,
        terminal: TerminalName,
        admin: bool,
        random: [u8; 32],
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        let key = auth::key_from_random(random);
        let record = ApiKeyRecord { key_hash: auth::key_hash(&key), terminal, admin, created_at: now, revoked_at: None };
        match self.store.insert_key(&record).await {
            Ok(()) => Ok(key),
            Err(StoreError::Duplicate) => Err(Error::invalid(
                "terminal",
                format!("terminal {} already has a live key; revoke it first or pick another name", record.terminal),
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn customer(&self, id: &CustomerId) -> Result<CustomerRecord, Error> {
        self.store.customer(id).await?.ok_or(Error::CustomerNotFound)
    }

    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        self.config.local_date(now)
    }

    pub async fn balance(&self, id: &CustomerId, now: DateTime<Utc>) -> Result<BalanceView, Error> {
        let record = self.customer(id).await?;
        let today = self.today(now);
        Ok(BalanceView {
            customer_id: id.clone(),
            balance: record.account.balance(today),
            expiring: record.account.expiring(today),
        })
    }

    /// Applies `change` to the customer record under a version condition, retrying on conflict.
    /// `change` gets the current record (or a fresh one when `create` allows it).
    async fn update_customer<F>(
        &self,
        id: &CustomerId,
        now: DateTime<Utc>,
        create: bool,
        mut change: F,
    ) -> Result<(CustomerRecord, bool), Error>
    where
        F: FnMut(&mut CustomerRecord) -> Result<(), Error>,
    {
        let rewritten = rewrite_customer(&*self.store, id, |current| {
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

    /// POST /v1/purchases: idempotent on receipt_id; one conditional commit.
    pub async fn purchase(
        &self,
        req: &PurchaseRequest,
        now: DateTime<Utc>,
        backdating: Backdating,
    ) -> Result<PurchaseOutcome, Error> {
        for attempt in 0..MAX_ATTEMPTS {
            let view = self.store.purchase_view(&req.customer_id, &req.receipt_id).await?;
            if let Some(receipt) = view.receipt {
                return if receipt.is_same_request(req) {
                    Ok(PurchaseOutcome { receipt, replayed: true })
                } else {
                    Err(Error::ReceiptConflict)
                };
            }
            let expected = Expected::of(&view.customer);
            let mut record = view.customer.unwrap_or_else(|| CustomerRecord::new(req.customer_id.clone(), now));
            let decision = decide_purchase(&self.config, &record.account, req, now, backdating).map_err(Error::from)?;
            record.account = decision.account;
            record.version = expected.next_version();
            let commit = PurchaseCommit { record, expected, receipt: decision.receipt, entries: decision.entries };
            match self.store.commit_purchase(&commit).await {
                Ok(()) => return Ok(PurchaseOutcome { receipt: commit.receipt, replayed: false }),
                // A concurrent writer won; a duplicate is replayed by the next read.
                Err(StoreError::Conflict | StoreError::Duplicate) => backoff(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Contention)
    }

    /// POST /v1/refunds: idempotent on refund_id.
    pub async fn refund(&self, req: &RefundRequest, now: DateTime<Utc>) -> Result<RefundOutcome, Error> {
        for attempt in 0..MAX_ATTEMPTS {
            let view = self.store.refund_view(&req.refund_id, &req.receipt_id, req.customer_id.as_ref()).await?;
            if let Some(refund) = view.refund {
                return if refund.is_same_request(req) {
                    Ok(RefundOutcome { refund, replayed: true })
                } else {
                    Err(Error::RefundConflict)
                };
            }
            let receipt = view.receipt.ok_or(Error::ReceiptNotFound)?;
            let mut record = view
                .customer
                .ok_or_else(|| StoreError::Corrupt(format!("receipt {} has no customer record", receipt.receipt_id)))?;
            let decision = decide_refund(&self.config, &record.account, &receipt, req, now).map_err(Error::from)?;
            let expected_version = record.version;
            record.account = decision.account;
            record.version += 1;
            let commit = RefundCommit {
                record,
                expected_version,
                expected_refunds: receipt.refund.refunds,
                receipt: decision.receipt,
                refund: decision.refund,
                entries: decision.entries,
            };
            match self.store.commit_refund(&commit).await {
                Ok(()) => return Ok(RefundOutcome { refund: commit.refund, replayed: false }),
                Err(StoreError::Conflict | StoreError::Duplicate) => backoff(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Contention)
    }
}
