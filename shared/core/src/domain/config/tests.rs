//! Tests of the program config: defaults, TOML parsing and the errors that name the bad key.

use super::*;

#[test]
fn defaults_match_the_modelled_program() {
    let c = ProgramConfig::defaults();
    assert_eq!(c.timezone, chrono_tz::Europe::Moscow);
    assert_eq!(c.currency.as_str(), "RUB");
    assert_eq!((c.point_value_minor, c.earn_percent, c.redeem_max_percent), (100, 5, 30));
    assert_eq!(c.points_valid_days, 365);
    assert_eq!(c.triggers.lapsed_30.after_days, Some(30));
    assert_eq!(c.triggers.lapsed_30.min_balance, 1);
    assert_eq!((c.triggers.lapsed_60.gift_points, c.triggers.lapsed_60.gift_valid_days), (300, 30));
    assert_eq!((c.triggers.lapsed_90.gift_points, c.triggers.lapsed_90.gift_valid_days), (300, 14));
    assert_eq!(c.triggers.birthday.days_before, Some(3));
    assert_eq!((c.triggers.birthday.gift_points, c.triggers.birthday.gift_valid_days), (500, 14));
    assert_eq!(c.triggers.points_expiring.days_before, Some(10));
    for kind in TriggerKind::ALL {
        let t = c.trigger(kind);
        assert!(t.enabled);
        assert_eq!((t.holdout_percent, t.attribution_days), (10, 14));
        assert!(t.templates.contains_key(&Locale::Ru) && t.templates.contains_key(&Locale::En));
    }
}

#[test]
fn a_file_overrides_only_what_it_names() {
    let c = ProgramConfig::from_toml_str(
        "earn_percent = 7\n[triggers.birthday]\ngift_points = 1000\n[triggers.birthday.templates.en]\nsms = \"Happy birthday from {shop_name}\"\n",
    )
    .unwrap();
    assert_eq!(c.earn_percent, 7);
    assert_eq!(c.redeem_max_percent, 30);
    assert_eq!(c.triggers.birthday.gift_points, 1000);
    assert_eq!(c.triggers.birthday.gift_valid_days, 14);
    assert_eq!(c.triggers.birthday.templates[&Locale::En].sms, "Happy birthday from {shop_name}");
    assert!(c.triggers.birthday.templates[&Locale::En].email_subject.contains("birthday"));
}

#[test]
fn errors_name_the_key() {
    let cases = [
        ("earn_percent = 150", "earn_percent"),
        ("earn_percent = \"five\"", "earn_percent"),
        ("timezone = \"Mars/Base\"", "timezone"),
        ("currency = \"rub\"", "currency"),
        ("bogus = 1", "bogus"),
        ("[triggers.lapsed_60]\nholdout_percent = 101", "triggers.lapsed_60.holdout_percent"),
        ("[triggers.birthday]\nafter_days = 3", "triggers.birthday.after_days"),
        ("[triggers.lapsed_30]\nbogus = 3", "triggers.lapsed_30.bogus"),
        ("[triggers.lapsed_30.templates.ru]\nsms = \"{balanse}\"", "triggers.lapsed_30.templates.ru.sms"),
        ("[referral.templates.en]\nsms = \"{points}\"", "referral.templates.en.sms"),
        ("[referral.templates.ru]\nemail_subject = \" \"", "referral.templates.ru.email_subject"),
        ("[messaging]\nsms_max_segments = 0", "messaging.sms_max_segments"),
        ("points_valid_days = 0", "points_valid_days"),
    ];
    assert_refused_naming(&cases);
    let e = ProgramConfig::from_toml_str("earn_percent = ").unwrap_err();
    assert_eq!(e.key, "(syntax)");
    assert!(e.message.contains("line 1"), "{e}");
}

