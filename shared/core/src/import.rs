//! CSV imports: customers and purchase history, all or nothing per file.
//!
//! Reading the file is the caller's job (core does no I/O): it splits the CSV and hands over
//! one [`CsvRow`] per data row, keyed by header name, with the row's 1-based line in the file
//! (the header is line 1). Here every row is parsed with the same parsers the API uses, the
//! whole file is checked against the current state, and only then is anything written.
//!
//! Money is never a float: `amount` is read digit by digit into minor units.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::{Locale, ProgramConfig};
use crate::customer::{self, Channel, CustomerRecord, ProfilePatch};
use crate::error::Error;
use crate::ids::{Currency, CustomerId, Email, InvalidValue, Phone, ReceiptId, StoreId};
use crate::ledger::Account;
use crate::purchase::{decide_purchase, Backdating, PurchaseRequest, Receipt};
use crate::service::Boomerang;

/// Decimal places of `amount`: the program's currency is assumed to have 100 minor units
/// (`point_value_minor` is counted in them), as RUB, EUR and USD do.
pub const AMOUNT_DECIMALS: usize = 2;

/// One data row of a CSV file: header name → raw cell, and where it was in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvRow {
    /// 1-based line of the row in the file; the header is line 1.
    pub line: usize,
    pub fields: BTreeMap<String, String>,
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Customers,
    Purchases,
}

pub const CUSTOMER_COLUMNS: [&str; 9] = [
    "customer_id",
    "phone",
    "email",
    "name",
    "birthday",
    "email_consent",
    "sms_consent",
    "preferred_channel",
    "locale",
];
pub const PURCHASE_COLUMNS: [&str; 7] =
    ["receipt_id", "customer_id", "amount", "currency", "occurred_at", "store_id", "redeem_points"];

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Customers => "customers",
            ImportKind::Purchases => "purchases",
        }
    }

    /// Every column the file may have, in documentation order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Customers => &CUSTOMER_COLUMNS,
            ImportKind::Purchases => &PURCHASE_COLUMNS,
        }
    }

    /// Columns the header must name. A customers file may carry any subset of the profile
    /// (a missing column is the same as empty cells: leave as is). A purchase needs all but
    /// `redeem_points`; `currency` is required so a file from a shop in another currency is
    /// refused rather than read as ours.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            ImportKind::Customers => &["customer_id"],
            ImportKind::Purchases => &["receipt_id", "customer_id", "amount", "currency", "occurred_at", "store_id"],
        }
    }
}

/// A row (or the header) that cannot be imported. Nothing of the file was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub line: usize,
    pub column: Option<String>,
    pub message: String,
}

impl ImportError {
    fn new(line: usize, column: &str, message: impl Into<String>) -> Self {
        Self { line, column: Some(column.to_owned()), message: message.into() }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, column {column}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

impl std::error::Error for ImportError {}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// A bad header or cell. Nothing was written.
    #[error("{0}")]
    Invalid(ImportError),
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
            ImportFailure::Invalid(e) => e.line,
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
        ImportFailure::Invalid(e)
    }
}

/// What an import did. For purchases `created` counts receipts recorded and `unchanged`
/// receipts that were already recorded (replays); `updated` is always 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

// ---------------------------------------------------------------------------------------------
// Headers and cells

/// Checks a header: every required column present, no unknown or repeated column.
/// Errors are reported on line 1. The caller may run it on its own (an empty file has no
/// rows to carry the header); the import methods run it on the rows' keys.
pub fn check_headers<S: AsRef<str>>(kind: ImportKind, headers: &[S]) -> Result<(), ImportError> {
    let mut seen = BTreeSet::new();
    for h in headers {
        let h = h.as_ref();
        if !kind.columns().contains(&h) {
            return Err(ImportError::new(
                1,
                h,
                format!("unknown column for a {} file; the columns are {}", kind.as_str(), kind.columns().join(",")),
            ));
        }
        if !seen.insert(h) {
            return Err(ImportError::new(1, h, "the column appears twice"));
        }
    }
    if let Some(missing) = kind.required().iter().find(|c| !seen.contains(**c)) {
        return Err(ImportError::new(
            1,
            missing,
            format!("required column is missing; a {} file needs {}", kind.as_str(), kind.required().join(",")),
        ));
    }
    Ok(())
}

