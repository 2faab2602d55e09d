//! `[owner]`: who hears about the program without asking. With an `email`, the sweep of
//! `digest_weekday` sends the owner a weekly digest in `locale` (the program's default
//! locale when not set).

use chrono::Weekday;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::ids::Email;
use crate::domain::kinds::Locale;

use super::{err, ConfigError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerConfig {
    /// Where the weekly digest goes; no digest without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The local day of the week whose sweep sends the digest.
    #[serde(serialize_with = "weekday_name", deserialize_with = "weekday")]
    pub digest_weekday: Weekday,
    /// The digest's language; the program's `default_locale` when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
}

/// The days as the file spells them.
const DAY_NAMES: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// A weekday's name as the file spells it: `monday`.
pub fn weekday_word(day: Weekday) -> &'static str {
    DAY_NAMES[day.num_days_from_monday() as usize]
}

fn weekday_name<S: Serializer>(day: &Weekday, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(weekday_word(*day))
}

/// A day of the week by its English name, full or in three letters, in any letter case.
fn weekday<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
    let name = String::deserialize(d)?;
    name.trim().parse::<Weekday>().map_err(|_| {
        serde::de::Error::custom(format!(
            "{:?} is not a day of the week; write one of {}",
            name.chars().take(40).collect::<String>(),
            DAY_NAMES.join(", ")
        ))
    })
}

impl OwnerConfig {
    /// The digest's language: the owner's, else the program's default.
    pub fn locale_or(&self, default: Locale) -> Locale {
        self.locale.unwrap_or(default)
    }

    /// The address to send the digest to, if the owner gave one.
    pub fn digest_address(&self) -> Option<Email> {
        self.email.as_deref().and_then(|e| Email::parse(e).ok())
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        match &self.email {
            Some(email) if Email::parse(email).is_err() => {
                Err(err("owner.email", "must be an email address, e.g. owner@shop.example"))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::config::ProgramConfig;
    use super::*;

    #[test]
    fn without_an_owner_table_there_is_no_digest_and_monday_is_its_day() {
        let c = ProgramConfig::defaults();
        assert_eq!(c.owner.email, None);
        assert_eq!(c.owner.digest_address(), None);
        assert_eq!(c.owner.digest_weekday, Weekday::Mon);
        assert_eq!(c.owner.locale_or(c.default_locale), Locale::Ru);
    }

    #[test]
    fn the_owner_table_is_read_and_written_back() {
        let c = ProgramConfig::from_toml_str("[owner]\nemail = \"owner@shop.example\"\ndigest_weekday = \"Fri\"\nlocale = \"en\"\n")
            .unwrap();
        assert_eq!(c.owner.digest_address().unwrap().as_str(), "owner@shop.example");
        assert_eq!(c.owner.digest_weekday, Weekday::Fri);
        assert_eq!(c.owner.locale_or(Locale::Ru), Locale::En);
        let text = c.to_toml_string();
        assert!(text.contains("digest_weekday = \"friday\""), "{text}");
        assert_eq!(ProgramConfig::from_toml_str(&text).unwrap(), c);
    }

    #[test]
    fn bad_owner_settings_name_the_key_in_plain_words() {
        let cases = [
            ("[owner]\nemail = \"not an address\"", "owner.email", "must be an email address"),
            ("[owner]\ndigest_weekday = \"someday\"", "owner.digest_weekday", "\"someday\" is not a day of the week; write one of monday"),
            ("[owner]\ndigest_weekday = 1", "owner.digest_weekday", ""),
            ("[owner]\nlocale = \"fr\"", "owner.locale", "not a supported locale"),
            ("[owner]\nemial = \"a@b.c\"", "owner.emial", "did you mean email?"),
        ];
        for (text, key, words) in cases {
            let e = ProgramConfig::from_toml_str(text).unwrap_err();
            assert_eq!(e.key, key, "{text}: {e}");
            assert!(e.message.contains(words), "{text}: {e}");
        }
    }
}
