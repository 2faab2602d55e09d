//! The NPS survey's contract, run through the use cases over any store: a stable sample of a
//! day's purchasers asked once and spaced per customer, the link's message through the contact
//! rules, one answer per survey (replaced within 7 days, then closed), expired and invalid
//! links refused, comments erased with the customer, promoters invited once, and the owner's
//! detractor alert at most once a day.

use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::kinds::{MessageKind, SendStatus};
use boomerang_core::domain::survey::{in_sample, Score, SurveyKey};
use boomerang_core::Error;
use chrono::{Duration, NaiveDate};

use crate::sweep_cases::{date, noon, Shop};
use crate::StoreFactory;

/// The day the customers buy in these cases; the survey goes the day after.
const DAY: &str = "2026-11-02";

async fn shop(factory: impl StoreFactory, survey: &str) -> Shop {
    let text = format!("[survey]\n{survey}\n");
    let config = boomerang_core::domain::config::ProgramConfig::from_toml_str(&text).expect("a valid program");
    let shop = Shop::open(factory, config).await;
    shop.store.complete_sweep(date(DAY) - Duration::days(1)).await.unwrap();
    shop
}

fn id(s: &str) -> CustomerId {
    CustomerId::parse(s).unwrap()
}

fn key(who: &str, day: NaiveDate) -> SurveyKey {
    SurveyKey { customer_id: id(who), purchased_on: day }
}

/// The survey links sent to `who`, as tokens read from the messages' text.
fn tokens_to(shop: &Shop, who: &str) -> Vec<String> {
    shop.messenger
        .sent_to(who)
        .into_iter()
        .filter(|m| m.key.kind == MessageKind::Survey)
        .map(|m| {
            let (_, rest) = m.text.split_once("/v1/survey?token=").expect("the message carries the link");
            rest.split_whitespace().next().unwrap().to_owned()
        })
        .collect()
}

/// Anna (email) bought on `day` and was asked the day after: her link's token.
async fn anna_asked(shop: &Shop, day: NaiveDate) -> String {
    shop.enroll("anna", None, None, noon(day)).await;
    shop.buy("anna", "a-1", day).await;
    shop.sweep(day + Duration::days(1)).await;
    tokens_to(shop, "anna").pop().expect("a link was sent")
}

fn score(n: i64) -> Score {
    Score::parse(n).unwrap()
}

pub async fn a_stable_sample_of_the_days_purchasers_is_asked_once_and_spaced(factory: impl StoreFactory) {
    let shop = shop(factory, "sample_percent = 50").await;
    let day = date(DAY);
    let people: Vec<String> = (0..16).map(|n| format!("c{n}")).collect();
    for (n, who) in people.iter().enumerate() {
        shop.enroll(who, None, None, noon(day)).await;
        shop.buy(who, &format!("r-{n}"), day).await;
        if n == 0 {
            shop.buy(who, "r-0b", day).await; // two receipts, one survey
        }
    }
    let report = shop.sweep(day + Duration::days(1)).await;
    let sampled: Vec<&String> = people.iter().filter(|who| in_sample(&id(who), day, 50)).collect();
    assert!(!sampled.is_empty() && sampled.len() < people.len(), "a real sample: {}", sampled.len());
    assert_eq!(report.surveys.asked, sampled.len() as u64);
    assert_eq!(report.surveys.sent_email, sampled.len() as u64);
    for who in &people {
        let asked = shop.store.survey(&key(who, day)).await.unwrap();
        assert_eq!(asked.is_some(), sampled.contains(&who), "{who}: the sample is the hash's");
        assert_eq!(tokens_to(&shop, who).len(), usize::from(sampled.contains(&who)));
    }
    let first = shop.store.survey(&key("c0", day)).await.unwrap();
    if let Some(first) = first {
        assert_eq!(first.receipt_id.as_str(), "r-0", "the day's first receipt");
    }
    // A rerun asks and sends nothing more.
    let again = shop.sweep(day + Duration::days(1)).await;
    assert_eq!((again.surveys.asked, again.surveys.sent_email), (0, 0));
    assert_eq!(shop.messenger.sent().len(), sampled.len());

    // Spacing: bought again later, a customer asked within min_days_between (90) is not asked.
    let later = day + Duration::days(30);
    let asked_again: Vec<&String> = sampled.iter().copied().filter(|who| in_sample(&id(who), later, 50)).collect();
    for (n, who) in sampled.iter().enumerate() {
        shop.buy(who, &format!("later-{n}"), later).await;
    }
    // The days between have nothing to sweep: skip them (on the emulator each costs queries).
    shop.store.complete_sweep(later).await.unwrap();
    let report = shop.sweep(later + Duration::days(1)).await;
    assert_eq!(report.surveys.asked, 0, "{} would be in the sample but were asked 30 days ago", asked_again.len());
    let far = day + Duration::days(95);
    let mut expected = 0;
    for (n, who) in sampled.iter().enumerate() {
        shop.buy(who, &format!("far-{n}"), far).await;
        expected += u64::from(in_sample(&id(who), far, 50));
    }
    shop.store.complete_sweep(far).await.unwrap();
    assert_eq!(shop.sweep(far + Duration::days(1)).await.surveys.asked, expected, "asked again after 90 days");
}

