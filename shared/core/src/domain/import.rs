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
pub(crate) mod test_rows {
    //! Rows as a CSV reader hands them over, for the tests of parsing and of the use case.
    use chrono::Utc;

    use crate::domain::config::ProgramConfig;
    use super::*;

    pub fn row(line: usize, pairs: &[(&str, &str)]) -> CsvRow {
        CsvRow { line, fields: pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect() }
    }

    pub fn purchase_row(line: usize, receipt: &str, amount: &str, redeem: &str) -> CsvRow {
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

    pub fn customer_row(line: usize, id: &str, phone: &str, consent: &str) -> CsvRow {
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

    pub fn now() -> DateTime<Utc> {
        "2026-11-24T10:00:00+03:00".parse().expect("valid")
    }

    pub fn today() -> NaiveDate {
        ProgramConfig::defaults().local_date(now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::test_rows::*;


    #[test]
    fn amounts_are_read_exactly_into_minor_units() {
        for (text, minor) in [
            ("1234.50", 123_450),
            ("12.5", 1250),
            ("12", 1200),
            ("0.01", 1),
            ("007.10", 710),
            // A decimal comma, as Excel writes amounts in a Russian locale.
            ("1234,50", 123_450),
            ("1,50", 150),
            ("12,5", 1250),
            ("0,01", 1),
        ] {
            assert_eq!(parse_amount_minor(text), Ok(minor), "{text}");
        }
        // At most what the API takes: 10^11 minor units.
        assert_eq!(parse_amount_minor("1000000000.00"), Ok(MAX_AMOUNT_MINOR));
        let e = parse_amount_minor("1000000000.01").unwrap_err();
        assert_eq!(e.0, "amount 1000000000.01 is too large: at most 1000000000.00, as the API takes");
        for text in [
            "1000000000.01",
            "184467440737095516.15",
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
            "1 000",
            "1,000.50",
            "1.000,50",
            "1,234,50",
            "1,234",
            ",5",
            "1,",
            "0,00",
            "1.2.3",
            "184467440737095516.16",
        ] {
            assert!(parse_amount_minor(text).is_err(), "{text:?} was accepted");
        }
        let grouped = parse_amount_minor("1,234").unwrap_err().0;
        assert!(grouped.contains("digit grouping is not accepted"), "{grouped}");
        assert_eq!(parse_purchase_row(&purchase_row(2, "r1", "1234,50", "")).unwrap().amount_minor, 123_450);
    }

    #[test]
    fn a_bad_amount_names_its_line_and_column() {
        for bad in ["1.234", "-1", "0", "1e3", "abc"] {
            let rows = [purchase_row(2, "r1", "10", ""), purchase_row(3, "r2", bad, "")];
            let e = parse_purchases(&rows).unwrap_err();
            assert_eq!(e.total(), 1, "{e}");
            let e = e.first();
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
        assert_eq!(parse_purchase_row(&purchase_row(2, "r1", "12", "100000000000")).unwrap().redeem_points, MAX_AMOUNT_MINOR);
        for (column, value) in [
            ("redeem_points", "+5"),
            ("redeem_points", "-5"),
            ("redeem_points", "1.5"),
            ("redeem_points", "100000000001"),
            ("redeem_points", "18446744073709551615"),
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
        assert_eq!(parse_purchases(&[r]).unwrap_err().first().column.as_deref(), Some("amount"));
        let mut r = customer_row(2, "c1", "", "");
        r.fields.insert("fax".into(), "1".into());
        let e = parse_customers(&[r.clone(), r], today()).unwrap_err();
        assert_eq!((e.first().line, e.total()), (1, 1), "a bad header is the one error: {e}");
        // A later row that does not match the header is named by its own line.
        let mut odd = purchase_row(3, "r2", "10", "");
        odd.fields.remove("redeem_points");
        assert_eq!(parse_purchases(&[purchase_row(2, "r1", "10", ""), odd]).unwrap_err().first().line, 3);
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
        assert_eq!(e.total(), 1, "{e}");
        let e = e.first();
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
        let rows = [
            customer_row(2, "c1", "", ""),
            customer_row(3, "c2", "", ""),
            customer_row(4, "c1", "", ""),
            customer_row(5, "c1", "", ""),
        ];
        let e = parse_customers(&rows, today()).unwrap_err();
        assert_eq!(e.total(), 2, "{e}");
        for (e, line) in e.errors.iter().zip([4, 5]) {
            assert_eq!((e.line, e.column.as_deref()), (line, Some("customer_id")));
            assert!(e.message.contains("already appears on line 2"), "{e}");
        }
    }

    #[test]
    fn every_bad_row_is_reported_not_only_the_first() {
        let mut rows: Vec<CsvRow> = (2..=8).map(|line| purchase_row(line, &format!("r{line}"), "10", "")).collect();
        rows[1].fields.insert("amount".into(), "ten".into()); // line 3
        rows[5].fields.insert("occurred_at".into(), "yesterday".into()); // line 7
        let e = parse_purchases(&rows).unwrap_err();
        let named: Vec<(usize, Option<&str>)> = e.errors.iter().map(|e| (e.line, e.column.as_deref())).collect();
        assert_eq!(named, vec![(3, Some("amount")), (7, Some("occurred_at"))]);
        assert_eq!(e.more, 0);
        let text = e.to_string();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.starts_with("line 3, column amount: ") && text.contains("\nline 7, column occurred_at: "), "{text}");

        let mut customers: Vec<CsvRow> = (2..=8).map(|line| customer_row(line, &format!("c{line}"), "", "")).collect();
        customers[1].fields.insert("birthday".into(), "1990-02-30".into()); // line 3
        customers[5].fields.insert("birthday".into(), "14.03.1990".into()); // line 7
        let e = parse_customers(&customers, today()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3, column birthday: birthday 1990-02-30 is not a date: February 1990 has days 01 to 28\n\
             line 7, column birthday: birthday must be a date as YYYY-MM-DD, e.g. 1990-03-14; got \"14.03.1990\""
        );
    }

    #[test]
    fn at_most_twenty_bad_rows_are_listed_and_the_rest_counted() {
        let rows: Vec<CsvRow> = (2..=26).map(|line| purchase_row(line, &format!("r{line}"), "-1", "")).collect();
        let e = parse_purchases(&rows).unwrap_err();
        assert_eq!((e.errors.len(), e.more, e.total()), (MAX_REPORTED_ERRORS, 5, 25));
        assert_eq!(e.errors.iter().map(|e| e.line).collect::<Vec<_>>(), (2..=21).collect::<Vec<_>>());
        let text = e.to_string();
        assert_eq!(text.lines().count(), 21, "{text}");
        assert!(text.ends_with("\nand 5 more rows"), "{text}");
        let one_more: Vec<CsvRow> = rows[..21].to_vec();
        assert!(parse_purchases(&one_more).unwrap_err().to_string().ends_with("\nand 1 more row"));
    }

    #[test]
    fn a_birthday_that_is_not_a_date_says_why() {
        let cases = [
            ("1990-02-30", "birthday 1990-02-30 is not a date: February 1990 has days 01 to 28"),
            ("1990-13-01", "birthday 1990-13-01 is not a date: there is no month 13 (months are 01 to 12)"),
            ("14.03.1990", "birthday must be a date as YYYY-MM-DD, e.g. 1990-03-14; got \"14.03.1990\""),
            ("1899-12-31", "birthday must be between 1900-01-01 and today"),
        ];
        for (text, message) in cases {
            assert_eq!(customer::parse_birthday(text, today()).unwrap_err().0, message, "{text}");
        }
        assert_eq!(customer::parse_birthday("1992-02-29", today()), Ok("1992-02-29".parse().unwrap()));
    }

    #[test]
    fn an_unsupported_locale_lists_the_supported_ones() {
        let mut r = customer_row(4, "c1", "", "");
        r.fields.insert("locale".into(), "fr".into());
        let e = parse_customer_row(&r, today()).unwrap_err();
        assert_eq!(e.to_string(), "line 4, column locale: \"fr\" is not a supported locale; the supported ones are ru, en");
    }
}