/// Each program text is refused with an error that names its key (or a key below it).
fn assert_refused_naming(cases: &[(&str, &str)]) {
    for (text, key) in cases {
        let e = ProgramConfig::from_toml_str(text).unwrap_err();
        assert!(
            e.key == *key || e.key.starts_with(key) || e.message.contains(key),
            "{text:?} gave {e} (wanted key {key})"
        );
    }
}

/// Rust's and serde's words, which someone editing a TOML file should never read.
fn assert_plain_words(e: &ConfigError) {
    let text = e.to_string();
    for word in ["u8", "u32", "u64", "i64", "floating point", "struct ", "variant", "map", "sequence", "`", "?:"] {
        assert!(!text.contains(word), "{word:?} in {text:?}");
    }
}

fn error(text: &str) -> ConfigError {
    let e = ProgramConfig::from_toml_str(text).unwrap_err();
    assert_plain_words(&e);
    e
}

#[test]
fn a_value_of_the_wrong_type_says_what_it_must_be_in_the_files_words() {
    let cases = [
        ("earn_percent = \"5\"", "earn_percent", "must be a whole number, e.g. earn_percent = 5 (without quotes); got the string \"5\""),
        ("earn_percent = -1", "earn_percent", "must be a whole number from 0 up; got -1"),
        ("earn_percent = 2.5", "earn_percent", "must be a whole number; got 2.5"),
        ("earn_percent = 99999999999", "earn_percent", "must be a percentage from 0 to 100; got 99999999999"),
        ("[triggers.lapsed_60]\nholdout_percent = 300", "triggers.lapsed_60.holdout_percent", "must be a percentage from 0 to 100; got 300"),
        ("[triggers.lapsed_60]\nholdout_percent = -3", "triggers.lapsed_60.holdout_percent", "must be a whole number from 0 up; got -3"),
        (
            "[triggers.birthday]\nholdout_percent = \"10\"",
            "triggers.birthday.holdout_percent",
            "must be a whole number, e.g. holdout_percent = 10 (without quotes); got the string \"10\"",
        ),
        ("point_value_minor = -5", "point_value_minor", "must be a whole number from 0 up; got -5"),
        ("points_valid_days = 5000000000", "points_valid_days", "must be a whole number from 0 to 4294967295; got 5000000000"),
        ("shop_name = 5", "shop_name", "must be text in double quotes; got 5"),
        ("[triggers.lapsed_30]\nenabled = \"yes\"", "triggers.lapsed_30.enabled", "must be true or false; got the string \"yes\""),
        ("messaging = 5", "messaging", "must be a table; got 5"),
        ("[triggers.lapsed_30]\ntemplates = [1]", "triggers.lapsed_30.templates", "must be a table; got an array"),
        ("timezone = 5", "timezone", "must be an IANA time zone name in double quotes, e.g. \"Europe/Moscow\"; got 5"),
        ("default_locale = 5", "default_locale", "must be one of ru, en; got 5"),
    ];
    for (text, key, message) in cases {
        let e = error(text);
        assert_eq!((e.key.as_str(), e.message.as_str()), (key, message), "{text:?}");
    }
}

#[test]
fn a_wrong_time_zone_gets_the_closest_iana_names() {
    let cases = [
        ("Moscow", "\"Moscow\" is not an IANA time zone name; did you mean Europe/Moscow?"),
        ("moscow", "\"moscow\" is not an IANA time zone name; did you mean Europe/Moscow?"),
        ("europe/moscow", "\"europe/moscow\" is not an IANA time zone name; did you mean Europe/Moscow?"),
        ("Europe/Moskow", "\"Europe/Moskow\" is not an IANA time zone name; did you mean Europe/Moscow?"),
        ("Moskow", "\"Moskow\" is not an IANA time zone name; did you mean Europe/Moscow?"),
        ("New York", "\"New York\" is not an IANA time zone name; did you mean America/New_York?"),
        ("Mars/Base", "\"Mars/Base\" is not an IANA time zone name; write it as Area/City, e.g. Europe/Moscow"),
        ("", "\"\" is not an IANA time zone name; write it as Area/City, e.g. Europe/Moscow"),
    ];
    for (name, message) in cases {
        let e = error(&format!("timezone = \"{name}\""));
        assert_eq!((e.key.as_str(), e.message.as_str()), ("timezone", message), "{name:?}");
    }
    assert_eq!(parse_timezone("Europe/Moscow"), Ok(chrono_tz::Europe::Moscow));
    let several = parse_timezone("Indianapolis").unwrap_err();
    assert!(several.ends_with("did you mean America/Indiana/Indianapolis or America/Indianapolis?"), "{several}");
    assert_eq!(
        ProgramConfig::from_toml_str("timezone = \"Asia/Yekaterinburg\"").unwrap().timezone,
        chrono_tz::Asia::Yekaterinburg
    );
}

