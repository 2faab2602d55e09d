//! Tests of the trigger rules: what is due, the contact-rule plan, the decision and the second look.

use super::*;
use crate::domain::customer::Consent;
use crate::domain::ids::{Email, Phone};
use crate::domain::ledger::LotKey;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn record(id: &str) -> CustomerRecord {
    CustomerRecord::new(CustomerId::parse(id).unwrap(), "2026-01-01T00:00:00Z".parse().unwrap())
}

/// A customer who last bought on 2026-10-01 and holds 10 points until 2027-10-01.
fn last_bought_on_2026_10_01() -> CustomerRecord {
    let mut r = record("c1");
    r.account.last_purchase_on = Some(d("2026-10-01"));
    r.account.earn(LotKey::earned(d("2027-10-01")), 10, "r");
    r
}

fn triggers(cfg: &ProgramConfig, r: &CustomerRecord, date: &str) -> Vec<TriggerKind> {
    due_triggers(cfg, r, d(date)).into_iter().map(|x| x.trigger).collect()
}

#[test]
fn lapses_fire_on_the_day_after_after_days() {
    let cfg = ProgramConfig::defaults();
    let r = last_bought_on_2026_10_01();
    assert!(triggers(&cfg, &r, "2026-10-31").is_empty(), "30 days without a purchase is not yet a lapse");
    assert_eq!(triggers(&cfg, &r, "2026-11-01"), vec![TriggerKind::Lapsed30]);
    assert_eq!(triggers(&cfg, &r, "2026-12-01"), vec![TriggerKind::Lapsed60]);
    assert_eq!(triggers(&cfg, &r, "2026-12-31"), vec![TriggerKind::Lapsed90]);
    assert_eq!(
        due_triggers(&cfg, &r, d("2026-11-01"))[0].episode,
        Episode::Lapse(d("2026-10-01")),
        "the episode is the last purchase date"
    );
}

#[test]
fn lapsed_30_needs_a_balance_of_at_least_min_balance() {
    let cfg = ProgramConfig::defaults();
    let mut r = record("c1");
    r.account.last_purchase_on = Some(d("2026-10-01"));
    assert!(triggers(&cfg, &r, "2026-11-01").is_empty());
    assert_eq!(triggers(&cfg, &r, "2026-12-01"), vec![TriggerKind::Lapsed60], "lapsed_60 has no minimum");
}

#[test]
fn birthdays_fire_three_days_before_across_the_year_end_and_on_feb_28_for_feb_29() {
    let cfg = ProgramConfig::defaults();
    let mut r = record("c1");
    r.customer.birthday = Some(d("1990-01-01"));
    assert_eq!(triggers(&cfg, &r, "2026-12-29"), vec![TriggerKind::Birthday]);
    assert_eq!(due_triggers(&cfg, &r, d("2026-12-29"))[0].episode, Episode::Birthday(2027));
    assert!(triggers(&cfg, &r, "2026-12-28").is_empty());
    r.customer.birthday = Some(d("2000-02-29"));
    assert_eq!(triggers(&cfg, &r, "2027-02-25"), vec![TriggerKind::Birthday], "28 Feb 2027");
    assert!(triggers(&cfg, &r, "2028-02-25").is_empty(), "2028 is a leap year: 29 Feb");
    assert_eq!(triggers(&cfg, &r, "2028-02-26"), vec![TriggerKind::Birthday]);
    assert_eq!(birthdays_falling_on(d("2027-02-28")), vec![(2, 28), (2, 29)]);
    assert_eq!(birthdays_falling_on(d("2028-02-28")), vec![(2, 28)]);
}

#[test]
fn points_expiring_names_the_points_burning_in_ten_days() {
    let cfg = ProgramConfig::defaults();
    let mut r = record("c1");
    r.account.earn(LotKey::earned(d("2026-12-11")), 40, "r1");
    r.account.gift(LotKey::gift(d("2026-12-11"), TriggerKind::Lapsed60), 300, "g");
    r.account.earn(LotKey::earned(d("2026-12-12")), 5, "r2");
    let due = due_triggers(&cfg, &r, d("2026-12-01"));
    assert_eq!(due.len(), 1);
    // One warning covers every point burning within the cooldown (30 days), not one date.
    assert_eq!((due[0].episode, due[0].expiring_points), (Episode::Expiry(d("2026-12-11")), 345));
    assert_eq!((due[0].window_end, due[0].valid_until), (d("2026-12-03"), d("2026-12-03")));
}

#[test]
fn disabled_triggers_never_fire() {
    let cfg = ProgramConfig::from_toml_str("[triggers.birthday]\nenabled = false").unwrap();
    let mut r = record("c1");
    r.customer.birthday = Some(d("1990-01-01"));
    assert!(triggers(&cfg, &r, "2026-12-29").is_empty());
}

fn held(trigger: TriggerKind, percent: u8, year: i32) -> Vec<String> {
    (0..10)
        .map(|i| format!("c{i}"))
        .filter(|id| in_holdout(&CustomerId::parse(id).unwrap(), trigger, percent, year))
        .collect()
}

