//! Calendar dates as people type them: the one `YYYY-MM-DD` parser of the CLI's options, the
//! API's query dates and birthdays, saying why a value that looks like a date is not one.

use std::fmt;

use chrono::NaiveDate;

use crate::domain::words;

/// Why a text is not a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateError {
    /// Not written as `YYYY-MM-DD` (four, two and two digits).
    NotYyyyMmDd,
    /// Written so, but the month is not 01 to 12.
    NoSuchMonth { month: u32 },
    /// Written so, but the month has no such day.
    NoSuchDay { year: i32, month: u32, days: u32 },
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl fmt::Display for DateError {
    /// Why a date written as `YYYY-MM-DD` is not one: "there is no month 13 (months are 01 to
    /// 12)", "February 2026 has days 01 to 28".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DateError::NotYyyyMmDd => f.write_str("it is not written as YYYY-MM-DD"),
            DateError::NoSuchMonth { month } => write!(f, "there is no month {month:02} (months are 01 to 12)"),
            DateError::NoSuchDay { year, month, days } => {
                write!(f, "{} {year} has days 01 to {days}", MONTHS[month as usize - 1])
            }
        }
    }
}

/// A date written `YYYY-MM-DD`, exactly: four, two and two digits (`2026-1-5`, `24.11.2026`
/// and `2026-11-24T00:00` are refused).
/// Every date from `from` to `to`, both included (none when `from` is after `to`).
pub fn dates(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d <= to)
}

pub fn parse_date(text: &str) -> Result<NaiveDate, DateError> {
    let parts: Vec<&str> = text.split('-').collect();
    let shaped = parts.len() == 3
        && [4, 2, 2].iter().zip(&parts).all(|(len, p)| p.len() == *len && p.bytes().all(|b| b.is_ascii_digit()));
    if !shaped {
        return Err(DateError::NotYyyyMmDd);
    }
    let number = |p: &str| p.parse::<u32>().expect("digits only");
    let (year, month, day) = (number(parts[0]) as i32, number(parts[1]), number(parts[2]));
    if !(1..=12).contains(&month) {
        return Err(DateError::NoSuchMonth { month });
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| DateError::NoSuchDay {
        year,
        month,
        days: days_in(year, month),
    })
}

fn days_in(year: i32, month: u32) -> u32 {
    (28..=31).rev().find(|d| NaiveDate::from_ymd_opt(year, month, *d).is_some()).unwrap_or(28)
}

/// A date parser's refusal for a named value (an API field, a CSV column): `birthday must be
/// a date as YYYY-MM-DD, e.g. 1990-03-14; got "14.03.1990"`, or `birthday 1990-02-30 is not a
/// date: February 1990 has days 01 to 28`.
pub fn date_error_in_words(name: &str, text: &str, example: &str, error: DateError) -> String {
    match error {
        DateError::NotYyyyMmDd => {
            format!("{name} must be a date as YYYY-MM-DD, e.g. {example}; got {}", words::quote(text))
        }
        reason => format!("{name} {text} is not a date: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn dates_are_read_exactly_as_yyyy_mm_dd() {
        assert_eq!(parse_date("2026-11-24"), Ok(date(2026, 11, 24)));
        assert_eq!(parse_date("2024-02-29"), Ok(date(2024, 2, 29)));
        assert_eq!(parse_date("0001-01-01"), Ok(date(1, 1, 1)));
        for text in
            ["yesterday", "2026-1-5", "24.11.2026", "2026-11-24T00:00", "+2026-11-24", "2026-11-2x", "", "2026--11-24"]
        {
            assert_eq!(parse_date(text), Err(DateError::NotYyyyMmDd), "{text:?}");
        }
    }

    #[test]
    fn a_date_in_the_right_form_that_is_not_one_says_why() {
        assert_eq!(parse_date("2026-13-01").unwrap_err().to_string(), "there is no month 13 (months are 01 to 12)");
        assert_eq!(parse_date("2026-00-10").unwrap_err().to_string(), "there is no month 00 (months are 01 to 12)");
        assert_eq!(parse_date("1990-02-30").unwrap_err().to_string(), "February 1990 has days 01 to 28");
        assert_eq!(parse_date("2024-02-30").unwrap_err().to_string(), "February 2024 has days 01 to 29");
        assert_eq!(parse_date("2026-04-31").unwrap_err().to_string(), "April 2026 has days 01 to 30");
        assert_eq!(parse_date("2026-12-32").unwrap_err().to_string(), "December 2026 has days 01 to 31");
        assert_eq!(parse_date("2026-12-00").unwrap_err().to_string(), "December 2026 has days 01 to 31");
    }

    #[test]
    fn a_named_value_says_what_is_wanted_and_why_this_one_is_not_it() {
        let words = |text: &str| date_error_in_words("birthday", text, "1990-03-14", parse_date(text).unwrap_err());
        assert_eq!(words("14.03.1990"), "birthday must be a date as YYYY-MM-DD, e.g. 1990-03-14; got \"14.03.1990\"");
        assert_eq!(words("1990-02-30"), "birthday 1990-02-30 is not a date: February 1990 has days 01 to 28");
        assert_eq!(
            words("1990-13-01"),
            "birthday 1990-13-01 is not a date: there is no month 13 (months are 01 to 12)"
        );
        assert!(words(&"x".repeat(100)).ends_with("xxx\"..."), "{}", words(&"x".repeat(100)));
    }
}
