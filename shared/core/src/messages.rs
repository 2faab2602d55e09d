//! Message wording: dates and numbers in the customer's locale, and template variables.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::config::{Locale, ProgramConfig, TriggerKind};

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

/// Template variables with long-ish typical values, for bounding what a template renders to.
pub fn sample_vars(cfg: &ProgramConfig, kind: TriggerKind, locale: Locale) -> BTreeMap<&'static str, String> {
    let date = format_date(NaiveDate::from_ymd_opt(2026, 12, 24).expect("valid date"), locale);
    let trigger = cfg.trigger(kind);
    BTreeMap::from([
        ("name", "Александра".to_string()),
        ("shop_name", cfg.shop_name.clone()),
        ("balance", "12345".to_string()),
        ("gift_points", trigger.gift_points.to_string()),
        ("gift_expires_on", date.clone()),
        ("points", "1234".to_string()),
        ("expires_on", date),
        ("unsubscribe_url", format!("{}/v1/unsubscribe?token=sample", cfg.messaging.unsubscribe_base_url)),
    ])
}
