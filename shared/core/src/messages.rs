//! Message wording: dates and numbers in the customer's locale, and template variables.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::config::{Locale, ProgramConfig, TriggerKind};

/// A date as the customer reads it: `24.12.2026` in Russian, `24 Dec 2026` in English.
pub fn format_date(date: NaiveDate, locale: Locale) -> String {
    match locale {
        Locale::Ru => date.format("%d.%m.%Y").to_string(),
        Locale::En => {
            const MONTHS: [&str; 12] =
                ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
            format!("{} {} {}", date.day(), MONTHS[date.month0() as usize], date.year())
        }
    }
}

/// The greeting used when the customer gave no name.
pub fn fallback_name(locale: Locale) -> &'static str {
    match locale {
        Locale::Ru => "Дорогой покупатель",
        Locale::En => "Dear customer",
    }
}

/// Template variables with long-ish typical values, for bounding what a template renders to.
pub fn sample_vars(cfg: &ProgramConfig, kind: TriggerKind, locale: Locale) -> BTreeMap<&'static str, String> {
    let date = format_date(NaiveDate::from_ymd_opt(2026, 12, 24).expect("valid date"), locale);
    let trigger = cfg.trigger(kind);
    BTreeMap::from([
        ("name", "Александра".to_string()),
        ("shop_name", cfg.shop_name.clone()),
        ("balance", "12345".to_string()),
        ("gift_points", trigger.gift_points.to_string()),
        ("gift_expires_on", date.clone()),
        ("points", "1234".to_string()),
        ("expires_on", date),
        ("unsubscribe_url", format!("{}/v1/unsubscribe?token=sample", cfg.messaging.unsubscribe_base_url)),
    ])
}

/// The text of one outcome's message, rendered from the tenant's templates with what the
/// customer's record says now (so the balance includes the gift just credited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
}

/// Renders the message of an outcome on its channel; `None` when the outcome has no channel.
pub fn render_outcome(
    cfg: &ProgramConfig,
    record: &crate::customer::CustomerRecord,
    outcome: &crate::sweep::Outcome,
    today: NaiveDate,
    unsubscribe_url: &str,
) -> Option<Rendered> {
    use crate::customer::Channel;
    use crate::template::{render, Escape};
    let channel = outcome.channel?;
    let locale = record.customer.locale.unwrap_or(cfg.default_locale);
    let trigger = outcome.key.trigger;
    let templates = cfg.templates(trigger, locale);
    let episode_date = match outcome.key.episode {
        crate::sweep::Episode::Expiry(d) => Some(d),
        _ => None,
    };
    let vars: BTreeMap<&str, String> = BTreeMap::from([
        ("name", record.customer.name.clone().unwrap_or_else(|| fallback_name(locale).to_string())),
        ("shop_name", cfg.shop_name.clone()),
        ("balance", record.account.balance(today).to_string()),
        ("gift_points", outcome.gift_points.to_string()),
        ("gift_expires_on", outcome.gift_expires_on.map(|d| format_date(d, locale)).unwrap_or_default()),
        ("points", outcome.expiring_points.to_string()),
        ("expires_on", episode_date.map(|d| format_date(d, locale)).unwrap_or_default()),
        ("unsubscribe_url", unsubscribe_url.to_string()),
    ]);
    // Templates were validated when the config loaded, so rendering cannot fail here.
    let r = |t: &str, e| render(t, &vars, e).unwrap_or_default();
    Some(match channel {
        Channel::Email => Rendered {
            subject: Some(r(&templates.email_subject, Escape::None)),
            text: r(&templates.email_text, Escape::None),
            html: Some(r(&templates.email_html, Escape::Html)),
        },
        Channel::Sms => Rendered { subject: None, text: r(&templates.sms, Escape::None), html: None },
    })
}

fn encoded_word(text: &str) -> String {
    use base64::Engine;
    if text.is_ascii() && !text.contains(['\r', '\n']) {
        text.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(text))
    }
}