pub async fn the_survey_message_obeys_consent_and_the_governor(factory: impl StoreFactory) {
    let shop = shop(factory, "sample_percent = 100").await;
    let day = date(DAY);
    shop.enroll("anna", None, None, noon(day)).await;
    shop.buy("anna", "a-1", day).await;
    shop.buy("walk-in", "w-1", day).await; // no contacts, no consent
    let report = shop.sweep(day + Duration::days(1)).await;
    assert_eq!((report.surveys.asked, report.surveys.sent_email, report.surveys.unreachable), (2, 1, 1));
    let walk_in = shop.store.survey(&key("walk-in", day)).await.unwrap().unwrap();
    assert_eq!(walk_in.delivery.status, SendStatus::Unreachable);
    let anna = shop.store.customer(&id("anna")).await.unwrap().unwrap();
    assert_eq!(anna.contact.last_message_on, Some(day + Duration::days(1)), "the governor's date is reserved");

    // Messaged yesterday, bought again: the next survey waits for the governor (2 dates)...
    let asked_on = day + Duration::days(1);
    let mut record = anna.clone();
    record.contact.last_survey_on = None; // as if never surveyed, to test the governor alone
    let expected = boomerang_core::ports::Expected::Version(record.version);
    record.version += 1;
    shop.store.put_customer(&record, expected).await.unwrap();
    shop.buy("anna", "a-2", asked_on).await;
    let report = shop.sweep(asked_on + Duration::days(1)).await;
    assert_eq!((report.surveys.asked, report.surveys.sent_email), (1, 0), "asked, but held by the governor");
    let report = shop.sweep(asked_on + Duration::days(3)).await;
    assert_eq!(report.surveys.sent_email, 1, "sent once the governor allows");
    assert_eq!(shop.messenger.sent_to("anna").len(), 2);
}

pub async fn one_answer_per_survey_replaced_within_seven_days_then_closed(factory: impl StoreFactory) {
    let shop = shop(factory, "sample_percent = 100").await;
    let day = date(DAY);
    let token = anna_asked(&shop, day).await;
    let app = &shop.app;
    let page = app.survey_page(&token, noon(day + Duration::days(1))).await.unwrap();
    assert_eq!((page.survey.store_id.as_str(), page.survey.receipt_id.as_str()), ("s1", "a-1"));
    let at = noon(day + Duration::days(2));
    let first = app.answer_survey(&token, score(6), Some("slow till".into()), at).await.unwrap();
    assert!(!first.replaced);
    let second = app.answer_survey(&token, score(9), None, at + Duration::days(6)).await.unwrap();
    assert!(second.replaced);
    let stored = shop.store.survey(&key("anna", day)).await.unwrap().unwrap();
    let answer = stored.answer.unwrap();
    assert_eq!((answer.score.value(), answer.comment, answer.answered_on), (9, None, day + Duration::days(2)));
    let late = app.answer_survey(&token, score(10), None, at + Duration::days(8)).await.unwrap_err();
    assert!(matches!(late, Error::SurveyAnswer(_)) && late.code() == "survey_closed", "{late:?}");
    let first_day = shop.store.surveys_answered_on(day + Duration::days(2)).await.unwrap();
    assert!(first_day.is_empty(), "no longer listed under the replaced answer's date: {first_day:?}");
    let replacing_day = shop.store.surveys_answered_on(day + Duration::days(8)).await.unwrap();
    assert_eq!(replacing_day.len(), 1, "listed under the replacing answer's date");
}

