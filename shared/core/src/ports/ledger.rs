//! Purchases and refunds: one read of everything a decision needs, one atomic conditional
//! commit of everything it changes.

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::domain::book::BookDelta;
use crate::domain::customer::CustomerRecord;
use crate::domain::ids::{CustomerId, ReceiptId, RefundId};
use crate::domain::ledger::LedgerEntry;
use crate::domain::purchase::{Receipt, Refund, RefundRequest};
use crate::domain::referral::ReferralReward;
use super::{Expected, StoreError};

/// Everything a purchase needs to decide, read in one round trip.
#[derive(Debug, Clone, Default)]
pub struct PurchaseView {
    pub customer: Option<CustomerRecord>,
    pub receipt: Option<Receipt>,
}

/// One purchase, committed atomically: the customer record (at `expected`), the receipt (only
/// if its id is new in the whole tenant, whatever the customer) and its entries.
/// The store writes `record` as given; the use case has set `record.version` to
/// `expected.next_version()`.
#[derive(Debug, Clone)]
pub struct PurchaseCommit {
    pub record: CustomerRecord,
    pub expected: Expected,
    pub receipt: Receipt,
    pub entries: Vec<LedgerEntry>,
    /// A referred friend's first qualifying purchase: the referrer's pending reward, written
    /// only if none is stored for this friend (the friend's record, at `expected`, guards it).
    pub referral_reward: Option<ReferralReward>,
}

impl PurchaseCommit {
    /// What the commit adds to the day book, in the same transaction.
    pub fn book(&self) -> BookDelta {
        BookDelta::purchase(&self.receipt, &self.entries, self.record.referral.referred_by.is_some())
    }
}

/// What a refund's view is read by: the refund's id, its receipt's, and the request's guess
/// of the receipt's customer.
#[derive(Debug, Clone, Copy)]
pub struct RefundKeys<'a> {
    pub refund: &'a RefundId,
    pub receipt: &'a ReceiptId,
    pub customer: Option<&'a CustomerId>,
}

impl<'a> RefundKeys<'a> {
    pub fn new(refund: &'a RefundId, receipt: &'a ReceiptId, customer: Option<&'a CustomerId>) -> Self {
        Self { refund, receipt, customer }
    }

    /// The keys of a refund request.
    pub fn of(req: &'a RefundRequest) -> Self {
        Self::new(&req.refund_id, &req.receipt_id, req.customer_id.as_ref())
    }
}

#[derive(Debug, Clone, Default)]
pub struct RefundView {
    pub refund: Option<Refund>,
    pub receipt: Option<Receipt>,
    /// The receipt's customer, when the receipt exists.
    pub customer: Option<CustomerRecord>,
}

/// One refund, committed atomically: the refund (only if its id is new), the receipt (only if
/// it still has `expected_refunds` refunds) and the customer record (at `expected_version`).
#[derive(Debug, Clone)]
pub struct RefundCommit {
    pub record: CustomerRecord,
    pub expected_version: u64,
    pub receipt: Receipt,
    pub expected_refunds: u32,
    pub refund: Refund,
    pub entries: Vec<LedgerEntry>,
    /// The refund's local date (the tenant's time zone): its points movements count on it in
    /// the day book.
    pub on: NaiveDate,
}

impl RefundCommit {
    /// What the commit adds to the day book, in the same transaction.
    pub fn book(&self) -> BookDelta {
        BookDelta::refund(self.on, &self.receipt, &self.refund, &self.entries, self.record.referral.referred_by.is_some())
    }
}

/// Purchases and refunds.
#[async_trait]
pub trait LedgerWriter: Send + Sync {
    /// The customer's record and the receipt with this id, whoever's it is (receipt ids are
    /// tenant-wide), read in one round trip.
    async fn purchase_view(&self, customer: &CustomerId, receipt: &ReceiptId) -> Result<PurchaseView, StoreError>;
    /// `Conflict` if the record moved, `Duplicate` if the receipt id is taken; nothing written then.
    async fn commit_purchase(&self, commit: &PurchaseCommit) -> Result<(), StoreError>;
    /// The refund with `keys.refund`, the receipt and the receipt's customer. `keys.customer`
    /// is the request's guess of that customer: a store may read it with the receipt, in the same
    /// round trip, and must read the receipt's own customer when the guess is wrong or absent.
    async fn refund_view(&self, keys: RefundKeys<'_>) -> Result<RefundView, StoreError>;
    /// `Conflict` if the record or receipt moved, `Duplicate` if the refund id is taken.
    async fn commit_refund(&self, commit: &RefundCommit) -> Result<(), StoreError>;
}

