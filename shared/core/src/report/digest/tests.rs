//! The digest of a fixed shop, compared exactly with the committed golden files beside this
//! one (`golden/digest.en.txt`, `golden/digest.ru.txt`: the text part). After a deliberate
//! change of the wording, regenerate them and read the diff before committing:
//!
//! ```sh
//! BOOMERANG_BLESS=1 cargo test -p boomerang-core --lib report::digest
//! git diff shared/core/src/report/digest/golden/
//! ```

use std::path::PathBuf;

use crate::domain::book::{BookRead, DayFigures, DayRow};
use crate::domain::ids::StoreId;
use crate::domain::triggers::OutcomeStatus;
use crate::report::fixtures::*;
use crate::report::{compute, ReportInput};
use super::*;

/// A week of a small shop with two stores: the birthday trigger works, the 30-day reminder
/// has too few customers for a verdict, the 60-day gift has nobody held out yet, the rest
/// had nobody due; 123,456 points outstanding, 5,000 of them burning within 30 days.
fn fixed_shop(locale: &str) -> (ProgramConfig, Report) {
    let cfg = ProgramConfig::from_toml_str(&format!(
        "shop_name = \"Ромашка\"\n[owner]\nemail = \"owner@romashka.example\"\nlocale = \"{locale}\"\n\
         [stores.tverskaya]\nname = \"Тверская\"\ncity = \"Москва\"\n[stores.arbat]\nname = \"Арбат\"\n"
    ))
    .unwrap();
    let mut outcomes = Vec::new();
    let mut receipts = Vec::new();
    let groups = [
        ("b", TriggerKind::Birthday, "2026-11-24", OutcomeStatus::Sent, 60, 30, 350_000),
        ("bh", TriggerKind::Birthday, "2026-11-24", OutcomeStatus::Holdout, 40, 6, 300_000),
        ("l", TriggerKind::Lapsed30, "2026-11-26", OutcomeStatus::Sent, 12, 3, 180_000),
        ("lh", TriggerKind::Lapsed30, "2026-11-26", OutcomeStatus::Holdout, 2, 0, 0),
        ("s", TriggerKind::Lapsed60, "2026-11-27", OutcomeStatus::Sent, 5, 1, 90_000),
    ];
    for (prefix, trigger, date, status, n, bought, amount) in groups {
        let (o, r) = group(prefix, trigger, date, status, n, bought, amount);
        outcomes.extend(o);
        // The responders came back to the main store.
        receipts.extend(r.into_iter().map(|mut r| {
            r.store_id = StoreId::parse("tverskaya").unwrap();
            r
        }));
    }
    let outcomes: Vec<_> = outcomes
        .into_iter()
        .map(|o| if o.key.trigger == TriggerKind::Lapsed60 && o.treated { gifted(o, 300, "2026-12-27") } else { o })
        .collect();
    let day = |date: &str, store: &str, receipts: i64, revenue_minor: i64| DayRow {
        date: d(date),
        store: Some(store.to_owned()),
        figures: DayFigures { receipts, revenue_minor, earned: revenue_minor / 2000, ..DayFigures::default() },
    };
    let book = BookRead {
        days: vec![day("2026-11-24", "tverskaya", 40, 14_000_000), day("2026-11-26", "tverskaya", 12, 4_000_000), day("2026-11-27", "arbat", 3, 900_000)],
        expiring: vec![(d("2026-12-10"), 5_000), (d("2027-06-01"), 118_456)],
    };
    let report = compute(ReportInput {
        config: &cfg,
        from: d("2026-11-23"),
        to: d("2026-11-29"),
        today: d("2026-11-30"),
        outcomes: &outcomes,
        receipts: &receipts,
        book: &book,
    });
    (cfg, report)
}