pub async fn expired_and_invalid_links_are_refused(factory: impl StoreFactory) {
    let shop = shop(factory, "sample_percent = 100").await;
    let day = date(DAY);
    let token = anna_asked(&shop, day).await;
    let app = &shop.app;
    let expired = app.answer_survey(&token, score(8), None, noon(day + Duration::days(32))).await.unwrap_err();
    assert_eq!((expired.code(), expired.field()), ("survey_expired", Some("token")));
    assert_eq!(app.survey_page(&token, noon(day + Duration::days(32))).await.unwrap_err().code(), "survey_expired");
    for bad in ["garbage", &format!("{token}x"), &token[1..]] {
        let e = app.answer_survey(bad, score(8), None, noon(day + Duration::days(2))).await.unwrap_err();
        assert_eq!((e.code(), e.field()), ("invalid_token", Some("token")), "{bad}");
    }
    // A well-signed link for a survey nobody was asked is not valid either.
    let ticket = boomerang_core::domain::survey::token::Ticket { key: key("anna", day - Duration::days(5)), issued_on: day };
    let forged = app.survey_token(&ticket).await.unwrap();
    assert_eq!(app.survey_page(&forged, noon(day)).await.unwrap_err().code(), "invalid_token");
    assert!(shop.store.survey(&key("anna", day)).await.unwrap().unwrap().answer.is_none(), "nothing recorded");
}

pub async fn erasure_removes_comments_and_keeps_scores(factory: impl StoreFactory) {
    let shop = shop(factory, "sample_percent = 100").await;
    let day = date(DAY);
    let token = anna_asked(&shop, day).await;
    shop.app.answer_survey(&token, score(3), Some("the cashier was rude".into()), noon(day + Duration::days(1))).await.unwrap();
    shop.app.erase(&id("anna"), noon(day + Duration::days(2))).await.unwrap();
    let survey = shop.store.survey(&key("anna", day)).await.unwrap().unwrap();
    let answer = survey.answer.unwrap();
    assert_eq!((answer.score.value(), answer.comment), (3, None), "the comment is gone, the score stays");
    for found in shop.store.surveys_answered_on(day + Duration::days(1)).await.unwrap() {
        assert!(found.answer.unwrap().comment.is_none(), "the index's copy too");
    }
    let refused = shop.app.answer_survey(&token, score(2), Some("again".into()), noon(day + Duration::days(2))).await;
    assert_eq!(refused.unwrap_err().code(), "survey_closed", "nothing more is kept for an erased customer");
}

pub async fn a_promoter_is_invited_once_with_their_code(factory: impl StoreFactory) {
    let shop = shop(factory, "sample_percent = 100").await;
    let day = date(DAY);
    let token = anna_asked(&shop, day).await;
    let answered = shop.app.answer_survey(&token, score(10), None, noon(day + Duration::days(1))).await.unwrap();
    let code = shop.store.customer(&id("anna")).await.unwrap().unwrap().referral.code.unwrap();
    assert_eq!(answered.referral_code, Some(code.clone()), "the thank-you page shows the code");
    // The governor: the survey went yesterday (min 2 dates), so the invitation waits a day.
    assert_eq!(shop.sweep(day + Duration::days(2)).await.surveys.invites_sent, 0);
    assert_eq!(shop.sweep(day + Duration::days(3)).await.surveys.invites_sent, 1);
    assert_eq!(shop.sweep(day + Duration::days(4)).await.surveys.invites_sent, 0, "once");
    let invites: Vec<_> =
        shop.messenger.sent_to("anna").into_iter().filter(|m| m.key.kind == MessageKind::PromoterInvite).collect();
    assert_eq!(invites.len(), 1);
    assert!(invites[0].text.contains(code.as_str()), "{}", invites[0].text);
}

