//! The ledger as stored, read back row by row, and the checks that tie a customer's record to
//! it. The store port never reads ledger entries (nothing in the product needs them back), so
//! each adapter's tests give a [`LedgerRows`] that reads its own rows: the SQLite table, the
//! DynamoDB items. The racing cases and the simulation judge the record against those rows,
//! never against what the use cases meant to write.

use std::collections::BTreeMap;

use async_trait::async_trait;

use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::ledger::{EntryKind, LedgerEntry};

/// Reads every ledger entry a store holds for one customer, however it keeps them.
#[async_trait]
pub trait LedgerRows: Send + Sync {
    async fn entries(&self, customer: &CustomerId) -> Result<Vec<LedgerEntry>, String>;
}

/// Points per entry kind, and per reference, of one customer's stored entries.
#[derive(Debug, Default)]
pub struct LedgerSums {
    pub by_kind: BTreeMap<&'static str, u64>,
    /// (kind, reference) → points.
    pub by_reference: BTreeMap<(&'static str, String), u64>,
}

impl LedgerSums {
    pub fn of(entries: &[LedgerEntry]) -> Self {
        let mut sums = LedgerSums::default();
        for e in entries {
            *sums.by_kind.entry(e.kind.as_str()).or_default() += e.points;
            *sums.by_reference.entry((e.kind.as_str(), e.reference.clone())).or_default() += e.points;
        }
        sums
    }

    pub fn kind(&self, kind: EntryKind) -> u64 {
        self.by_kind.get(kind.as_str()).copied().unwrap_or(0)
    }

    /// Points of `kind` recorded under `reference` (a receipt, refund, gift or burn id).
    pub fn referenced(&self, kind: EntryKind, reference: &str) -> u64 {
        self.by_reference.get(&(kind.as_str(), reference.to_owned())).copied().unwrap_or(0)
    }

    /// Every point ever referenced by `reference`, whatever the kind.
    pub fn any_referenced(&self, reference: &str) -> u64 {
        self.by_reference.iter().filter(|((_, r), _)| r == reference).map(|(_, p)| p).sum()
    }

    /// Credits minus debits: what the customer's lots must hold. Negative would mean points
    /// left that never came in.
    pub fn net(&self) -> i128 {
        let credit = self.kind(EntryKind::Earn) + self.kind(EntryKind::Gift) + self.kind(EntryKind::Restore);
        let debit = self.kind(EntryKind::Redeem) + self.kind(EntryKind::Clawback) + self.kind(EntryKind::Expire);
        i128::from(credit) - i128::from(debit)
    }
}

/// What is wrong between a customer's record and their stored ledger rows: the points held
/// must be the entries' net sum (never negative), each total the sum of its kind, and the
/// record's own identity must hold. Empty when all is well.
pub fn account_faults(record: &CustomerRecord, sums: &LedgerSums) -> Vec<String> {
    let mut faults = Vec::new();
    let id = record.customer.customer_id.as_str();
    let a = &record.account;
    if sums.net() < 0 {
        faults.push(format!("{id}: the ledger rows debit {} more points than they credit", -sums.net()));
    }
    if i128::from(a.held()) != sums.net() {
        faults.push(format!("{id}: the lots hold {} points, the ledger rows net {}", a.held(), sums.net()));
    }
    let t = &a.totals;
    for (kind, total) in [
        (EntryKind::Earn, t.earned),
        (EntryKind::Gift, t.gifted),
        (EntryKind::Restore, t.restored),
        (EntryKind::Redeem, t.spent),
        (EntryKind::Clawback, t.clawed_back),
        (EntryKind::Expire, t.expired),
    ] {
        if sums.kind(kind) != total {
            faults.push(format!("{id}: the record's {} total is {total}, its ledger rows sum to {}", kind.as_str(), sums.kind(kind)));
        }
    }
    if !a.is_balanced() {
        faults.push(format!("{id}: the account's totals do not balance its lots"));
    }
    faults
}
