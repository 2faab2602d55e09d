//! Tests of customer records: profile edits, consent and its evidence, erasure.

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn till() -> ProfileEditor {
    let principal = Principal { terminal: TerminalName::parse("till-1").unwrap(), admin: false };
    ProfileEditor::api(&principal, Vec::new())
}

fn consenting(email: Option<bool>, sms: Option<bool>) -> ProfilePatch {
    ProfilePatch { consent_email: email, consent_sms: sms, ..ProfilePatch::default() }
}

/// Anna gave both consents at till-1 on 1 November and unsubscribed by the link on 20 November.
fn unsubscribed() -> Customer {
    let mut c = Customer::new(CustomerId::parse("anna").unwrap(), at("2026-11-01T09:00:00Z"));
    c.apply(&consenting(Some(true), Some(true)), at("2026-11-01T09:00:00Z"), &till()).unwrap();
    assert!(c.withdraw(Channel::Email, at("2026-11-20T09:12:00Z"), &ConsentSource::UnsubscribeLink));
    c
}

#[test]
fn sources_are_stored_as_the_issue_spells_them() {
    for text in ["pos:till-1", "import", "unsubscribe_link", "complaint", "sms_opt_out", "admin"] {
        assert_eq!(ConsentSource::parse(text).unwrap().to_string(), text);
    }
    for bad in ["pos:", "pos:a b", "bounce", "POS:till-1", ""] {
        assert!(ConsentSource::parse(bad).is_err(), "{bad:?} parsed");
    }
    assert_eq!(serde_json::to_string(&ConsentSource::Pos(TerminalName::parse("t1").unwrap())).unwrap(), "\"pos:t1\"");
    let admin = Principal { terminal: TerminalName::parse("office").unwrap(), admin: true };
    assert_eq!(ConsentSource::of(&admin), ConsentSource::Admin);
}

#[test]
fn each_consent_change_records_when_and_by_whom() {
    let c = unsubscribed();
    let till_1 = ConsentSource::Pos(TerminalName::parse("till-1").unwrap());
    let sms = c.consent_details.sms.clone().unwrap();
    assert_eq!((sms.granted, sms.at, sms.source), (true, at("2026-11-01T09:00:00Z"), till_1));
    let email = c.consent_details.email.clone().unwrap();
    assert_eq!((email.granted, &email.source), (false, &ConsentSource::UnsubscribeLink));
    assert_eq!((c.consent.email, c.consent.sms), (false, true));
    assert_eq!(c.withdrawal(Channel::Email), Some(&email));
    assert_eq!(c.withdrawal(Channel::Sms), None);
}

#[test]
fn a_true_that_is_not_fresh_consent_leaves_the_customers_withdrawal_alone() {
    let mut c = unsubscribed();
    let before = c.clone();
    let later = at("2026-11-24T10:00:00Z");
    let patch = ProfilePatch { name: Some(Some("Anna".into())), ..consenting(Some(true), None) };
    let refused = c.apply(&patch, later, &till()).unwrap_err();
    assert_eq!(refused.channel, Channel::Email);
    assert_eq!(refused.withdrawal.source, ConsentSource::UnsubscribeLink);
    assert_eq!(c, before, "a refused change applies nothing, not even the name");
    let words = refused.to_string();
    assert!(words.contains("on 2026-11-20 at 09:12 UTC by the unsubscribe link"), "{words}");
    assert!(words.contains("\"consent_renewed\": [\"email\"]"), "{words}");

    // An import keeps the withdrawal and applies the rest.
    assert_eq!(c.apply(&patch, later, &ProfileEditor::import()), Ok(vec![Channel::Email]));
    assert_eq!((c.consent.email, c.name.as_deref()), (false, Some("Anna")));
    assert_eq!(c.consent_details.email, before.consent_details.email);

    // The operator's tools are held to the same rule.
    assert!(c.apply(&patch, later, &ProfileEditor::admin()).is_err());
}

#[test]
fn fresh_consent_turns_a_withdrawn_channel_on_and_is_recorded_as_such() {
    let mut c = unsubscribed();
    let later = at("2026-11-24T10:00:00Z");
    let mut renewing = till();
    renewing.renewed = vec![Channel::Email];
    assert_eq!(c.apply(&consenting(Some(true), None), later, &renewing), Ok(vec![]));
    let email = c.consent_details.email.clone().unwrap();
    assert_eq!((c.consent.email, email.granted, email.at), (true, true, later));
    assert_eq!(email.source.to_string(), "pos:till-1");
    assert_eq!(c.withdrawal(Channel::Email), None);
}

