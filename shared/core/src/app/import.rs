//! CSV imports as use cases, all or nothing per file: every row parsed (`domain::import`),
//! the whole file planned against the stored state in memory, and only then applied through
//! the ordinary use cases.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::app::{Boomerang, Error};
use crate::domain::config::ProgramConfig;
use crate::domain::customer::{CustomerRecord, ProfileEditor, ProfilePatch};
use crate::domain::ids::{CustomerId, ReceiptId};
use crate::domain::import::{parse_customers, parse_purchases, CsvRow, ImportError, ImportErrors};
use crate::domain::ledger::Account;
use crate::domain::purchase::{decide_purchase, Backdating, PurchaseRequest, Receipt};

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// A bad header, or the bad cells of every bad row (up to
    /// [`crate::domain::import::MAX_REPORTED_ERRORS`]). Nothing was written.
    #[error("{0}")]
    Invalid(ImportErrors),
    /// The row parses, but the program's rules or the stored data refuse it (or reading the
    /// store failed) while the file was being checked. Nothing was written.
    #[error("line {line}{}: {error}", column_note(.error))]
    Refused { line: usize, error: Error },
    /// Writing stopped at `line` after the whole file had been checked: the rows before it
    /// were applied. Re-running the same file completes the import (see the `Boomerang`
    /// import methods).
    #[error(
        "line {line}{}: {error}; the {applied} rows before it were applied, the rest were not — \
         re-run the same file to finish (applied rows are recognised and not applied twice)",
        column_note(.error)
    )]
    Interrupted { line: usize, applied: usize, error: Error },
}

fn column_note(error: &Error) -> String {
    error.field().map(|f| format!(", column {f}")).unwrap_or_default()
}

impl ImportFailure {
    /// The stable code, as the API would give it (`invalid_field` for a bad cell).
    pub fn code(&self) -> &'static str {
        match self {
            ImportFailure::Invalid(_) => "invalid_field",
            ImportFailure::Refused { error, .. } | ImportFailure::Interrupted { error, .. } => error.code(),
        }
    }

    pub fn line(&self) -> usize {
        match self {
            ImportFailure::Invalid(e) => e.first().line,
            ImportFailure::Refused { line, .. } | ImportFailure::Interrupted { line, .. } => *line,
        }
    }

    /// True when nothing of the file was written.
    pub fn nothing_applied(&self) -> bool {
        !matches!(self, ImportFailure::Interrupted { .. })
    }
}

impl From<ImportError> for ImportFailure {
    fn from(e: ImportError) -> Self {
        ImportFailure::Invalid(e.into())
    }
}

impl From<ImportErrors> for ImportFailure {
    fn from(e: ImportErrors) -> Self {
        ImportFailure::Invalid(e)
    }
}

/// What an import did. For purchases `created` counts receipts recorded and `unchanged`
/// receipts that were already recorded (replays); `updated` and `kept_withdrawn` are always 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Customers rows that said `true` for a channel the customer had withdrawn themselves
    /// (link, complaint, STOP): the withdrawal was kept (the rest of the row applied).
    pub kept_withdrawn: usize,
}

// ---------------------------------------------------------------------------------------------
// Planning: the whole file against the current state, in memory

/// What a customers row will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerAction {
    Create,
    Update,
    /// The stored profile already says what the row says: nothing is written.
    Unchanged,
}

/// Decides each customers row against the stored records (`stored` holds every record the
/// file names that exists). Refuses personal data for an erased customer. The flag is true
/// for a row that says `true` for a channel the customer withdrew (kept withdrawn).
pub fn plan_customers(
    parsed: &[(usize, CustomerId, ProfilePatch)],
    stored: &BTreeMap<CustomerId, CustomerRecord>,
    now: DateTime<Utc>,
) -> Result<Vec<(CustomerAction, bool)>, ImportFailure> {
    parsed
        .iter()
        .map(|(line, id, patch)| {
            let Some(record) = stored.get(id) else { return Ok((CustomerAction::Create, false)) };
            if record.customer.is_erased() && patch.sets_personal_data() {
                return Err(ImportFailure::Refused { line: *line, error: Error::CustomerErased });
            }
            let mut patched = record.customer.clone();
            let kept = patched
                .apply(patch, now, &ProfileEditor::import())
                .map_err(|e| ImportFailure::Refused { line: *line, error: e.into() })?;
            let action = if patched == record.customer { CustomerAction::Unchanged } else { CustomerAction::Update };
            Ok((action, !kept.is_empty()))
        })
        .collect()
}

