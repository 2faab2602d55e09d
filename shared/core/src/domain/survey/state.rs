//! The `[survey]` program section: a leaf under `survey` (kinds, ids and templates only), so
//! the program can hold it without importing the survey rules, which use the program.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::ids::Email;
use crate::domain::kinds::Locale;
use crate::domain::template::Templates;

/// The longest question a program may ask (it is shown on a phone).
pub const MAX_QUESTION_CHARS: usize = 300;

/// `[survey]` of the program: the NPS question asked after a purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyConfig {
    pub enabled: bool,
    /// Share of a day's purchasers asked, chosen by a stable hash of customer and purchase date.
    pub sample_percent: u8,
    /// Days after the purchase the question is sent (1: the day after).
    pub delay_days: u32,
    /// A customer is asked at most once in this many days.
    pub min_days_between: u32,
    /// Promoters (9-10) are invited to refer a friend with their code.
    pub invite_promoters: bool,
    /// Where the day's detractor answers go, once a day (not a marketing message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_alert_email: Option<String>,
    /// The question on the survey page, per locale (`{shop_name}` may appear).
    pub question: BTreeMap<Locale, String>,
    /// The message with the survey link (`{survey_url}`), per locale.
    pub templates: BTreeMap<Locale, Templates>,
    /// The promoter's invitation to refer a friend (`{referral_code}`), per locale.
    pub invite_templates: BTreeMap<Locale, Templates>,
}

impl SurveyConfig {
    /// The first setting that is wrong: its key under `survey.` and why.
    pub fn problem(&self, default_locale: Locale) -> Option<(String, String)> {
        let problem = |key: &str, message: &str| Some((key.to_owned(), message.to_owned()));
        if self.sample_percent > 100 {
            return problem("sample_percent", "must be a percentage from 0 to 100");
        }
        if !(1..=30).contains(&self.delay_days) {
            return problem("delay_days", "must be from 1 to 30 days");
        }
        if self.min_days_between > 3650 {
            return problem("min_days_between", "must be from 0 to 3650 days");
        }
        if let Some(email) = &self.owner_alert_email {
            if Email::parse(email).is_err() {
                return problem("owner_alert_email", "must be an email address");
            }
        }
        if !self.question.contains_key(&default_locale) {
            return Some((
                "question".to_owned(),
                format!("needs the question in the default locale {}", default_locale.as_str()),
            ));
        }
        for (locale, text) in &self.question {
            if text.trim().is_empty() || text.chars().count() > MAX_QUESTION_CHARS {
                return Some((
                    format!("question.{}", locale.as_str()),
                    format!("must be 1 to {MAX_QUESTION_CHARS} characters"),
                ));
            }
        }
        None
    }

    /// The question in `locale`, else in the tenant's default locale.
    pub fn question_in(&self, locale: Locale, default_locale: Locale) -> &str {
        self.question.get(&locale).or_else(|| self.question.get(&default_locale)).map_or("", String::as_str)
    }
}