#[test]
fn the_holdout_is_a_fixed_draw_per_year_near_its_share_and_rotates() {
    // Worked out once from the hash (sha256 of "holdout:<trigger>:<year>:<id>"), by hand.
    assert_eq!(held(TriggerKind::Lapsed30, 50, 2026), ["c2", "c3", "c4", "c7"]);
    assert_eq!(held(TriggerKind::Lapsed30, 50, 2027), ["c1", "c3", "c5", "c6", "c8", "c9"]);
    assert_eq!(held(TriggerKind::Birthday, 50, 2026), ["c3", "c5", "c6", "c7", "c9"]);
    let share = |year| {
        (0..10_000)
            .filter(|i| in_holdout(&CustomerId::parse(&format!("c{i}")).unwrap(), TriggerKind::Birthday, 10, year))
            .collect::<std::collections::BTreeSet<_>>()
    };
    let (y2026, y2027) = (share(2026), share(2027));
    assert_eq!(y2026.len(), 984);
    assert!(y2026.intersection(&y2027).count() < 200, "a new year draws a new holdout");
    assert!(held(TriggerKind::Lapsed30, 0, 2026).is_empty());
    assert_eq!(held(TriggerKind::Lapsed30, 100, 2026).len(), 10);
    assert_eq!(holdout_year(Episode::Birthday(2027), d("2026-12-29")), 2027, "the birthday's year");
    assert_eq!(holdout_year(Episode::Lapse(d("2026-10-01")), d("2027-01-02")), 2027, "the sweep date's");
}

#[test]
fn a_lapse_may_go_on_any_date_of_its_window_and_not_after() {
    let cfg = ProgramConfig::defaults();
    let r = last_bought_on_2026_10_01();
    for day in ["2026-11-01", "2026-11-02", "2026-11-03"] {
        assert_eq!(triggers(&cfg, &r, day), vec![TriggerKind::Lapsed30], "{day}");
    }
    assert!(triggers(&cfg, &r, "2026-11-04").is_empty(), "the 34th day is past the window");
    let due = due_triggers(&cfg, &r, d("2026-11-02"))[0];
    assert_eq!((due.window_end, due.valid_until), (d("2026-11-03"), d("2026-11-03")));
    let cfg = ProgramConfig::from_toml_str("[triggers.lapsed_30]\nwindow_days = 1").unwrap();
    assert!(triggers(&cfg, &r, "2026-11-02").is_empty());
}

#[test]
fn a_birthday_greeting_makes_sense_until_the_day_before() {
    let cfg = ProgramConfig::defaults();
    let mut r = record("c1");
    r.customer.birthday = Some(d("1990-01-01"));
    let due = due_triggers(&cfg, &r, d("2026-12-30"))[0];
    assert_eq!((due.episode, due.window_end, due.valid_until), (Episode::Birthday(2027), d("2026-12-31"), d("2026-12-31")));
    assert!(triggers(&cfg, &r, "2027-01-01").is_empty(), "never on the birthday");
    let late = ProgramConfig::from_toml_str("[triggers.birthday]\ndays_before = 1\nwindow_days = 3").unwrap();
    assert_eq!(triggers(&late, &r, "2026-12-31"), vec![TriggerKind::Birthday]);
    assert!(triggers(&late, &r, "2026-12-30").is_empty());
}

#[test]
fn an_expiry_warning_needs_min_points_and_waits_out_its_cooldown() {
    let cfg = ProgramConfig::defaults();
    let mut r = record("c1");
    r.account.earn(LotKey::earned(d("2026-12-11")), 49, "r1");
    assert!(triggers(&cfg, &r, "2026-12-01").is_empty(), "49 points are below min_points");
    r.account.earn(LotKey::earned(d("2026-12-20")), 1, "r2");
    assert_eq!(triggers(&cfg, &r, "2026-12-01"), vec![TriggerKind::PointsExpiring], "50 within the cooldown");
    r.contact.last_expiry_warning_on = Some(d("2026-11-02"));
    assert!(triggers(&cfg, &r, "2026-12-01").is_empty(), "29 days after the last warning");
    r.contact.last_expiry_warning_on = Some(d("2026-11-01"));
    assert_eq!(triggers(&cfg, &r, "2026-12-01"), vec![TriggerKind::PointsExpiring]);
    assert_eq!(expiring_soon(&cfg, &r.account, d("2026-12-01")), Some((50, d("2026-12-11"))));
}

fn due(trigger: TriggerKind, window_end: &str, valid_until: &str) -> Due {
    let episode = Episode::Lapse(d("2026-01-01"));
    Due { trigger, episode, window_end: d(window_end), valid_until: d(valid_until), expiring_points: 0 }
}