/// What a purchases row will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurchaseAction {
    Record,
    /// Already recorded with the same content (stored, or earlier in this file).
    Replay,
}

/// Runs the file's purchases in file order on in-memory copies of the accounts, exactly as
/// [`Boomerang::purchase`] will (same `now`, any age allowed). `stored` holds the receipts of
/// the file that are already recorded; `accounts` the current account of every customer that
/// exists (a missing one starts empty).
pub fn plan_purchases(
    cfg: &ProgramConfig,
    parsed: &[(usize, PurchaseRequest)],
    stored: &BTreeMap<ReceiptId, Receipt>,
    mut accounts: BTreeMap<CustomerId, Account>,
    now: DateTime<Utc>,
) -> Result<Vec<PurchaseAction>, ImportFailure> {
    let mut in_file: BTreeMap<&ReceiptId, &PurchaseRequest> = BTreeMap::new();
    let mut plan = Vec::with_capacity(parsed.len());
    for (line, req) in parsed {
        let refused = |error| ImportFailure::Refused { line: *line, error };
        let same_as_before = match (in_file.get(&req.receipt_id), stored.get(&req.receipt_id)) {
            (Some(earlier), _) => Some(*earlier == req),
            (None, Some(receipt)) => Some(receipt.is_same_request(req)),
            (None, None) => None,
        };
        match same_as_before {
            Some(true) => plan.push(PurchaseAction::Replay),
            Some(false) => return Err(refused(Error::ReceiptConflict)),
            None => {
                let account = accounts.entry(req.customer_id.clone()).or_default();
                let decision =
                    decide_purchase(cfg, account, req, now, Backdating::AnyAge).map_err(|e| refused(Error::from(e)))?;
                *account = decision.account;
                in_file.insert(&req.receipt_id, req);
                plan.push(PurchaseAction::Record);
            }
        }
    }
    Ok(plan)
}

// ---------------------------------------------------------------------------------------------
// The use cases

/// Imports run in two phases so that nothing of a bad file is half-applied: first every row
/// is parsed and the whole file is checked against the current state in memory; a problem
/// names its line and nothing is written. Then the rows are applied one by one through the
/// ordinary use cases (each one atomic and conditional, as for the API).
///
/// A crash, store outage or concurrent change during the second phase leaves the rows before
/// the failing one applied ([`ImportFailure::Interrupted`]). Re-running the same file then
/// completes it: recorded receipts replay on their receipt_id (idempotent, not counted twice)
/// and customers already updated compare equal and are skipped. A concurrent POS purchase
/// between the phases can still make a later row fail its rules (e.g. the points were spent
/// meanwhile); that row is reported and the file must be fixed for the rest to go in.
impl Boomerang {
    /// `boomerang import customers FILE.csv`: enroll or update each row's customer. Consent
    /// changes are recorded with the source `import`; a `true` for a channel the customer
    /// withdrew themselves leaves it withdrawn and is counted in `kept_withdrawn`.
    pub async fn import_customers(&self, rows: &[CsvRow], now: DateTime<Utc>) -> Result<ImportSummary, ImportFailure> {
        let parsed = parse_customers(rows, self.today(now))?;
        let mut stored = BTreeMap::new();
        for (line, id, _) in &parsed {
            let record =
                self.store().customer(id).await.map_err(|e| ImportFailure::Refused { line: *line, error: e.into() })?;
            if let Some(record) = record {
                stored.insert(id.clone(), record);
            }
        }
        let plan = plan_customers(&parsed, &stored, now)?;

        let mut summary = ImportSummary { rows: rows.len(), ..ImportSummary::default() };
        for (n, ((line, id, patch), (action, kept))) in parsed.iter().zip(plan).enumerate() {
            if action == CustomerAction::Unchanged {
                summary.unchanged += 1;
                summary.kept_withdrawn += usize::from(kept);
                continue;
            }
            let interrupted = |error| ImportFailure::Interrupted { line: *line, applied: n, error };
            let enrolled = self.enroll_by(id, patch, &ProfileEditor::import(), now).await.map_err(interrupted)?;
            // What the write found decides (the customer may have unsubscribed since the plan).
            summary.kept_withdrawn += usize::from(!enrolled.kept_withdrawn.is_empty());
            if enrolled.created {
                summary.created += 1;
            } else {
                summary.updated += 1;
            }
        }
        Ok(summary)
    }