/// Checks the header (from the first row's keys) and that every row has exactly those keys.
fn check_rows(kind: ImportKind, rows: &[CsvRow]) -> Result<(), ImportError> {
    let Some(first) = rows.first() else { return Ok(()) };
    let headers: Vec<&String> = first.fields.keys().collect();
    check_headers(kind, &headers)?;
    for row in rows {
        if row.fields.len() != headers.len() || !row.fields.keys().eq(headers.iter().copied()) {
            return Err(ImportError {
                line: row.line,
                column: None,
                message: "the row's columns differ from the header".into(),
            });
        }
    }
    Ok(())
}

/// A row being parsed: cells trimmed, empty = not given.
struct Cells<'a> {
    row: &'a CsvRow,
}

impl<'a> Cells<'a> {
    fn get(&self, column: &str) -> Option<&'a str> {
        self.row.fields.get(column).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn err(&self, column: &str, message: impl Into<String>) -> ImportError {
        ImportError::new(self.row.line, column, message)
    }

    /// A cell that must be given, parsed, naming the column on error.
    fn required<T>(&self, column: &str, parse: impl FnOnce(&str) -> Result<T, InvalidValue>) -> Result<T, ImportError> {
        let value = self.get(column).ok_or_else(|| self.err(column, "must not be empty"))?;
        parse(value).map_err(|e| self.err(column, e.0))
    }

    /// A cell that may be empty (not given), parsed if given.
    fn optional<T>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, InvalidValue>,
    ) -> Result<Option<T>, ImportError> {
        self.get(column).map(|v| parse(v).map_err(|e| self.err(column, e.0))).transpose()
    }
}

/// A decimal amount in major units, e.g. `1234.50`, as minor units (`123450`).
/// Only digits with at most one point and at most [`AMOUNT_DECIMALS`] decimals; no sign,
/// exponent, grouping or float rounding. Zero is refused: a receipt of nothing is a mistake.
pub fn parse_amount_minor(text: &str) -> Result<u64, InvalidValue> {
    let shape = || {
        InvalidValue(format!(
            "amount must be a plain decimal in major units with at most {AMOUNT_DECIMALS} decimals, \
             e.g. 1234.50; got {text:?}"
        ))
    };
    let (whole, decimals) = match text.split_once('.') {
        Some((_, "")) => return Err(shape()),
        Some((whole, decimals)) => (whole, decimals),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(decimals) {
        return Err(shape());
    }
    if decimals.len() > AMOUNT_DECIMALS {
        return Err(InvalidValue(format!(
            "amount has more than {AMOUNT_DECIMALS} decimals ({text}); the currency has no smaller unit"
        )));
    }
    let padding = std::iter::repeat_n(b'0', AMOUNT_DECIMALS - decimals.len());
    let mut minor: u64 = 0;
    for b in whole.bytes().chain(decimals.bytes()).chain(padding) {
        minor = minor
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(b - b'0')))
            .ok_or_else(|| InvalidValue(format!("amount {text} is too large")))?;
    }
    if minor == 0 {
        return Err(InvalidValue("amount must be more than 0".into()));
    }
    Ok(minor)
}

/// A whole number of points: digits only (`str::parse` would also take `+5`).
fn parse_points(text: &str) -> Result<u64, InvalidValue> {
    let bad = || InvalidValue(format!("redeem_points must be a whole number of points, e.g. 150; got {text:?}"));
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    text.parse().map_err(|_| bad())
}

fn parse_consent(text: &str) -> Result<bool, InvalidValue> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(InvalidValue(format!("consent must be true/false, 1/0 or yes/no; got {text:?}"))),
    }
}

