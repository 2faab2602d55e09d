//! Message wording: a decision's (or a referrer's reward's) message rendered from the tenant's templates, with dates
//! and names as the customer reads them.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::domain::config::ProgramConfig;
use crate::domain::customer::CustomerRecord;
use crate::domain::kinds::{Channel, MessageKind};
use crate::domain::referral::ReferralReward;
use crate::domain::template::{render, Escape};
use crate::domain::triggers::{expiring_soon, Episode, Outcome};
use crate::domain::wording::{fallback_name, format_date};

/// The text of one outcome's message, rendered from the tenant's templates with what the
/// customer's record says at the send (so the balance includes the gift just credited, and a
/// warning names the points that burn soon as of today).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
}

/// Renders the message of an outcome on its channel; `None` when the outcome has no channel.
pub fn render_outcome(
    cfg: &ProgramConfig,
    record: &CustomerRecord,
    outcome: &Outcome,
    today: NaiveDate,
    unsubscribe_url: &str,
) -> Option<Rendered> {
    // The points a warning names are the ones burning soon as of the send, not the decision.
    let expiring = match outcome.key.episode {
        Episode::Expiry(first) => {
            Some(expiring_soon(cfg, &record.account, today).unwrap_or((outcome.expiring_points, first)))
        }
        _ => None,
    };
    let gift = Gift { points: outcome.gift_points, expires_on: outcome.gift_expires_on };
    let facts = Facts { kind: outcome.key.trigger.into(), channel: outcome.channel?, gift, expiring, link: None };
    Some(render_message(cfg, record, &facts, today, unsubscribe_url))
}

/// Renders the referrer's message on `channel`: the reward credited with it.
pub fn render_reward(
    cfg: &ProgramConfig,
    record: &CustomerRecord,
    reward: &ReferralReward,
    channel: Channel,
    today: NaiveDate,
    unsubscribe_url: &str,
) -> Rendered {
    let gift = Gift { points: reward.points, expires_on: reward.expires_on };
    let facts = Facts { kind: MessageKind::ReferralReward, channel, gift, expiring: None, link: None };
    render_message(cfg, record, &facts, today, unsubscribe_url)
}

