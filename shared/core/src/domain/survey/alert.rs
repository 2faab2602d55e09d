//! The owner's daily detractor alert: one email a day listing the day's answers of 0-6
//! (score, comment, store, receipt; never the customer's contacts). Not a marketing message:
//! no unsubscribe link, no governor. Its record, keyed by the date, makes it go at most once.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{Delivery, NpsGroup, Survey};

/// The most answers one alert lists (the rest are counted): the record holding its text
/// stays far under an item's 400 KB.
pub const MAX_ALERT_ANSWERS: usize = 100;

/// The alert of one date: the intent (how many answers, and the email itself, so that any
/// sender can send it from this record alone), then its send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerAlert {
    pub date: NaiveDate,
    pub answers: u32,
    pub decided_at: DateTime<Utc>,
    pub delivery: Delivery,
    /// Subject and text until the send ends: it quotes comments (personal data), so it is
    /// dropped with the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<(String, String)>,
}

/// The day's detractor answers, in survey order.
pub fn detractors_of(answered: &[Survey], date: NaiveDate) -> Vec<&Survey> {
    let mut list: Vec<&Survey> = answered
        .iter()
        .filter(|s| s.answer.as_ref().is_some_and(|a| a.answered_on == date && a.score.group() == NpsGroup::Detractor))
        .collect();
    list.sort_by(|a, b| a.key.cmp(&b.key));
    list
}

/// The alert's subject and text.
pub fn render_alert(shop_name: &str, date: NaiveDate, detractors: &[&Survey]) -> (String, String) {
    let subject = format!("{shop_name}: {} detractor answer(s) on {date}", detractors.len());
    let mut text = format!(
        "Answers of 0-6 to the recommendation survey on {date} ({}):\n\n",
        detractors.len()
    );
    for survey in detractors.iter().take(MAX_ALERT_ANSWERS) {
        let Some(answer) = &survey.answer else { continue };
        text.push_str(&format!(
            "- score {} | store {} | receipt {} | purchase {}\n  {}\n",
            answer.score.value(),
            survey.store_id,
            survey.receipt_id,
            survey.key.purchased_on,
            answer.comment.as_deref().unwrap_or("(no comment)").replace('\n', "\n  ")
        ));
    }
    if detractors.len() > MAX_ALERT_ANSWERS {
        text.push_str(&format!("- and {} more\n", detractors.len() - MAX_ALERT_ANSWERS));
    }
    text.push_str("\nCustomers are not named: reply to them through your shop if you know them.\n");
    (subject, text)
}
