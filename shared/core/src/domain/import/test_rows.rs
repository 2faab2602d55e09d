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
