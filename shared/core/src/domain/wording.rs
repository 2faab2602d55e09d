//! How dates and greetings read in the customer's language: shared by the message wording
//! and by the config check that bounds what a template renders to.

use chrono::{Datelike, NaiveDate};

use crate::domain::kinds::Locale;

/// A date as the customer reads it: `24.12.2026` in Russian, `24 Dec 2026` in English.
pub fn format_date(date: NaiveDate, locale: Locale) -> String {
    match locale {
        Locale::Ru => date.format("%d.%m.%Y").to_string(),
        Locale::En => {
            const MONTHS: [&str; 12] =
                ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
            format!("{} {} {}", date.day(), MONTHS[date.month0() as usize], date.year())
        }
    }
}

/// The greeting used when the customer gave no name.
pub fn fallback_name(locale: Locale) -> &'static str {
    match locale {
        Locale::Ru => "Дорогой покупатель",
        Locale::En => "Dear customer",
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_the_customer_writes_them() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 5).expect("a date");
        assert_eq!(format_date(date, Locale::Ru), "05.12.2026");
        assert_eq!(format_date(date, Locale::En), "5 Dec 2026");
    }
}