fn base64_lines(text: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    encoded.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("\r\n")
}

/// The email as MIME (multipart/alternative, text and HTML), with RFC 8058 one-click
/// unsubscribe headers: what SES sends raw and what the local outbox keeps as `.eml`.
pub fn email_mime(message: &crate::ports::OutgoingMessage, from_address: &str, message_id: &str) -> String {
    let boundary = format!("=_boomerang_{}", message_id.replace(|c: char| !c.is_ascii_alphanumeric(), ""));
    let mut headers = vec![
        format!("From: {} <{from_address}>", encoded_word(&message.from_name)),
        format!("To: {}", message.to),
        format!("Subject: {}", encoded_word(message.subject.as_deref().unwrap_or(""))),
        format!("Date: {}", message.created_at.to_rfc2822()),
        format!("Message-ID: <{message_id}>"),
        "MIME-Version: 1.0".to_string(),
    ];
    if let Some(url) = &message.unsubscribe_url {
        headers.push(format!("List-Unsubscribe: <{url}>"));
        headers.push("List-Unsubscribe-Post: List-Unsubscribe=One-Click".to_string());
    }
    headers.push(format!("Content-Type: multipart/alternative; boundary=\"{boundary}\""));
    let part = |kind: &str, body: &str| {
        format!(
            "--{boundary}\r\nContent-Type: {kind}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64_lines(body)
        )
    };
    let mut mime = headers.join("\r\n");
    mime.push_str("\r\n\r\n");
    mime.push_str(&part("text/plain", &message.text));
    if let Some(html) = &message.html {
        mime.push_str(&part("text/html", html));
    }
    mime.push_str(&format!("--{boundary}--\r\n"));
    mime
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TriggerKind;
    use crate::customer::{Channel, CustomerRecord};
    use crate::ids::CustomerId;
    use crate::ledger::LotKey;
    use crate::ports::OutgoingMessage;
    use crate::sweep::{Episode, Outcome, OutcomeKey, OutcomeStatus};

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
        }
    }

    #[test]
    fn dates_read_as_the_customer_writes_them() {
        assert_eq!(format_date(d("2026-12-05"), Locale::Ru), "05.12.2026");
        assert_eq!(format_date(d("2026-12-05"), Locale::En), "5 Dec 2026");
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
    fn the_mime_carries_both_parts_and_the_one_click_unsubscribe_headers() {
        use base64::Engine;
        let message = OutgoingMessage {
            key: OutcomeKey { customer_id: CustomerId::parse("c1").unwrap(), trigger: TriggerKind::Birthday, episode: Episode::Birthday(2027) },
            channel: Channel::Email,
            to: "anna@example.ru".into(),
            from_name: "Магазин".into(),
            subject: Some("С днём рождения".into()),
            text: "Привет".into(),
            html: Some("<p>Привет</p>".into()),
            unsubscribe_url: Some("https://api.example/v1/unsubscribe?token=abc".into()),
            created_at: "2026-12-29T08:00:00Z".parse().unwrap(),
        };
        let mime = email_mime(&message, "shop@example.ru", "birthday.2027.c1@boomerang");
        assert!(mime.contains("List-Unsubscribe: <https://api.example/v1/unsubscribe?token=abc>\r\n"));
        assert!(mime.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert!(mime.contains("To: anna@example.ru\r\n"));
        assert!(mime.contains("From: =?UTF-8?B?"), "a non-ASCII display name is encoded");
        assert!(mime.contains(&format!("Subject: =?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode("С днём рождения"))));
        assert!(mime.contains("Content-Type: text/plain; charset=utf-8") && mime.contains("Content-Type: text/html; charset=utf-8"));
        assert!(mime.contains(&base64::engine::general_purpose::STANDARD.encode("<p>Привет</p>")));
        assert!(mime.trim_end().ends_with("--"));
    }
}