/// Four weeks of the fixed shop's word of mouth: 120 surveys sent, 41 answers (22 promoters,
/// 11 passives, 8 detractors); 3 friends enrolled with a code, 2 bought, 600 points rewarded.
fn word_of_mouth(promoters: u64, passives: u64, detractors: u64) -> (NpsRow, ReferralSection) {
    use crate::domain::survey::nps::NpsCounts;
    use crate::report::nps::Tally;
    use crate::report::referrals::{referral_section, ReferralInput};
    let nps = Tally { sent: 120, counts: NpsCounts { promoters, passives, detractors } }.row("total", "total".to_owned());
    let mut referrals = referral_section(&ReferralInput {
        point_value_minor: 100,
        enrolled: &[],
        rewards: &[],
        receipts: &[],
        referred_revenue_minor: 0,
        referral_redeemed: 0,
        surveys: &[],
    });
    (referrals.enrolled_with_code, referrals.converted, referrals.referrer_points_credited) = (3, 2, 600);
    (nps, referrals)
}

fn digest_of(cfg: &ProgramConfig, report: &Report) -> Digest {
    let (nps, referrals) = word_of_mouth(22, 11, 8);
    digest_with(cfg, report, Some(WordOfMouthFigures { nps: &nps, referrals: &referrals }))
}

fn digest_with(cfg: &ProgramConfig, report: &Report, word_of_mouth: Option<WordOfMouthFigures<'_>>) -> Digest {
    render(DigestInput {
        config: cfg,
        report,
        view_url: "https://loyalty.romashka.example/v1/reports/view?token=sample",
        link_valid_until: d("2026-12-07"),
        attachment_name: &attachment_name(report.from, report.to),
        word_of_mouth,
    })
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/report/digest/golden").join(name)
}

/// `actual` equals the committed file, or (with BOOMERANG_BLESS=1) becomes it.
fn assert_golden(name: &str, actual: &str) {
    let path = golden(name);
    if std::env::var_os("BOOMERANG_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with BOOMERANG_BLESS=1 to write it", path.display()));
    assert!(expected == actual, "the digest differs from {}:\n--- expected\n{expected}\n--- actual\n{actual}", path.display());
}

#[test]
fn the_digest_of_a_fixed_shop_reads_as_the_golden_text_in_english() {
    let (cfg, report) = fixed_shop("en");
    assert_golden("digest.en.txt", &digest_of(&cfg, &report).text);
}

#[test]
fn the_digest_of_a_fixed_shop_reads_as_the_golden_text_in_russian() {
    let (cfg, report) = fixed_shop("ru");
    assert_golden("digest.ru.txt", &digest_of(&cfg, &report).text);
}

#[test]
fn every_trigger_has_a_line_with_its_figures_and_verdict_in_both_parts() {
    let (cfg, report) = fixed_shop("en");
    let digest = digest_of(&cfg, &report);
    let birthday = row(&report, "birthday");
    assert_eq!(birthday.verdict, Verdict::Works);
    let net = money(birthday.net_minor.unwrap(), "RUB", Locale::En);
    assert!(net.starts_with('+') && net.contains(','), "{net}");
    let line = format!("- Birthday: sent 60, came back 30, net {net} — it works: keep it.");
    assert!(digest.text.contains(&line), "{}", digest.text);
    assert!(digest.html.contains(&escape(&net)) && digest.html.contains("it works: keep it"));
    for title in ["Lapsed 30 days", "Lapsed 60 days", "Lapsed 90 days", "Birthday", "Points expiring", "All triggers"] {
        assert!(digest.text.contains(&format!("- {title}: sent ")), "{title}");
        assert!(digest.html.contains(&format!(">{title}</th>")), "{title}");
    }
    assert!(digest.subject.starts_with("Ромашка: the week 23 Nov 2026 – 29 Nov 2026, the triggers earned +"), "{}", digest.subject);
    assert!(digest.html.contains("href=\"https://loyalty.romashka.example/v1/reports/view?token=sample\""));
    assert!(!digest.text.to_lowercase().contains("unsubscribe") && !digest.html.to_lowercase().contains("unsubscribe"));
    assert_eq!(report.points.liability_points, 123_456);
    let points = "Customers hold 123,456 points, worth 123,456\u{a0}₽: what the programme owes them. In the next 30 days 5,000 points (5,000\u{a0}₽) burn unless spent.";
    assert!(digest.text.contains(points) && digest.html.contains(&escape(points)), "{}", digest.text);
    let stores = "Best store: Тверская (Москва): 52 receipts, 180,000\u{a0}₽. Weakest: Арбат: 3 receipts, 9,000\u{a0}₽.";
    assert!(digest.text.contains(stores) && digest.html.contains(&escape(stores)), "{}", digest.text);
    // The chart: two bars per trigger, the widest the most messages.
    assert_eq!(digest.html.matches("class=\"bar\"").count(), 10);
    assert!(digest.html.contains("data-series=\"sent\" data-value=\"60\" style=\"background:#93c5fd;height:10px;width:100%\""));
    assert!(digest.html.contains("data-series=\"came_back\" data-value=\"30\" style=\"background:#16a34a;height:10px;width:50%\""));
}