#[test]
fn the_contact_rules_let_one_through_defer_or_cap_the_rest_and_expire_the_stale() {
    let cfg = ProgramConfig::defaults();
    let dues = [
        due(TriggerKind::Birthday, "2026-11-03", "2026-11-03"),
        due(TriggerKind::Lapsed60, "2026-11-01", "2026-11-01"),
        due(TriggerKind::Lapsed30, "2026-11-02", "2026-11-02"),
    ];
    let fresh = ContactState::default();
    let today = d("2026-11-01");
    assert_eq!(plan(&cfg, &fresh, &dues, today, today), [Step::Decide, Step::Cap, Step::Defer]);
    let messaged = ContactState { last_message_on: Some(d("2026-10-31")), ..ContactState::default() };
    assert_eq!(plan(&cfg, &messaged, &dues, today, today), [Step::Defer, Step::Cap, Step::Defer]);
    // Catching up 1 November on 2 November: lapsed_60's message would come a day late.
    assert_eq!(plan(&cfg, &fresh, &dues, today, d("2026-11-02")), [Step::Decide, Step::Expire, Step::Defer]);
    let reserved = reserve(&fresh, &dues[0], d("2026-11-02"));
    assert_eq!(reserved.last_message_on, Some(d("2026-11-02")));
    assert_eq!(reserved.last_expiry_warning_on, None);
}

fn pending(record: &CustomerRecord, trigger: TriggerKind, episode: Episode) -> Outcome {
    let due = Due { trigger, episode, window_end: d("2026-11-03"), valid_until: d("2026-11-03"), expiring_points: 50 };
    let mut outcome = decide(&ProgramConfig::from_toml_str("[triggers.lapsed_30]\nholdout_percent = 0\n[triggers.points_expiring]\nholdout_percent = 0").unwrap(), record, &due, d("2026-11-01"), "2026-11-01T06:00:00Z".parse().unwrap(), false);
    outcome.status = OutcomeStatus::Pending;
    outcome
}

#[test]
fn the_second_look_stops_a_send_that_is_no_longer_true() {
    let cfg = ProgramConfig::defaults();
    let mut r = record("c1");
    r.customer.email = Some(Email::parse("a@example.ru").unwrap());
    r.customer.consent.email = true;
    r.account.last_purchase_on = Some(d("2026-10-01"));
    let lapse = pending(&r, TriggerKind::Lapsed30, Episode::Lapse(d("2026-10-01")));
    assert_eq!(lapse.channel, Some(Channel::Email));
    assert_eq!(second_look(&cfg, Some(&r), &lapse, d("2026-11-01"), false), SecondLook::Send);
    assert_eq!(second_look(&cfg, Some(&r), &lapse, d("2026-11-04"), false), SecondLook::Expired);
    assert_eq!(second_look(&cfg, None, &lapse, d("2026-11-01"), false), SecondLook::Suppressed);
    let mut bought = r.clone();
    bought.account.last_purchase_on = Some(d("2026-11-01"));
    assert_eq!(second_look(&cfg, Some(&bought), &lapse, d("2026-11-01"), false), SecondLook::Cancelled);
    let mut withdrawn = r.clone();
    withdrawn.customer.consent.email = false;
    assert_eq!(second_look(&cfg, Some(&withdrawn), &lapse, d("2026-11-01"), false), SecondLook::Suppressed);
    // A warning whose points were spent meanwhile has nothing left to say.
    r.account.earn(LotKey::earned(d("2026-11-11")), 60, "r");
    let warning = pending(&r, TriggerKind::PointsExpiring, Episode::Expiry(d("2026-11-11")));
    assert_eq!(second_look(&cfg, Some(&r), &warning, d("2026-11-01"), false), SecondLook::Send);
    r.account.redeem(60, d("2026-11-01"), "spent").unwrap();
    assert_eq!(second_look(&cfg, Some(&r), &warning, d("2026-11-01"), false), SecondLook::Cancelled);
}

#[test]
fn the_channel_is_the_preferred_one_then_the_other_then_none() {
    let mut c = record("c1").customer;
    c.email = Some(Email::parse("a@example.ru").unwrap());
    c.phone = Some(Phone::parse("+79161234567").unwrap());
    c.consent = Consent { email: true, sms: true };
    c.preferred_channel = Some(Channel::Sms);
    assert_eq!(choose_channel(&c, false), Ok(Channel::Sms));
    assert_eq!(choose_channel(&c, true), Ok(Channel::Email), "opted-out SMS falls back to email");
    c.consent.email = false;
    assert_eq!(choose_channel(&c, true), Err(Unreachable::NoChannel));
    c.consent.email = true;
    c.email_undeliverable_at = Some("2026-01-01T00:00:00Z".parse().unwrap());
    assert_eq!(choose_channel(&c, true), Err(Unreachable::NoChannel), "a bounced address is not used");
    c.preferred_channel = None;
    c.email_undeliverable_at = None;
    assert_eq!(choose_channel(&c, false), Ok(Channel::Email), "email when no preference");
    c.erase("2026-02-01T00:00:00Z".parse().unwrap());
    assert_eq!(choose_channel(&c, false), Err(Unreachable::Erased));
}
