//! CSV imports, the pure part: each row of a customers or purchases file parsed into the
//! profile patch or purchase request the API would have made of it.
//!
//! Reading the file is the caller's job (core does no I/O): it splits the CSV and hands over
//! one [`CsvRow`] per data row, keyed by header name, with the row's 1-based line in the file
//! (the header is line 1). Every cell goes through the same parsers the API uses. Checking the
//! whole file against the stored state and applying it is the import use case's
//! (`app::import`).
//!
//! Money is never a float: `amount` is read digit by digit into minor units.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, NaiveDate};

use crate::domain::customer::{self, ProfilePatch};
use crate::domain::ids::{Currency, CustomerId, Email, InvalidValue, Phone, ReceiptId, StoreId};
use crate::domain::kinds::{Channel, Locale};
use crate::domain::purchase::{PurchaseRequest, MAX_AMOUNT_MINOR};

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

/// At most this many bad rows of a file are reported; the rest are counted.
pub const MAX_REPORTED_ERRORS: usize = 20;

/// Every bad row of a file, so one round of fixes can cover them all: the first
/// [`MAX_REPORTED_ERRORS`] in file order (one per row: its first bad cell), and how many more
/// there are. A bad header is the only error: the rows cannot be read without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportErrors {
    /// In file order; never empty.
    errors: Vec<ImportError>,
    /// Bad rows after those in `errors`.
    more: usize,
}

impl ImportErrors {
    /// The first bad row.
    pub fn first(&self) -> &ImportError {
        &self.errors[0]
    }

    /// The bad rows reported, in file order (at most [`MAX_REPORTED_ERRORS`]).
    pub fn errors(&self) -> &[ImportError] {
        &self.errors
    }

    /// How many more rows are bad than [`ImportErrors::errors`] holds.
    pub fn more(&self) -> usize {
        self.more
    }

    /// How many rows are bad in all.
    pub fn total(&self) -> usize {
        self.errors.len() + self.more
    }

    /// Collects the errors of the rows in file order; `Ok` when there are none.
    fn collect(errors: Vec<ImportError>) -> Result<(), ImportErrors> {
        let mut all = ImportErrors { errors: Vec::new(), more: 0 };
        for e in errors {
            if all.errors.len() < MAX_REPORTED_ERRORS {
                all.errors.push(e);
            } else {
                all.more += 1;
            }
        }
        if all.errors.is_empty() { Ok(()) } else { Err(all) }
    }
}

impl From<ImportError> for ImportErrors {
    fn from(e: ImportError) -> Self {
        ImportErrors { errors: vec![e], more: 0 }
    }
}

/// One line per error, then "and N more rows".
impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        match self.more {
            0 => Ok(()),
            1 => f.write_str("\nand 1 more row"),
            n => write!(f, "\nand {n} more rows"),
        }
    }
}

impl std::error::Error for ImportErrors {}

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

/// Checks the header (from the first row's keys).
fn check_header_of(kind: ImportKind, rows: &[CsvRow]) -> Result<(), ImportError> {
    let Some(first) = rows.first() else { return Ok(()) };
    let headers: Vec<&String> = first.fields.keys().collect();
    check_headers(kind, &headers)
}