#[test]
fn an_unsupported_locale_lists_the_supported_ones_and_names_its_key() {
    let e = error("default_locale = \"fr\"");
    assert_eq!(e.to_string(), "default_locale: \"fr\" is not a supported locale; the supported ones are ru, en");
    let e = error("[triggers.birthday.templates.fr]\nsms = \"Joyeux anniversaire\"");
    assert_eq!(e.key, "triggers.birthday.templates.fr");
    assert_eq!(e.message, "\"fr\" is not a supported locale; the supported ones are ru, en");
    // A key under a supported locale is named with it too.
    let e = error("[triggers.lapsed_30.templates.ru]\nsmss = \"x\"");
    assert_eq!(e.key, "triggers.lapsed_30.templates.ru.smss");
    let e = error("[triggers.lapsed_30.templates]\nen = 5");
    assert_eq!((e.key.as_str(), e.message.as_str()), ("triggers.lapsed_30.templates.en", "must be a table; got 5"));
}

#[test]
fn an_unknown_key_suggests_the_nearest_one_or_lists_them() {
    let e = error("earn_precent = 5");
    assert_eq!(e.to_string(), "earn_precent: unknown key; did you mean earn_percent?");
    let e = error("[triggers.lapsed_30]\nholdout = 5");
    assert_eq!(e.to_string(), "triggers.lapsed_30.holdout: unknown key; the keys of [triggers.lapsed_30] are enabled, after_days, days_before, min_balance, gift_points, gift_valid_days, holdout_percent, attribution_days, priority, window_days, cooldown_days, min_points, templates");
    let e = error("[triggers.lapsed_30.templates.ru]\nsmss = \"x\"");
    assert_eq!(e.message, "unknown key; did you mean sms?");
    let e = error("[triggers.lapsed_45]\nenabled = true");
    assert_eq!(e.key, "triggers.lapsed_45");
    assert!(e.message.starts_with("unknown key; did you mean lapsed_30, lapsed_60 or lapsed_90?"), "{e}");
    let e = error("bogus = 1");
    assert!(e.to_string().starts_with("bogus: unknown key; the top-level keys are timezone, currency,"), "{e}");
}

#[test]
fn syntax_errors_carry_no_backticks() {
    for text in ["earn_percent = ", "earn_percent 5", "[triggers", "earn_percent = 5\nearn_percent = 6", "[a]\n[a]"] {
        let e = error(text);
        assert_eq!(e.key, "(syntax)", "{text:?}: {e}");
        assert!(e.message.contains("(line ") && !e.message.starts_with(" (line"), "{text:?}: {e}");
        assert!(!e.message.contains('\n'), "one line: {e}");
    }
    assert_eq!(error("earn_percent 5").message, "expected \".\", \"=\" (line 1)");
    assert!(error("earn_percent = ").message.starts_with("a value is missing"));
}