pub async fn the_owner_gets_one_detractor_alert_per_day(factory: impl StoreFactory) {
    let shop = shop(factory, "sample_percent = 100\nowner_alert_email = \"owner@shop.example\"").await;
    let day = date(DAY);
    for (n, who) in ["anna", "boris", "vera", "gleb"].iter().enumerate() {
        shop.enroll(who, None, None, noon(day)).await;
        shop.buy(who, &format!("r-{n}"), day).await;
    }
    shop.sweep(day + Duration::days(1)).await;
    let answered_at = noon(day + Duration::days(1));
    let answer = |who: &'static str, n: i64, comment: &'static str| {
        let token = tokens_to(&shop, who).pop().unwrap();
        let app = shop.app.clone();
        async move { app.answer_survey(&token, score(n), Some(comment.to_owned()), answered_at).await.unwrap() }
    };
    answer("anna", 2, "long queue").await;
    answer("boris", 10, "great").await;
    answer("vera", 6, "no bags").await;
    let alerts = |shop: &Shop| -> Vec<boomerang_core::ports::OutgoingMessage> {
        shop.messenger.sent().into_iter().filter(|m| m.key.kind == MessageKind::SurveyAlert).collect()
    };
    let report = shop.sweep(day + Duration::days(2)).await;
    assert_eq!(report.surveys.alerts_sent, 1);
    shop.sweep(day + Duration::days(2)).await;
    let sent = alerts(&shop);
    assert_eq!(sent.len(), 1, "at most once per day, reruns included");
    let alert = &sent[0];
    assert_eq!((alert.to.as_str(), alert.unsubscribe_url.as_deref()), ("owner@shop.example", None));
    assert!(alert.text.contains("long queue") && alert.text.contains("no bags") && !alert.text.contains("great"));
    assert!(alert.text.contains("r-0") && alert.text.contains("s1"), "store and receipt: {}", alert.text);
    assert!(!alert.text.contains("anna") && !alert.text.contains("@example.ru"), "no customer contacts: {}", alert.text);
    let stored = shop.store.owner_alert(day + Duration::days(1)).await.unwrap().unwrap();
    assert_eq!((stored.delivery.status, stored.answers, stored.message), (SendStatus::Sent, 2, None), "its text (comments) dropped once sent");
    assert_eq!(shop.sweep(day + Duration::days(3)).await.surveys.alerts_sent, 0, "no detractors that day, no alert");

    // In AWS the sweep hands the alert to the sender, which sends it once.
    let later = day + Duration::days(3);
    let handoff = boomerang_core::app::sweep::SweepOptions { send: boomerang_core::app::sweep::SendMode::Handoff, ..Default::default() };
    let gleb = tokens_to(&shop, "gleb").pop().unwrap();
    shop.app.answer_survey(&gleb, score(0), Some("worse".into()), noon(later)).await.unwrap();
    // Boris replaces his 10 with a detractor's answer: listed on the day he gave it.
    let boris = tokens_to(&shop, "boris").pop().unwrap();
    let replaced = shop.app.answer_survey(&boris, score(4), Some("changed my mind".into()), noon(later)).await.unwrap();
    assert!(replaced.replaced);
    let report = shop.sweep_with(later + Duration::days(1), handoff).await.unwrap();
    assert_eq!(report.alerts_to_send, vec![later]);
    let job = report.jobs().into_iter().find(|j| matches!(j, boomerang_core::app::sweep::SendJob::OwnerAlert { .. })).unwrap();
    for _ in 0..2 {
        shop.app.deliver_job(&shop.messenger, &job, noon(later + Duration::days(1))).await.unwrap();
    }
    let sent = alerts(&shop);
    assert_eq!(sent.len(), 2, "the second day's alert, once");
    assert!(sent[1].text.contains("worse") && sent[1].text.contains("changed my mind"), "{}", sent[1].text);
    assert_eq!(shop.store.owner_alert(later).await.unwrap().unwrap().answers, 2, "the replacing detractor answer counts on its day");
}

/// Expands to one test per survey case, each given `$factory`.
#[macro_export]
macro_rules! survey_contract_tests {
    ($factory:expr $(,)?) => {
        mod survey_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::__contract_cases! {
                survey_cases;
                ($factory);
                a_stable_sample_of_the_days_purchasers_is_asked_once_and_spaced,
                the_survey_message_obeys_consent_and_the_governor,
                one_answer_per_survey_replaced_within_seven_days_then_closed,
                expired_and_invalid_links_are_refused,
                erasure_removes_comments_and_keeps_scores,
                a_promoter_is_invited_once_with_their_code,
                the_owner_gets_one_detractor_alert_per_day,
            }
        }
    };
}