/// Checks that a row has exactly the first row's keys.
fn check_shape(row: &CsvRow, first: &CsvRow) -> Result<(), ImportError> {
    if row.fields.len() != first.fields.len() || !row.fields.keys().eq(first.fields.keys()) {
        let message = "the row's columns differ from the header".into();
        return Err(ImportError { line: row.line, column: None, message });
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

/// A decimal amount in major units, e.g. `1234.50` or `1234,50`, as minor units (`123450`).
/// Only digits with at most one decimal separator — a point, or a comma as Excel writes
/// amounts in locales such as Russian — and at most [`AMOUNT_DECIMALS`] decimals; no sign,
/// exponent, digit grouping or float rounding. Since grouping is refused, a comma is never a
/// thousands separator. Zero is refused: a receipt of nothing is a mistake.
pub fn parse_amount_minor(text: &str) -> Result<u64, InvalidValue> {
    let shape = || {
        InvalidValue(format!(
            "amount must be a plain decimal in major units with at most {AMOUNT_DECIMALS} decimals, \
             e.g. 1234.50 or 1234,50; got {text:?}"
        ))
    };
    if text.matches(['.', ',']).count() > 1 {
        return Err(shape());
    }
    let (whole, decimals) = match text.split_once(['.', ',']) {
        Some((_, "")) => return Err(shape()),
        Some((whole, decimals)) => (whole, decimals),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(decimals) {
        return Err(shape());
    }
    if decimals.len() > AMOUNT_DECIMALS && text.contains(',') {
        return Err(InvalidValue(format!(
            "amount has more than {AMOUNT_DECIMALS} decimals after its decimal comma ({text}); digit grouping \
             is not accepted: write e.g. 1234 or 1234,50"
        )));
    }
    if decimals.len() > AMOUNT_DECIMALS {
        return Err(InvalidValue(format!(
            "amount has more than {AMOUNT_DECIMALS} decimals ({text}); the currency has no smaller unit"
        )));
    }
    let too_large = || {
        let unit = 10u64.pow(AMOUNT_DECIMALS as u32);
        let max = format!("{}.{:0width$}", MAX_AMOUNT_MINOR / unit, MAX_AMOUNT_MINOR % unit, width = AMOUNT_DECIMALS);
        InvalidValue(format!("amount {text} is too large: at most {max}, as the API takes"))
    };
    let padding = std::iter::repeat_n(b'0', AMOUNT_DECIMALS - decimals.len());
    let mut minor: u64 = 0;
    for b in whole.bytes().chain(decimals.bytes()).chain(padding) {
        minor = minor.checked_mul(10).and_then(|m| m.checked_add(u64::from(b - b'0'))).ok_or_else(too_large)?;
    }
    if minor == 0 {
        return Err(InvalidValue("amount must be more than 0".into()));
    }
    if minor > MAX_AMOUNT_MINOR {
        return Err(too_large());
    }
    Ok(minor)
}

/// A whole number of points: digits only (`str::parse` would also take `+5`).
fn parse_points(text: &str) -> Result<u64, InvalidValue> {
    let bad = || InvalidValue(format!("redeem_points must be a whole number of points, e.g. 150; got {text:?}"));
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match text.parse() {
        Ok(points) if points <= MAX_AMOUNT_MINOR => Ok(points),
        _ => Err(InvalidValue(format!("redeem_points must be at most {MAX_AMOUNT_MINOR}, as the API takes; got {text}"))),
    }
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
    Locale::parse(text).ok_or_else(|| InvalidValue(Locale::unsupported(text)))
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

/// Parses a whole customers file. Every row is checked; the bad ones are the error (see
/// [`ImportErrors`]). A customer_id repeated within the file is refused: which row should
/// win is a guess.
pub fn parse_customers(
    rows: &[CsvRow],
    today: NaiveDate,
) -> Result<Vec<(usize, CustomerId, ProfilePatch)>, ImportErrors> {
    check_header_of(ImportKind::Customers, rows)?;
    let mut seen: BTreeMap<CustomerId, usize> = BTreeMap::new();
    let mut parsed = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for row in rows {
        let result = check_shape(row, &rows[0]).and_then(|()| parse_customer_row(row, today));
        match result {
            Ok((id, patch)) => match seen.get(&id) {
                Some(first) => errors.push(ImportError::new(
                    row.line,
                    "customer_id",
                    format!("customer {id} already appears on line {first}; give each customer one row"),
                )),
                None => {
                    seen.insert(id.clone(), row.line);
                    parsed.push((row.line, id, patch));
                }
            },
            Err(e) => errors.push(e),
        }
    }
    ImportErrors::collect(errors)?;
    Ok(parsed)
}

/// Parses a whole purchases file. Every row is checked; the bad ones are the error (see
/// [`ImportErrors`]).
pub fn parse_purchases(rows: &[CsvRow]) -> Result<Vec<(usize, PurchaseRequest)>, ImportErrors> {
    check_header_of(ImportKind::Purchases, rows)?;
    let mut parsed = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for row in rows {
        match check_shape(row, &rows[0]).and_then(|()| parse_purchase_row(row)) {
            Ok(request) => parsed.push((row.line, request)),
            Err(e) => errors.push(e),
        }
    }
    ImportErrors::collect(errors)?;
    Ok(parsed)
}

#[cfg(test)]
pub(crate) mod test_rows;

#[cfg(test)]
mod tests;
