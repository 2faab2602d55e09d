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
        .filter(|s| s.answer.as_ref().is_some_and(|a| a.listed_on() == date && a.score.group() == NpsGroup::Detractor))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::survey::{Answer, Score};

    fn answered(n: usize, score: u8, on: &str) -> Survey {
        let json = format!(
            r#"{{"key":{{"customer_id":"c{n}","purchased_on":"2026-11-01"}},"receipt_id":"R-{n}","store_id":"s1",
            "asked_on":"2026-11-02","locale":"en","decided_at":"2026-11-02T06:00:00Z","delivery":{{"status":"sent"}},"revision":3}}"#
        );
        let mut s: Survey = serde_json::from_str(&json).unwrap();
        let at = "2026-11-03T09:00:00Z".parse().unwrap();
        let comment = Some(format!("comment {n}"));
        s.answer = Some(Answer { score: Score::parse(score.into()).unwrap(), comment, first_at: at, answered_on: on.parse().unwrap(), at, replaced_on: None });
        s
    }

    #[test]
    fn the_alert_lists_the_days_detractors_only_at_most_a_hundred_and_names_no_customer() {
        let day: NaiveDate = "2026-11-03".parse().unwrap();
        let mut surveys: Vec<Survey> = (0..103).map(|n| answered(n, (n % 7) as u8, "2026-11-03")).collect();
        surveys.push(answered(200, 9, "2026-11-03"));
        surveys.push(answered(201, 2, "2026-11-04"));
        let list = detractors_of(&surveys, day);
        assert_eq!(list.len(), 103, "0-6 answered that day");
        let (subject, text) = render_alert("Shop", day, &list);
        assert!(subject.contains("103 detractor"), "{subject}");
        assert_eq!(text.matches("- score").count(), MAX_ALERT_ANSWERS);
        assert!(text.contains("- and 3 more") && text.contains("receipt R-0") && text.contains("comment 0"));
        assert!(!text.contains("c0 ") && !text.contains("comment 200") && !text.contains("comment 201"), "{text}");
    }
}