#[test]
fn settings_that_make_a_trigger_or_a_contact_rule_impossible_are_refused() {
    let cases = [
        ("[triggers.points_expiring]\ndays_before = 0", "triggers.points_expiring.days_before"),
        ("[triggers.birthday]\ndays_before = 0", "triggers.birthday.days_before"),
        ("[triggers.points_expiring]\ndays_before = 2", "triggers.points_expiring.window_days"),
        ("[triggers.lapsed_30]\nwindow_days = 0", "triggers.lapsed_30.window_days"),
        ("[triggers.lapsed_30]\ncooldown_days = 5", "triggers.lapsed_30.cooldown_days"),
        ("[triggers.points_expiring]\ncooldown_days = 0", "triggers.points_expiring.cooldown_days"),
        ("[triggers.birthday]\npriority = 2", "triggers.birthday.priority"),
        ("[messaging]\nmin_days_between_messages = 0", "messaging.min_days_between_messages"),
        ("[messaging]\nsms_window = \"20:00-10:00\"", "messaging.sms_window"),
        ("[messaging]\nemail_window = \"8-21\"", "messaging.email_window"),
    ];
    assert_refused_naming(&cases);
    let c = ProgramConfig::defaults();
    assert_eq!(c.messaging.min_days_between_messages, 2);
    assert_eq!(c.send_window(Channel::Sms).to_string(), "10:00-20:00");
    assert_eq!(c.send_window(Channel::Email).to_string(), "08:00-21:00");
    let order = [TriggerKind::Birthday, TriggerKind::Lapsed90, TriggerKind::Lapsed60, TriggerKind::PointsExpiring, TriggerKind::Lapsed30];
    assert_eq!(c.triggers_by_priority(), order);
    let pe = c.trigger(TriggerKind::PointsExpiring);
    assert_eq!((pe.window_days, pe.cooldown_days, pe.min_points), (3, Some(30), Some(50)));
}

#[test]
fn an_sms_template_over_the_segment_limit_is_refused() {
    let long = "б".repeat(140);
    let text = format!("[messaging]\nsms_max_segments = 2\n[triggers.lapsed_30.templates.ru]\nsms = \"{long}\"\n");
    let e = ProgramConfig::from_toml_str(&text).unwrap_err();
    assert_eq!(e.key, "triggers.lapsed_30.templates.ru.sms");
    assert!(e.message.contains("3 SMS segments"), "{e}");
}

#[test]
fn trigger_names_serialize_as_the_config_spells_them() {
    for kind in TriggerKind::ALL {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        assert_eq!(serde_json::from_value::<TriggerKind>(kind.as_str().into()).unwrap(), kind);
    }
}

#[test]
fn serialized_config_reads_back_the_same() {
    let c = ProgramConfig::defaults();
    assert_eq!(ProgramConfig::from_toml_str(&c.to_toml_string()).unwrap(), c);
}

#[test]
fn a_stores_table_names_the_branches_and_is_checked() {
    let c = ProgramConfig::defaults();
    assert!(c.stores.is_empty() && c.knows_store(&StoreId::parse("anything").unwrap()), "no table: every store");
    let c = ProgramConfig::from_toml_str("[stores.\"store-1\"]\nname = \"Tverskaya\"\ncity = \"Moscow\"").unwrap();
    assert_eq!(c.stores["store-1"], StoreInfo { name: "Tverskaya".into(), city: Some("Moscow".into()) });
    assert!(c.knows_store(&StoreId::parse("store-1").unwrap()));
    assert!(!c.knows_store(&StoreId::parse("store-2").unwrap()));
    assert_eq!(ProgramConfig::from_toml_str(&c.to_toml_string()).unwrap(), c, "it round-trips");
    for (toml, key) in [
        ("[stores.\"bad id\"]\nname = \"X\"", "stores.bad id"),
        ("[stores.s1]\nname = \" \"", "stores.s1.name"),
        ("[stores.s1]\nname = \"X\"\nphone = \"1\"", "stores.s1"),
        ("[stores.s1]\ncity = \"Moscow\"", "stores.s1"),
    ] {
        let e = ProgramConfig::from_toml_str(toml).unwrap_err();
        assert!(e.key.starts_with(key), "{toml}: {e}");
    }
}
