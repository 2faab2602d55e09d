use chrono::{DateTime, NaiveDate, Utc};

use super::*;
use crate::domain::config::ProgramConfig;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}
fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}
fn customer(n: usize) -> CustomerId {
    CustomerId::parse(&format!("card-{n}")).unwrap()
}

fn survey() -> Survey {
    let json = r#"{"key":{"customer_id":"card-1","purchased_on":"2026-11-01"},"receipt_id":"R-1","store_id":"moscow-1",
        "asked_on":"2026-11-02","locale":"en","decided_at":"2026-11-02T06:00:00Z","delivery":{"status":"sent"},"revision":3}"#;
    serde_json::from_str(json).unwrap()
}

#[test]
fn the_sample_is_stable_near_its_share_and_new_each_day() {
    let day = d("2026-11-01");
    let picked: Vec<bool> = (0..10_000).map(|n| in_sample(&customer(n), day, 20)).collect();
    let share = picked.iter().filter(|p| **p).count();
    assert!((1800..2200).contains(&share), "{share} of 10000 at 20 %");
    let again: Vec<bool> = (0..10_000).map(|n| in_sample(&customer(n), day, 20)).collect();
    assert_eq!(picked, again, "the same people on a rerun");
    let next_day = (0..10_000).filter(|n| in_sample(&customer(*n), d("2026-11-02"), 20) != picked[*n]).count();
    assert!(next_day > 2000, "another day draws others: {next_day} changed");
    assert!((0..1000).all(|n| !in_sample(&customer(n), day, 0)) && (0..1000).all(|n| in_sample(&customer(n), day, 100)));
}

#[test]
fn a_customer_is_asked_again_only_after_min_days_between() {
    assert!(spaced(None, d("2026-11-01"), 90));
    assert!(!spaced(Some(d("2026-08-04")), d("2026-11-01"), 90));
    assert!(spaced(Some(d("2026-08-03")), d("2026-11-01"), 90));
}

#[test]
fn a_first_answer_is_recorded_a_second_within_seven_days_replaces_it_and_later_ones_are_refused() {
    let s = survey();
    let first = answer(&s, Score::parse(6).unwrap(), Some("slow".into()), true, at("2026-11-03T10:00:00Z"), d("2026-11-03")).unwrap();
    assert_eq!(first.revision, 4);
    let a = first.answer.clone().unwrap();
    assert_eq!((a.score.value(), a.comment.as_deref(), a.answered_on), (6, Some("slow"), d("2026-11-03")));
    assert_eq!(first.invite, None, "a detractor is not invited");
    assert_eq!(a.listed_on(), d("2026-11-03"), "listed on the day it was given");
    let second = answer(&first, Score::parse(9).unwrap(), None, true, at("2026-11-10T09:59:00Z"), d("2026-11-10")).unwrap();
    let b = second.answer.clone().unwrap();
    assert_eq!(b.listed_on(), d("2026-11-10"), "a replacing answer is listed on its own day");
    assert_eq!((b.score.value(), b.comment, b.answered_on, b.first_at), (9, None, d("2026-11-03"), a.first_at));
    assert_eq!(second.invite.as_ref().map(|i| i.status), Some(SendStatus::Pending), "a promoter is invited once");
    let back = answer(&second, Score::parse(8).unwrap(), None, true, at("2026-11-10T10:00:00Z"), d("2026-11-10")).unwrap();
    assert_eq!(back.invite, None, "an invitation not yet sent goes with the promoter's answer");
    let late = answer(&back, Score::parse(10).unwrap(), None, true, at("2026-11-10T10:00:01Z"), d("2026-11-10"));
    assert_eq!(late, Err(AnswerRefused::Closed(d("2026-11-03"))));
}

#[test]
fn an_answer_after_the_link_expired_is_refused_and_invitations_follow_the_program() {
    let s = survey();
    assert_eq!(
        answer(&s, Score::parse(10).unwrap(), None, true, at("2026-12-03T00:00:00Z"), d("2026-12-03")),
        Err(AnswerRefused::Expired(d("2026-12-02")))
    );
    let quiet = answer(&s, Score::parse(10).unwrap(), None, false, at("2026-12-02T00:00:00Z"), d("2026-12-02")).unwrap();
    assert_eq!(quiet.invite, None);
}

#[test]
fn scores_run_from_zero_to_ten_and_comments_up_to_a_thousand_characters() {
    assert!(Score::parse(-1).is_err() && Score::parse(11).is_err());
    assert_eq!(Score::parse(6).unwrap().group(), NpsGroup::Detractor);
    assert_eq!(Score::parse(7).unwrap().group(), NpsGroup::Passive);
    assert_eq!(Score::parse(9).unwrap().group(), NpsGroup::Promoter);
    assert_eq!(parse_comment(Some("  ")), Ok(None));
    assert_eq!(parse_comment(Some(&"я".repeat(1000))).unwrap().map(|c| c.chars().count()), Some(1000));
    assert!(parse_comment(Some(&"a".repeat(1001))).is_err());
}

#[test]
fn erasure_drops_the_comment_and_keeps_the_score() {
    let answered = answer(&survey(), Score::parse(3).unwrap(), Some("rude".into()), true, at("2026-11-03T10:00:00Z"), d("2026-11-03")).unwrap();
    let erased = answered.without_comment().unwrap();
    assert_eq!(erased.answer.as_ref().map(|a| (a.score.value(), a.comment.clone())), Some((3, None)));
    assert_eq!(erased.without_comment(), None, "nothing more to erase");
}

#[test]
fn the_program_has_a_survey_section_with_its_defaults_and_refuses_bad_values() {
    let cfg = ProgramConfig::defaults();
    let s = &cfg.survey;
    assert_eq!((s.enabled, s.sample_percent, s.delay_days, s.min_days_between, s.invite_promoters), (true, 20, 1, 90, true));
    assert_eq!(s.owner_alert_email, None);
    assert!(s.question_in(crate::domain::kinds::Locale::En, cfg.default_locale).contains("recommend"));
    for (text, key) in [
        ("[survey]\nsample_percent = 101", "survey.sample_percent"),
        ("[survey]\ndelay_days = 0", "survey.delay_days"),
        ("[survey]\nowner_alert_email = \"nobody\"", "survey.owner_alert_email"),
        ("[survey.question]\nen = \"\"", "survey.question.en"),
        ("[survey.templates.en]\nemail_subject = \"x\"\nemail_text = \"{survey_url}\"\nemail_html = \"x\"\nsms = \"{referral_code}\"", "survey.templates.en.sms"),
        ("[survey.invite_templates.en]\nemail_subject = \"x\"\nemail_text = \"x\"\nemail_html = \"x\"\nsms = \"{survey_url}\"", "survey.invite_templates.en.sms"),
    ] {
        let e = ProgramConfig::from_toml_str(text).unwrap_err();
        assert_eq!(e.key, key, "{text}: {e}");
    }
    let ok = ProgramConfig::from_toml_str("[survey]\nowner_alert_email = \"owner@example.com\"\nenabled = false").unwrap();
    assert_eq!(ok.survey.owner_alert_email.as_deref(), Some("owner@example.com"));
}