    /// `boomerang import purchases FILE.csv`: record a purchase history (any age allowed).
    pub async fn import_purchases(&self, rows: &[CsvRow], now: DateTime<Utc>) -> Result<ImportSummary, ImportFailure> {
        let parsed = parse_purchases(rows)?;
        let refused = |line: usize| move |e: crate::ports::StoreError| ImportFailure::Refused { line, error: e.into() };
        let mut accounts = BTreeMap::new();
        let mut stored = BTreeMap::new();
        for (line, req) in &parsed {
            if !accounts.contains_key(&req.customer_id) {
                let record = self.store().customer(&req.customer_id).await.map_err(refused(*line))?;
                accounts.insert(req.customer_id.clone(), record.map(|r| r.account).unwrap_or_default());
            }
            if !stored.contains_key(&req.receipt_id) {
                let view =
                    self.store().purchase_view(&req.customer_id, &req.receipt_id).await.map_err(refused(*line))?;
                if let Some(receipt) = view.receipt {
                    stored.insert(req.receipt_id.clone(), receipt);
                }
            }
        }
        plan_purchases(self.config(), &parsed, &stored, accounts, now)?;

        let mut summary = ImportSummary { rows: rows.len(), ..ImportSummary::default() };
        for (n, (line, req)) in parsed.iter().enumerate() {
            let outcome = self
                .purchase(req, now, Backdating::AnyAge)
                .await
                .map_err(|error| ImportFailure::Interrupted { line: *line, applied: n, error })?;
            if outcome.replayed {
                summary.unchanged += 1;
            } else {
                summary.created += 1;
            }
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use crate::app::testing::MemoryStore;
    use crate::domain::import::{parse_customers, parse_purchase_row};
    use crate::domain::import::test_rows::*;
    use super::*;

    #[test]
    fn customers_plan_creates_updates_skips_and_protects_erased_ones() {
        let parsed = parse_customers(
            &[customer_row(2, "new", "", ""), customer_row(3, "same", "", "1"), customer_row(4, "changed", "", "1")],
            today(),
        )
        .unwrap();
        let earlier = now() - chrono::Duration::days(3);
        let mut stored = BTreeMap::new();
        for (_, id, patch) in &parsed[1..] {
            let mut record = CustomerRecord::new(id.clone(), earlier);
            record.customer.apply(patch, earlier, &ProfileEditor::import()).unwrap();
            stored.insert(id.clone(), record);
        }
        stored.get_mut(&parsed[2].1).unwrap().customer.consent.email = false;
        let plan = plan_customers(&parsed, &stored, now()).unwrap();
        let actions: Vec<CustomerAction> = plan.iter().map(|(a, _)| a.clone()).collect();
        assert_eq!(actions, vec![CustomerAction::Create, CustomerAction::Unchanged, CustomerAction::Update]);
        assert!(plan.iter().all(|(_, kept)| !kept), "nobody withdrew anything");

        stored.get_mut(&parsed[1].1).unwrap().customer.erase(earlier);
        let e = plan_customers(&parsed, &stored, now()).unwrap_err();
        assert_eq!((e.line(), e.code()), (3, "customer_erased"));
        assert!(e.nothing_applied());
    }

    fn plan(
        rows: &[CsvRow],
        stored: &BTreeMap<ReceiptId, Receipt>,
        accounts: BTreeMap<CustomerId, Account>,
    ) -> Result<Vec<PurchaseAction>, ImportFailure> {
        let parsed = parse_purchases(rows).unwrap();
        plan_purchases(&ProgramConfig::defaults(), &parsed, stored, accounts, now())
    }

    #[test]
    fn purchases_plan_runs_the_file_in_order_on_the_accounts() {
        use PurchaseAction::{Record, Replay};
        // 1000.00 earns 50 points, which the next receipt may spend (30% cap = 60).
        let rows = [
            purchase_row(2, "r1", "1000", ""),
            purchase_row(3, "r2", "200", "50"),
            purchase_row(4, "r1", "1000.00", ""),
        ];
        assert_eq!(plan(&rows, &BTreeMap::new(), BTreeMap::new()).unwrap(), vec![Record, Record, Replay]);

        // Spending more than the file has earned so far fails on that line.
        let rows = [purchase_row(2, "r1", "1000", ""), purchase_row(3, "r2", "200", "51")];
        let e = plan(&rows, &BTreeMap::new(), BTreeMap::new()).unwrap_err();
        assert_eq!((e.line(), e.code()), (3, "insufficient_points"));
        assert!(e.to_string().starts_with("line 3, column redeem_points: "), "{e}");

        let rows = [purchase_row(2, "r1", "100", "31")];
        let mut accounts = BTreeMap::new();
        let mut rich = Account::default();
        rich.earn(crate::domain::ledger::LotKey::earned("2027-06-01".parse().unwrap()), 1000, "seed");
        accounts.insert(CustomerId::parse("c1").unwrap(), rich);
        assert_eq!(plan(&rows, &BTreeMap::new(), accounts).unwrap_err().code(), "redeem_cap_exceeded");

        let mut future = purchase_row(2, "r1", "100", "");
        future.fields.insert("occurred_at".into(), "2026-11-25T10:00:00+03:00".into());
        assert_eq!(plan(&[future], &BTreeMap::new(), BTreeMap::new()).unwrap_err().code(), "occurred_at_in_future");

        // History of any age is accepted (its points are born expired).
        let mut old = purchase_row(2, "r1", "100", "");
        old.fields.insert("occurred_at".into(), "2020-01-01T10:00:00+03:00".into());
        assert_eq!(plan(&[old], &BTreeMap::new(), BTreeMap::new()).unwrap(), vec![Record]);

        let mut euro = purchase_row(2, "r1", "100", "");
        euro.fields.insert("currency".into(), "EUR".into());
        assert_eq!(plan(&[euro], &BTreeMap::new(), BTreeMap::new()).unwrap_err().code(), "currency_mismatch");
    }

    #[test]
    fn a_receipt_id_reused_for_other_content_is_a_conflict() {
        let rows = [purchase_row(2, "r1", "1000", ""), purchase_row(3, "r1", "1000.01", "")];
        let e = plan(&rows, &BTreeMap::new(), BTreeMap::new()).unwrap_err();
        assert_eq!((e.line(), e.code()), (3, "receipt_conflict"));

        // Against what is stored: the same content replays, other content conflicts.
        let cfg = ProgramConfig::defaults();
        let first = parse_purchase_row(&purchase_row(2, "r1", "1000", "")).unwrap();
        let receipt = decide_purchase(&cfg, &Account::default(), &first, now(), Backdating::AnyAge).unwrap().receipt;
        let stored = BTreeMap::from([(receipt.receipt_id.clone(), receipt)]);
        assert_eq!(
            plan(&[purchase_row(7, "r1", "1000.00", "")], &stored, BTreeMap::new()).unwrap(),
            vec![PurchaseAction::Replay]
        );
        let e = plan(&[purchase_row(7, "r1", "999", "")], &stored, BTreeMap::new()).unwrap_err();
        assert_eq!((e.line(), e.code()), (7, "receipt_conflict"));
    }

    // -----------------------------------------------------------------------------------------

    // The use cases over a minimal in-memory store (only what imports touch).

    fn summary(rows: usize, created: usize, updated: usize, unchanged: usize) -> ImportSummary {
        ImportSummary { rows, created, updated, unchanged, kept_withdrawn: 0 }
    }

    #[tokio::test]
    async fn a_purchase_file_goes_in_once_and_replays_after() {
        let (app, fake) = MemoryStore::app();
        let rows = [
            purchase_row(2, "r1", "1000", ""),
            purchase_row(3, "r2", "200", "50"),
            purchase_row(4, "r1", "1000.00", ""),
        ];
        assert_eq!(app.import_purchases(&rows, now()).await.unwrap(), summary(3, 2, 0, 1));
        let writes = fake.writes();
        assert_eq!(app.import_purchases(&rows, now()).await.unwrap(), summary(3, 0, 0, 3));
        assert_eq!(fake.writes(), writes, "a re-import writes nothing");
        // 50 earned, 50 spent, (200 - 50) * 5% = 7 earned.
        let balance = app.balance(&CustomerId::parse("c1").unwrap(), now()).await.unwrap().balance;
        assert_eq!(balance, 7);
    }

    #[tokio::test]
    async fn a_refused_row_leaves_the_store_untouched() {
        let (app, fake) = MemoryStore::app();
        let rows = [purchase_row(2, "r1", "1000", ""), purchase_row(3, "r2", "200", "51")];
        let e = app.import_purchases(&rows, now()).await.unwrap_err();
        assert_eq!((e.line(), e.code(), e.nothing_applied()), (3, "insufficient_points", true));
        assert_eq!(fake.writes(), 0);
        let e = app
            .import_purchases(&[purchase_row(2, "r1", "1000", ""), purchase_row(3, "r2", "abc", "")], now())
            .await
            .unwrap_err();
        assert_eq!((e.line(), e.code()), (3, "invalid_field"));
        assert_eq!(fake.writes(), 0);
    }

    #[tokio::test]
    async fn an_interrupted_import_is_completed_by_running_it_again() {
        let (app, fake) = MemoryStore::app();
        let rows =
            [purchase_row(2, "r1", "1000", ""), purchase_row(3, "r2", "200", "50"), purchase_row(4, "r3", "10", "")];
        fake.fail_writes_after(Some(1));
        let e = app.import_purchases(&rows, now()).await.unwrap_err();
        assert!(matches!(e, ImportFailure::Interrupted { line: 3, applied: 1, .. }), "{e}");
        assert!(e.to_string().contains("re-run the same file"), "{e}");
        fake.fail_writes_after(None);
        assert_eq!(app.import_purchases(&rows, now()).await.unwrap(), summary(3, 2, 0, 1));
        assert_eq!(fake.receipt_count(), 3);
    }

    #[tokio::test]
    async fn a_customer_file_creates_updates_and_then_changes_nothing() {
        let (app, fake) = MemoryStore::app();
        let rows = [customer_row(2, "c1", "+79161234567", "yes"), customer_row(3, "c2", "", "")];
        assert_eq!(app.import_customers(&rows, now()).await.unwrap(), summary(2, 2, 0, 0));
        let writes = fake.writes();
        let later = now() + chrono::Duration::hours(1);
        assert_eq!(app.import_customers(&rows, later).await.unwrap(), summary(2, 0, 0, 2));
        assert_eq!(fake.writes(), writes, "an unchanged customer is not rewritten");

        let changed = [customer_row(2, "c1", "+79161234567", "no"), customer_row(3, "c2", "", "")];
        assert_eq!(app.import_customers(&changed, later).await.unwrap(), summary(2, 0, 1, 1));
        let c1 = app.customer(&CustomerId::parse("c1").unwrap()).await.unwrap().customer;
        assert_eq!((c1.consent.email, c1.updated_at), (false, later));

        app.erase(&CustomerId::parse("c2").unwrap(), later).await.unwrap();
        let writes = fake.writes();
        let e = app.import_customers(&changed, later).await.unwrap_err();
        assert_eq!((e.line(), e.code()), (3, "customer_erased")); // the name is personal data
        assert_eq!(fake.writes(), writes);
    }

    #[tokio::test]
    async fn a_reimport_keeps_the_customers_withdrawal_and_counts_the_row() {
        use crate::domain::customer::ConsentSource;
        use crate::domain::kinds::Channel;
        let (app, fake) = MemoryStore::app();
        let rows = [customer_row(2, "c1", "+79161234567", "yes"), customer_row(3, "c2", "", "yes")];
        app.import_customers(&rows, now()).await.unwrap();
        let c1 = CustomerId::parse("c1").unwrap();
        let imported = app.customer(&c1).await.unwrap().customer;
        let change = imported.consent_details.email.clone().expect("recorded");
        assert_eq!((change.granted, change.at, change.source), (true, now(), ConsentSource::Import));

        let token = app.unsubscribe_token(&c1).await.unwrap();
        let later = now() + chrono::Duration::hours(1);
        app.unsubscribe(&token, later).await.unwrap();
        let writes = fake.writes();

        // The same file again: c1's "yes" does not undo the unsubscribe; nothing is written.
        let got = app.import_customers(&rows, later).await.unwrap();
        assert_eq!(got, ImportSummary { kept_withdrawn: 1, ..summary(2, 0, 0, 2) });
        assert_eq!(fake.writes(), writes);

        // A row that changes something else too: applied, but the withdrawal stays.
        let mut renamed = customer_row(2, "c1", "+79161234567", "yes");
        renamed.fields.insert("name".into(), "Anna P.".into());
        let got = app.import_customers(&[renamed], later).await.unwrap();
        assert_eq!(got, ImportSummary { kept_withdrawn: 1, ..summary(1, 0, 1, 0) });
        let c = app.customer(&c1).await.unwrap().customer;
        assert_eq!((c.name.as_deref(), c.consent.email), (Some("Anna P."), false));
        assert_eq!(c.withdrawal(Channel::Email).map(|w| w.source.clone()), Some(ConsentSource::UnsubscribeLink));
    }
}