#[test]
fn without_stores_the_digest_says_nothing_of_them_and_one_store_is_not_ranked() {
    let (cfg, mut report) = fixed_shop("ru");
    report.stores.truncate(1);
    let one = digest_of(&cfg, &report).text;
    assert!(one.contains("Один магазин: Арбат: 3 чека, 9\u{a0}000\u{a0}₽."), "{one}");
    report.stores.clear();
    let none = digest_of(&cfg, &report).text;
    assert!(!none.contains("магазин"), "{none}");
}

#[test]
fn the_word_of_mouth_paragraph_gives_the_nps_with_its_interval_or_why_there_is_none_and_the_referrals() {
    let (cfg, report) = fixed_shop("en");
    let digest = digest_of(&cfg, &report);
    let nps = "Net Promoter Score of the last 4 weeks: +34 (95 % sure it lies between +10 and +58), from 41 answers: 54 % would recommend the shop to a friend, 20 % would not.";
    let referrals = "Tell a friend: 3 friends enrolled with a customer's code, 2 made a first purchase; 600 points went to the customers who brought them.";
    for part in [nps, referrals] {
        assert!(digest.text.contains(part) && digest.html.contains(&escape(part)), "{}", digest.text);
    }
    assert!(digest.html.contains("<p data-digest=\"word-of-mouth\">"));

    let (few, referrals) = word_of_mouth(4, 2, 1);
    let text = digest_with(&cfg, &report, Some(WordOfMouthFigures { nps: &few, referrals: &referrals })).text;
    assert!(text.contains("not enough answers for a score yet (7 of the 30 needed)"), "{text}");
    let (none, referrals) = word_of_mouth(0, 0, 0);
    let text = digest_with(&cfg, &report, Some(WordOfMouthFigures { nps: &none, referrals: &referrals })).text;
    assert!(text.contains("Nobody answered the survey in the last 4 weeks."), "{text}");
    // A program with neither the survey nor referrals: nothing said of them.
    let text = digest_with(&cfg, &report, None).text;
    assert!(!text.contains("Net Promoter") && !text.contains("Tell a friend") && !text.contains("survey"), "{text}");
}

#[test]
fn money_is_grouped_as_the_owner_writes_it() {
    assert_eq!(money(190_951_700, "RUB", Locale::Ru), "+1\u{a0}909\u{a0}517\u{a0}₽");
    assert_eq!(money(190_951_700, "RUB", Locale::En), "+1,909,517\u{a0}₽");
    assert_eq!(money(-12_345, "RUB", Locale::En), "-123\u{a0}₽");
    assert_eq!(money(0, "USD", Locale::En), "0\u{a0}$");
}

#[test]
fn russian_nouns_agree_with_their_number() {
    let words: Vec<&str> = [1, 2, 5, 11, 12, 21, 22, 25, 111, 104].into_iter().map(ru_weeks).collect();
    assert_eq!(words, ["неделю", "недели", "недель", "недель", "недель", "неделю", "недели", "недель", "недель", "недели"]);
    assert_eq!(ru_plural(123_456, "балл", "балла", "баллов"), "баллов");
    assert_eq!(grouped(1_234_567, Locale::Ru), "1\u{a0}234\u{a0}567");
    assert_eq!(grouped(999, Locale::En), "999");
}