/// Renders a survey's message (`MessageKind::Survey`, with its `survey_url`) or a promoter's
/// invitation (`MessageKind::PromoterInvite`, with their `referral_code`) on `channel`.
pub fn render_survey_message(
    cfg: &ProgramConfig,
    record: &CustomerRecord,
    kind: MessageKind,
    link: (&'static str, String),
    channel: Channel,
    today: NaiveDate,
    unsubscribe_url: &str,
) -> Rendered {
    let gift = Gift { points: 0, expires_on: None };
    let facts = Facts { kind, channel, gift, expiring: None, link: Some(link) };
    render_message(cfg, record, &facts, today, unsubscribe_url)
}

/// Points a message announces and the date they burn.
struct Gift {
    points: u64,
    expires_on: Option<NaiveDate>,
}

/// What a message says beyond the customer's record.
struct Facts {
    kind: MessageKind,
    channel: Channel,
    gift: Gift,
    /// A warning's points burning soon and the first date they burn.
    expiring: Option<(u64, NaiveDate)>,
    /// A survey's link or a promoter's code: the placeholder and its value.
    link: Option<(&'static str, String)>,
}

fn render_message(
    cfg: &ProgramConfig,
    record: &CustomerRecord,
    facts: &Facts,
    today: NaiveDate,
    unsubscribe_url: &str,
) -> Rendered {
    let locale = record.customer.locale.unwrap_or(cfg.default_locale);
    let templates = cfg.templates(facts.kind, locale);
    let expiring = facts.expiring;
    let mut vars: BTreeMap<&str, String> = BTreeMap::from([
        ("name", record.customer.name.clone().unwrap_or_else(|| fallback_name(locale).to_string())),
        ("shop_name", cfg.shop_name.clone()),
        ("balance", record.account.balance(today).to_string()),
        ("gift_points", facts.gift.points.to_string()),
        ("gift_expires_on", facts.gift.expires_on.map(|d| format_date(d, locale)).unwrap_or_default()),
        ("points", expiring.map_or(0, |(points, _)| points).to_string()),
        ("expires_on", expiring.map(|(_, first)| format_date(first, locale)).unwrap_or_default()),
        ("unsubscribe_url", unsubscribe_url.to_string()),
    ]);
    vars.extend(facts.link.clone());
    // Templates were validated when the config loaded, so rendering cannot fail here.
    let r = |t: &str, e| render(t, &vars, e).unwrap_or_default();
    match facts.channel {
        Channel::Email => Rendered {
            subject: Some(r(&templates.email_subject, Escape::None)),
            text: r(&templates.email_text, Escape::None),
            html: Some(r(&templates.email_html, Escape::Html)),
        },
        Channel::Sms => Rendered { subject: None, text: r(&templates.sms, Escape::None), html: None },
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::ids::CustomerId;
    use crate::domain::kinds::{Locale, TriggerKind};
    use crate::domain::ledger::LotKey;
    use crate::domain::triggers::{OutcomeKey, OutcomeStatus};
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn outcome(trigger: TriggerKind, episode: Episode, channel: Channel) -> Outcome {
        Outcome {
            key: OutcomeKey { customer_id: CustomerId::parse("c1").unwrap(), trigger, episode },
            sweep_date: d("2026-12-01"),
            status: OutcomeStatus::Pending,
            channel: Some(channel),
            unreachable: None,
            gift_points: 300,
            gift_expires_on: Some(d("2026-12-15")),
            expiring_points: 0,
            decided_at: "2026-12-01T08:00:00Z".parse().unwrap(),
            sent_at: None,
            error: None,
            valid_until: None,
            treated: true,
            claim: None,
        }
    }

    #[test]
    fn a_gift_message_names_the_customer_the_gift_its_date_and_the_new_balance() {
        let cfg = ProgramConfig::defaults();
        let mut record = CustomerRecord::new(CustomerId::parse("c1").unwrap(), "2026-01-01T00:00:00Z".parse().unwrap());
        record.customer.name = Some("Anna <script>".into());
        record.customer.locale = Some(Locale::En);
        record.account.gift(LotKey::gift(d("2026-12-15"), TriggerKind::Lapsed90), 300, "g");
        let o = outcome(TriggerKind::Lapsed90, Episode::Lapse(d("2026-09-01")), Channel::Email);
        let m = render_outcome(&cfg, &record, &o, d("2026-12-01"), "https://x/v1/unsubscribe?token=t").unwrap();
        assert!(m.subject.as_deref().unwrap().contains("15 Dec 2026"), "{:?}", m.subject);
        assert!(m.text.contains("Anna <script>") && m.text.contains("300") && m.text.contains("https://x/v1/unsubscribe?token=t"));
        let html = m.html.unwrap();
        assert!(html.contains("Anna &lt;script&gt;"), "names are escaped in HTML: {html}");
        let sms = render_outcome(&cfg, &record, &outcome(TriggerKind::Lapsed90, Episode::Lapse(d("2026-09-01")), Channel::Sms), d("2026-12-01"), "").unwrap();
        assert!(sms.subject.is_none() && sms.html.is_none());
        record.customer.locale = None;
        let ru = render_outcome(&cfg, &record, &o, d("2026-12-01"), "").unwrap();
        assert!(ru.text.contains("15.12.2026"), "the tenant's default locale: {}", ru.text);
    }

    #[test]
    fn the_referrers_message_names_the_reward_in_each_locale() {
        let cfg = ProgramConfig::defaults();
        let mut record = CustomerRecord::new(CustomerId::parse("anna").unwrap(), "2026-01-01T00:00:00Z".parse().unwrap());
        record.customer.name = Some("Anna".into());
        let json = r#"{"friend":"boris","referrer":"anna","receipt_id":"r1","purchased_on":"2026-11-03",
            "due_on":"2026-11-17","points":300,"status":"sending","expires_on":"2027-02-15"}"#;
        let reward: ReferralReward = serde_json::from_str(json).unwrap();
        record.account.gift(LotKey::gift(d("2027-02-15"), TriggerKind::Lapsed60), 300, "referral");
        let url = "https://x/v1/unsubscribe?token=t";
        let ru = render_reward(&cfg, &record, &reward, Channel::Email, d("2026-11-17"), url);
        assert_eq!(ru.subject.as_deref(), Some("Anna, ваш друг сделал первую покупку: +300 баллов"));
        assert!(ru.text.contains("15.02.2027") && ru.text.contains("Всего на счёте 300") && ru.text.contains(url), "{}", ru.text);
        record.customer.locale = Some(Locale::En);
        let en = render_reward(&cfg, &record, &reward, Channel::Email, d("2026-11-17"), url);
        assert_eq!(en.subject.as_deref(), Some("Anna, your friend made a first purchase: +300 points"));
        assert!(en.html.unwrap().contains("<b>300</b>"));
        let sms = render_reward(&cfg, &record, &reward, Channel::Sms, d("2026-11-17"), "");
        assert_eq!(sms.text, "Boomerang Shop: your friend made a first purchase: +300 points until 15 Feb 2027");
        assert!(sms.subject.is_none() && sms.html.is_none());
    }
}