fn parse_channel(text: &str) -> Result<Channel, InvalidValue> {
    [Channel::Email, Channel::Sms]
        .into_iter()
        .find(|c| c.as_str() == text)
        .ok_or_else(|| InvalidValue(format!("preferred_channel must be email or sms; got {text:?}")))
}

fn parse_locale(text: &str) -> Result<Locale, InvalidValue> {
    Locale::parse(text).ok_or_else(|| {
        let all: Vec<&str> = Locale::ALL.iter().map(|l| l.as_str()).collect();
        InvalidValue(format!("locale must be one of {}; got {text:?}", all.join(", ")))
    })
}

fn parse_occurred_at(text: &str) -> Result<DateTime<chrono::FixedOffset>, InvalidValue> {
    DateTime::parse_from_rfc3339(text).map_err(|_| {
        InvalidValue(format!(
            "occurred_at must be an RFC 3339 time with an offset, e.g. 2026-11-24T18:05:00+03:00; got {text:?}"
        ))
    })
}

/// One customers row. Empty cells leave the stored value as it is (an import never clears).
pub fn parse_customer_row(row: &CsvRow, today: NaiveDate) -> Result<(CustomerId, ProfilePatch), ImportError> {
    let cells = Cells { row };
    let id = cells.required("customer_id", CustomerId::parse)?;
    let patch = ProfilePatch {
        phone: cells.optional("phone", Phone::parse)?.map(Some),
        email: cells.optional("email", Email::parse)?.map(Some),
        name: cells.optional("name", customer::parse_name)?.map(Some),
        birthday: cells.optional("birthday", |v| customer::parse_birthday(v, today))?.map(Some),
        consent_email: cells.optional("email_consent", parse_consent)?,
        consent_sms: cells.optional("sms_consent", parse_consent)?,
        preferred_channel: cells.optional("preferred_channel", parse_channel)?.map(Some),
        locale: cells.optional("locale", parse_locale)?.map(Some),
    };
    Ok((id, patch))
}

/// One purchases row, as the request the POS would have sent.
pub fn parse_purchase_row(row: &CsvRow) -> Result<PurchaseRequest, ImportError> {
    let cells = Cells { row };
    Ok(PurchaseRequest {
        receipt_id: cells.required("receipt_id", ReceiptId::parse)?,
        customer_id: cells.required("customer_id", CustomerId::parse)?,
        amount_minor: cells.required("amount", parse_amount_minor)?,
        currency: cells.required("currency", Currency::parse)?,
        occurred_at: cells.required("occurred_at", parse_occurred_at)?,
        store_id: cells.required("store_id", StoreId::parse)?,
        redeem_points: cells.optional("redeem_points", parse_points)?.unwrap_or(0),
    })
}

/// Parses a whole customers file; the first bad row (in file order) is the error.
/// A customer_id repeated within the file is refused: which row should win is a guess.
pub fn parse_customers(
    rows: &[CsvRow],
    today: NaiveDate,
) -> Result<Vec<(usize, CustomerId, ProfilePatch)>, ImportError> {
    check_rows(ImportKind::Customers, rows)?;
    let mut seen: BTreeMap<CustomerId, usize> = BTreeMap::new();
    let mut parsed = Vec::with_capacity(rows.len());
    for row in rows {
        let (id, patch) = parse_customer_row(row, today)?;
        if let Some(first) = seen.insert(id.clone(), row.line) {
            return Err(ImportError::new(
                row.line,
                "customer_id",
                format!("customer {id} already appears on line {first}; give each customer one row"),
            ));
        }
        parsed.push((row.line, id, patch));
    }
    Ok(parsed)
}