#[test]
fn only_the_customers_own_no_is_sticky() {
    let mut c = unsubscribed();
    let later = at("2026-11-24T10:00:00Z");
    // SMS turned off at a till, then on again at a till: no renewal needed.
    c.apply(&consenting(None, Some(false)), later, &till()).unwrap();
    assert_eq!(c.withdrawal(Channel::Sms), None);
    c.apply(&consenting(None, Some(true)), later, &till()).unwrap();
    assert!(c.consent.sms);
    // STOP is the customer's: sticky. A second withdrawal keeps the first as evidence.
    assert!(c.withdraw(Channel::Sms, later, &ConsentSource::SmsOptOut));
    assert!(!c.withdraw(Channel::Sms, at("2026-12-01T00:00:00Z"), &ConsentSource::SmsOptOut));
    assert_eq!(c.withdrawal(Channel::Sms).map(|w| w.at), Some(later));
    assert!(c.apply(&consenting(None, Some(true)), later, &till()).is_err());
    // The customer's own no also replaces an earlier no from a till.
    let mut d = Customer::new(CustomerId::parse("boris").unwrap(), later);
    d.apply(&consenting(Some(false), None), later, &till()).unwrap();
    assert_eq!(d.withdrawal(Channel::Email), None);
    assert!(d.withdraw(Channel::Email, later, &ConsentSource::Complaint));
    assert!(d.withdrawal(Channel::Email).is_some());
}

#[test]
fn a_change_that_changes_nothing_leaves_the_profile_as_it_was() {
    let mut c = unsubscribed();
    let before = c.clone();
    let same = ProfilePatch { phone: Some(None), ..consenting(Some(false), Some(true)) };
    assert_eq!(c.apply(&same, at("2026-12-01T00:00:00Z"), &till()), Ok(vec![]));
    assert_eq!(c, before, "updated_at included");
    let mut renewing = till();
    renewing.renewed = vec![Channel::Sms];
    c.apply(&consenting(None, Some(true)), at("2026-12-01T00:00:00Z"), &renewing).unwrap();
    assert_eq!(c, before, "renewing a channel that is on changes nothing");
}

#[test]
fn a_renewal_names_only_channels_the_change_turns_on() {
    let patch = consenting(Some(true), Some(false));
    assert!(check_renewal(&patch, &[Channel::Email]).is_ok());
    assert!(check_renewal(&patch, &[]).is_ok());
    let e = check_renewal(&patch, &[Channel::Sms]).unwrap_err();
    assert!(e.0.contains("consent.sms true"), "{e}");
    assert!(check_renewal(&consenting(None, None), &[Channel::Email]).is_err());
    assert!(check_renewal(&patch, &[Channel::Email, Channel::Email]).unwrap_err().0.contains("twice"));
}

#[test]
fn erasure_turns_the_channels_off_on_record_and_keeps_the_customers_withdrawal() {
    let mut c = unsubscribed();
    let later = at("2026-11-24T10:00:00Z");
    let till_1 = ConsentSource::Pos(TerminalName::parse("till-1").unwrap());
    c.erase_by(later, &till_1);
    assert_eq!(c.consent, Consent::default());
    assert_eq!(c.consent_details.email.as_ref().map(|e| &e.source), Some(&ConsentSource::UnsubscribeLink));
    let sms = c.consent_details.sms.clone().unwrap();
    assert_eq!((sms.granted, sms.at, sms.source), (false, later, till_1));
    let erased = c.clone();
    c.erase(at("2026-12-01T00:00:00Z"));
    assert_eq!(c, erased, "erasing again changes nothing");
}

/// A record as stores held it before consent changes were recorded: it must still load.
#[test]
fn a_record_stored_without_consent_details_loads_with_none_recorded() {
    let json = r#"{"customer":{"customer_id":"anna","phone":"+79161234567","email":"anna@example.ru",
        "name":"Anna","birthday":"1990-05-17","consent":{"email":true,"sms":false},
        "preferred_channel":"email","locale":"ru","created_at":"2026-01-01T00:00:00Z",
        "updated_at":"2026-01-02T00:00:00Z","erased_at":null},
        "account":{"lots":{"2027-01-01":120},"last_purchase_on":"2026-01-01",
        "totals":{"earned":120,"gifted":0,"restored":0,"spent":0,"clawed_back":0,"expired":0}},"version":3}"#;
    let record: CustomerRecord = serde_json::from_str(json).unwrap();
    assert_eq!(record.customer.consent_details, ConsentDetails::default());
    assert_eq!((record.customer.consent.email, record.customer.email_undeliverable_at), (true, None));
    assert_eq!(record.customer.withdrawal(Channel::Email), None);
    let partial = json.replace("\"erased_at\":null", "\"erased_at\":null,\"consent_details\":{\"sms\":null}");
    let record: CustomerRecord = serde_json::from_str(&partial).unwrap();
    assert_eq!(record.customer.consent_details, ConsentDetails::default());
}