/// Parses a whole purchases file; the first bad row (in file order) is the error.
pub fn parse_purchases(rows: &[CsvRow]) -> Result<Vec<(usize, PurchaseRequest)>, ImportError> {
    check_rows(ImportKind::Purchases, rows)?;
    rows.iter().map(|row| Ok((row.line, parse_purchase_row(row)?))).collect()
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
/// file names that exists). Refuses personal data for an erased customer.
pub fn plan_customers(
    parsed: &[(usize, CustomerId, ProfilePatch)],
    stored: &BTreeMap<CustomerId, CustomerRecord>,
    now: DateTime<Utc>,
) -> Result<Vec<CustomerAction>, ImportFailure> {
    parsed
        .iter()
        .map(|(line, id, patch)| {
            let Some(record) = stored.get(id) else { return Ok(CustomerAction::Create) };
            if record.customer.is_erased() && patch.sets_personal_data() {
                return Err(ImportFailure::Refused { line: *line, error: Error::CustomerErased });
            }
            let mut patched = record.customer.clone();
            patched.apply(patch, now);
            // `apply` always stamps updated_at; a change is a change of anything else.
            patched.updated_at = record.customer.updated_at;
            Ok(if patched == record.customer { CustomerAction::Unchanged } else { CustomerAction::Update })
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
    /// `boomerang import customers FILE.csv`: enroll or update each row's customer.
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
        for (n, ((line, id, patch), action)) in parsed.iter().zip(plan).enumerate() {
            if action == CustomerAction::Unchanged {
                summary.unchanged += 1;
                continue;
            }
            let interrupted = |error| ImportFailure::Interrupted { line: *line, applied: n, error };
            let (_, created) = self.enroll(id, patch, now).await.map_err(interrupted)?;
            if created {
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
    use super::*;

    fn row(line: usize, pairs: &[(&str, &str)]) -> CsvRow {
        CsvRow { line, fields: pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect() }
    }

    fn purchase_row(line: usize, receipt: &str, amount: &str, redeem: &str) -> CsvRow {
        row(
            line,
            &[
                ("receipt_id", receipt),
                ("customer_id", "c1"),
                ("amount", amount),
                ("currency", "RUB"),
                ("occurred_at", "2026-11-24T09:00:00+03:00"),
                ("store_id", "s1"),
                ("redeem_points", redeem),
            ],
        )
    }

    fn customer_row(line: usize, id: &str, phone: &str, consent: &str) -> CsvRow {
        row(
            line,
            &[
                ("customer_id", id),
                ("phone", phone),
                ("email", ""),
                ("name", "Anna"),
                ("birthday", "1990-05-17"),
                ("email_consent", consent),
                ("sms_consent", ""),
                ("preferred_channel", "sms"),
                ("locale", "ru"),
            ],
        )
    }

    fn now() -> DateTime<Utc> {
        "2026-11-24T10:00:00+03:00".parse().expect("valid")
    }

    fn today() -> NaiveDate {
        ProgramConfig::defaults().local_date(now())
    }

    #[test]
    fn amounts_are_read_exactly_into_minor_units() {
        for (text, minor) in [("1234.50", 123_450), ("12.5", 1250), ("12", 1200), ("0.01", 1), ("007.10", 710)] {
            assert_eq!(parse_amount_minor(text), Ok(minor), "{text}");
        }
        assert_eq!(parse_amount_minor("184467440737095516.15"), Ok(u64::MAX));
        for text in [
            "1.234",
            "-1",
            "0",
            "0.00",
            "1e3",
            "abc",
            "",
            ".5",
            "1.",
            "+1",
            "1,50",
            "1 000",
            "1.2.3",
            "184467440737095516.16",
        ] {
            assert!(parse_amount_minor(text).is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn a_bad_amount_names_its_line_and_column() {
        for bad in ["1.234", "-1", "0", "1e3", "abc"] {
            let rows = [purchase_row(2, "r1", "10", ""), purchase_row(3, "r2", bad, "")];
            let e = parse_purchases(&rows).unwrap_err();
            assert_eq!((e.line, e.column.as_deref()), (3, Some("amount")), "{bad}: {e}");
            assert!(e.to_string().starts_with("line 3, column amount: "), "{e}");
        }
    }

    #[test]
    fn a_purchase_row_becomes_the_request_the_pos_would_send() {
        let req = parse_purchase_row(&purchase_row(2, "r1", "1234.50", "")).unwrap();
        assert_eq!((req.amount_minor, req.redeem_points), (123_450, 0));
        assert_eq!(req.occurred_at.to_rfc3339(), "2026-11-24T09:00:00+03:00");
        assert_eq!(parse_purchase_row(&purchase_row(2, "r1", " 12 ", "30")).unwrap().redeem_points, 30);
        for (column, value) in [
            ("redeem_points", "+5"),
            ("redeem_points", "-5"),
            ("redeem_points", "1.5"),
            ("currency", "rub"),
            ("occurred_at", "2026-11-24 09:00"),
            ("occurred_at", "2026-11-24T09:00:00"),
            ("receipt_id", ""),
            ("store_id", "a b"),
        ] {
            let mut r = purchase_row(5, "r1", "10", "");
            r.fields.insert(column.into(), value.into());
            let e = parse_purchase_row(&r).unwrap_err();
            assert_eq!((e.line, e.column.as_deref()), (5, Some(column)), "{column}={value:?}: {e}");
        }
    }

    #[test]
    fn headers_must_be_known_complete_and_unique() {
        check_headers(ImportKind::Purchases, &PURCHASE_COLUMNS).unwrap();
        check_headers(ImportKind::Customers, &["customer_id"]).unwrap();
        let e = check_headers(ImportKind::Purchases, &["receipt_id", "customer_id", "amount", "currency", "store_id"])
            .unwrap_err();
        assert_eq!((e.line, e.column.as_deref()), (1, Some("occurred_at")), "{e}");
        assert!(e.message.contains("missing"), "{e}");
        let e = check_headers(ImportKind::Customers, &["customer_id", "phone", "fax"]).unwrap_err();
        assert_eq!((e.line, e.column.as_deref()), (1, Some("fax")), "{e}");
        assert!(e.message.contains("unknown"), "{e}");
        let e = check_headers(ImportKind::Customers, &["customer_id", "phone", "phone"]).unwrap_err();
        assert_eq!(e.column.as_deref(), Some("phone"));
    }

    #[test]
    fn rows_carry_the_header_check() {
        let mut r = purchase_row(2, "r1", "10", "");
        r.fields.remove("amount");
        assert_eq!(parse_purchases(&[r]).unwrap_err().column.as_deref(), Some("amount"));
        let mut r = customer_row(2, "c1", "", "");
        r.fields.insert("fax".into(), "1".into());
        assert_eq!(parse_customers(&[r], today()).unwrap_err().line, 1);
        // A later row that does not match the header is named by its own line.
        let mut odd = purchase_row(3, "r2", "10", "");
        odd.fields.remove("redeem_points");
        assert_eq!(parse_purchases(&[purchase_row(2, "r1", "10", ""), odd]).unwrap_err().line, 3);
        assert_eq!(parse_purchases(&[]).unwrap(), vec![]);
    }

    #[test]
    fn a_customer_row_becomes_a_patch_and_empty_cells_leave_fields_alone() {
        let (id, patch) = parse_customer_row(&customer_row(2, "c1", "+79161234567", "YES"), today()).unwrap();
        assert_eq!(id.as_str(), "c1");
        assert_eq!(patch.phone, Some(Some(Phone::parse("+79161234567").unwrap())));
        assert_eq!(patch.email, None);
        assert_eq!(patch.name, Some(Some("Anna".into())));
        assert_eq!(patch.birthday, Some(Some("1990-05-17".parse().unwrap())));
        assert_eq!((patch.consent_email, patch.consent_sms), (Some(true), None));
        assert_eq!(patch.preferred_channel, Some(Some(Channel::Sms)));
        assert_eq!(patch.locale, Some(Some(Locale::Ru)));
        for (text, value) in [("true", true), ("1", true), ("no", false), ("False", false), ("0", false)] {
            assert_eq!(parse_consent(text), Ok(value));
        }
        assert!(parse_consent("y").is_err());
    }

    #[test]
    fn a_bad_customer_cell_names_its_line() {
        let rows = [customer_row(2, "c1", "+79161234567", ""), customer_row(3, "c2", "8916123", "")];
        let e = parse_customers(&rows, today()).unwrap_err();
        assert_eq!((e.line, e.column.as_deref()), (3, Some("phone")), "{e}");
        assert!(e.to_string().starts_with("line 3, column phone: phone must be in E.164"), "{e}");
        for (column, value) in [
            ("birthday", "17.05.1990"),
            ("birthday", "2030-01-01"),
            ("email", "anna"),
            ("email_consent", "maybe"),
            ("preferred_channel", "pigeon"),
            ("locale", "de"),
            ("customer_id", ""),
        ] {
            let mut r = customer_row(4, "c1", "", "");
            r.fields.insert(column.into(), value.into());
            let e = parse_customer_row(&r, today()).unwrap_err();
            assert_eq!((e.line, e.column.as_deref()), (4, Some(column)), "{column}={value:?}: {e}");
        }
    }

    #[test]
    fn a_customer_twice_in_one_file_is_refused() {
        let rows = [customer_row(2, "c1", "", ""), customer_row(3, "c2", "", ""), customer_row(4, "c1", "", "")];
        let e = parse_customers(&rows, today()).unwrap_err();
        assert_eq!((e.line, e.column.as_deref()), (4, Some("customer_id")));
        assert!(e.message.contains("line 2"), "{e}");
    }

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
            record.customer.apply(patch, earlier);
            stored.insert(id.clone(), record);
        }
        stored.get_mut(&parsed[2].1).unwrap().customer.consent.email = false;
        let plan = plan_customers(&parsed, &stored, now()).unwrap();
        assert_eq!(plan, vec![CustomerAction::Create, CustomerAction::Unchanged, CustomerAction::Update]);

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
        rich.earn(crate::ledger::LotKey::earned("2027-06-01".parse().unwrap()), 1000, "seed");
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

    mod fake {
        use std::sync::{Arc, Mutex};

        use async_trait::async_trait;

        use super::super::*;
        use crate::auth::ApiKeyRecord;
        use crate::ids::{RefundId, TerminalName};
        use crate::ports::*;

        #[derive(Default)]
        pub struct State {
            pub customers: BTreeMap<CustomerId, CustomerRecord>,
            pub receipts: BTreeMap<ReceiptId, Receipt>,
            pub writes: usize,
            /// Refuse every write once this many have been made (a store outage mid-import).
            pub fail_after: Option<usize>,
        }

        #[derive(Default, Clone)]
        pub struct Fake(pub Arc<Mutex<State>>);

        fn lock(f: &Fake) -> std::sync::MutexGuard<'_, State> {
            f.0.lock().expect("not poisoned")
        }

        fn write(s: &mut State, id: &CustomerId, expected: Expected) -> Result<(), StoreError> {
            if s.fail_after.is_some_and(|n| s.writes >= n) {
                return Err(StoreError::Unavailable("outage".into()));
            }
            if Expected::of(&s.customers.get(id).cloned()) != expected {
                return Err(StoreError::Conflict);
            }
            s.writes += 1;
            Ok(())
        }

        #[async_trait]
        impl CustomerReader for Fake {
            async fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
                Ok(lock(self).customers.get(id).cloned())
            }
        }
        #[async_trait]
        impl CustomerWriter for Fake {
            async fn put_customer(&self, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError> {
                let mut s = lock(self);
                write(&mut s, &record.customer.customer_id, expected)?;
                s.customers.insert(record.customer.customer_id.clone(), record.clone());
                Ok(())
            }
        }
        #[async_trait]
        impl LedgerWriter for Fake {
            async fn purchase_view(
                &self,
                customer: &CustomerId,
                receipt: &ReceiptId,
            ) -> Result<PurchaseView, StoreError> {
                let s = lock(self);
                Ok(PurchaseView {
                    customer: s.customers.get(customer).cloned(),
                    receipt: s.receipts.get(receipt).cloned(),
                })
            }
            async fn commit_purchase(&self, commit: &PurchaseCommit) -> Result<(), StoreError> {
                let mut s = lock(self);
                if s.receipts.contains_key(&commit.receipt.receipt_id) {
                    return Err(StoreError::Duplicate);
                }
                write(&mut s, &commit.record.customer.customer_id, commit.expected)?;
                s.customers.insert(commit.record.customer.customer_id.clone(), commit.record.clone());
                s.receipts.insert(commit.receipt.receipt_id.clone(), commit.receipt.clone());
                Ok(())
            }
            async fn refund_view(
                &self,
                _: &RefundId,
                _: &ReceiptId,
                _: Option<&CustomerId>,
            ) -> Result<RefundView, StoreError> {
                unimplemented!("imports never refund")
            }
            async fn commit_refund(&self, _: &RefundCommit) -> Result<(), StoreError> {
                unimplemented!("imports never refund")
            }
        }
        #[async_trait]
        impl KeyStore for Fake {
            async fn insert_key(&self, _: &ApiKeyRecord) -> Result<(), StoreError> {
                unimplemented!("imports need no keys")
            }
            async fn key_by_hash(&self, _: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
                unimplemented!("imports need no keys")
            }
            async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
                unimplemented!("imports need no keys")
            }
            async fn revoke_key(&self, _: &TerminalName, _: DateTime<Utc>) -> Result<u32, StoreError> {
                unimplemented!("imports need no keys")
            }
        }
        #[async_trait]
        impl SecretStore for Fake {
            async fn unsubscribe_secret(&self) -> Result<Vec<u8>, StoreError> {
                unimplemented!("imports need no secret")
            }
        }
        #[async_trait]
        impl crate::ports::ReportStore for Fake {
            async fn receipts_on(&self, _: NaiveDate) -> Result<Vec<Receipt>, StoreError> {
                unimplemented!("imports never report")
            }
        }


        #[async_trait]
        impl crate::ports::SweepStore for Fake {
            async fn customers_last_bought_on(&self, _: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
                unimplemented!("imports never sweep")
            }
            async fn customers_born_on(&self, _: u32, _: u32) -> Result<Vec<CustomerId>, StoreError> {
                unimplemented!("imports never sweep")
            }
            async fn customers_with_lots_expiring_on(&self, _: NaiveDate) -> Result<Vec<CustomerId>, StoreError> {
                unimplemented!("imports never sweep")
            }
            async fn outcome(&self, _: &crate::sweep::OutcomeKey) -> Result<Option<crate::sweep::Outcome>, StoreError> {
                unimplemented!("imports never sweep")
            }
            async fn record_outcome(
                &self,
                _: &crate::sweep::Outcome,
                _: Option<&crate::ports::GiftCommit>,
            ) -> Result<(), StoreError> {
                unimplemented!("imports never sweep")
            }
            async fn update_outcome(&self, _: &crate::sweep::Outcome, _: crate::sweep::OutcomeStatus) -> Result<(), StoreError> {
                unimplemented!("imports never sweep")
            }
            async fn outcomes_on(&self, _: NaiveDate) -> Result<Vec<crate::sweep::Outcome>, StoreError> {
                unimplemented!("imports never sweep")
            }
            async fn commit_burn(&self, _: &crate::ports::BurnCommit) -> Result<(), StoreError> {
                unimplemented!("imports never sweep")
            }
            async fn last_completed_sweep(&self) -> Result<Option<NaiveDate>, StoreError> {
                unimplemented!("imports never sweep")
            }
            async fn complete_sweep(&self, _: NaiveDate) -> Result<(), StoreError> {
                unimplemented!("imports never sweep")
            }
        }

        pub fn app() -> (Boomerang, Fake) {
            let fake = Fake::default();
            (Boomerang::new(Arc::new(fake.clone()), Arc::new(ProgramConfig::defaults())), fake)
        }
    }

    fn summary(rows: usize, created: usize, updated: usize, unchanged: usize) -> ImportSummary {
        ImportSummary { rows, created, updated, unchanged }
    }

    #[tokio::test]
    async fn a_purchase_file_goes_in_once_and_replays_after() {
        let (app, fake) = fake::app();
        let rows = [
            purchase_row(2, "r1", "1000", ""),
            purchase_row(3, "r2", "200", "50"),
            purchase_row(4, "r1", "1000.00", ""),
        ];
        assert_eq!(app.import_purchases(&rows, now()).await.unwrap(), summary(3, 2, 0, 1));
        let writes = fake.0.lock().unwrap().writes;
        assert_eq!(app.import_purchases(&rows, now()).await.unwrap(), summary(3, 0, 0, 3));
        assert_eq!(fake.0.lock().unwrap().writes, writes, "a re-import writes nothing");
        // 50 earned, 50 spent, (200 - 50) * 5% = 7 earned.
        let balance = app.balance(&CustomerId::parse("c1").unwrap(), now()).await.unwrap().balance;
        assert_eq!(balance, 7);
    }

    #[tokio::test]
    async fn a_refused_row_leaves_the_store_untouched() {
        let (app, fake) = fake::app();
        let rows = [purchase_row(2, "r1", "1000", ""), purchase_row(3, "r2", "200", "51")];
        let e = app.import_purchases(&rows, now()).await.unwrap_err();
        assert_eq!((e.line(), e.code(), e.nothing_applied()), (3, "insufficient_points", true));
        assert_eq!(fake.0.lock().unwrap().writes, 0);
        let e = app
            .import_purchases(&[purchase_row(2, "r1", "1000", ""), purchase_row(3, "r2", "abc", "")], now())
            .await
            .unwrap_err();
        assert_eq!((e.line(), e.code()), (3, "invalid_field"));
        assert_eq!(fake.0.lock().unwrap().writes, 0);
    }

    #[tokio::test]
    async fn an_interrupted_import_is_completed_by_running_it_again() {
        let (app, fake) = fake::app();
        let rows =
            [purchase_row(2, "r1", "1000", ""), purchase_row(3, "r2", "200", "50"), purchase_row(4, "r3", "10", "")];
        fake.0.lock().unwrap().fail_after = Some(1);
        let e = app.import_purchases(&rows, now()).await.unwrap_err();
        assert!(matches!(e, ImportFailure::Interrupted { line: 3, applied: 1, .. }), "{e}");
        assert!(e.to_string().contains("re-run the same file"), "{e}");
        fake.0.lock().unwrap().fail_after = None;
        assert_eq!(app.import_purchases(&rows, now()).await.unwrap(), summary(3, 2, 0, 1));
        assert_eq!(fake.0.lock().unwrap().receipts.len(), 3);
    }

    #[tokio::test]
    async fn a_customer_file_creates_updates_and_then_changes_nothing() {
        let (app, fake) = fake::app();
        let rows = [customer_row(2, "c1", "+79161234567", "yes"), customer_row(3, "c2", "", "")];
        assert_eq!(app.import_customers(&rows, now()).await.unwrap(), summary(2, 2, 0, 0));
        let writes = fake.0.lock().unwrap().writes;
        let later = now() + chrono::Duration::hours(1);
        assert_eq!(app.import_customers(&rows, later).await.unwrap(), summary(2, 0, 0, 2));
        assert_eq!(fake.0.lock().unwrap().writes, writes, "an unchanged customer is not rewritten");

        let changed = [customer_row(2, "c1", "+79161234567", "no"), customer_row(3, "c2", "", "")];
        assert_eq!(app.import_customers(&changed, later).await.unwrap(), summary(2, 0, 1, 1));
        let c1 = app.customer(&CustomerId::parse("c1").unwrap()).await.unwrap().customer;
        assert_eq!((c1.consent.email, c1.updated_at), (false, later));

        app.erase(&CustomerId::parse("c2").unwrap(), later).await.unwrap();
        let writes = fake.0.lock().unwrap().writes;
        let e = app.import_customers(&changed, later).await.unwrap_err();
        assert_eq!((e.line(), e.code()), (3, "customer_erased")); // the name is personal data
        assert_eq!(fake.0.lock().unwrap().writes, writes);
    }
}
