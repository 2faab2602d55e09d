//! An outgoing email as MIME (multipart/alternative, text and HTML) with the RFC 8058
//! one-click unsubscribe headers: what SES sends raw and what the local outbox keeps as
//! `.eml`. Both messaging adapters build it here, so the two never differ.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use boomerang_core::ports::OutgoingMessage;

fn encoded_word(text: &str) -> String {
    if text.is_ascii() && !text.contains(['\r', '\n']) {
        text.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", STANDARD.encode(text))
    }
}

fn base64_lines(text: &str) -> String {
    let encoded = STANDARD.encode(text);
    encoded.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("\r\n")
}

/// The email as MIME (multipart/alternative, text and HTML), with RFC 8058 one-click
/// unsubscribe headers: what SES sends raw and what the local outbox keeps as `.eml`.
pub fn email_mime(message: &OutgoingMessage, from_address: &str, message_id: &str) -> String {
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
    use boomerang_core::domain::ids::CustomerId;
    use boomerang_core::domain::kinds::{Channel, TriggerKind};
    use boomerang_core::domain::triggers::{Episode, OutcomeKey};

    use super::*;

    #[test]
    fn the_mime_carries_both_parts_and_the_one_click_unsubscribe_headers() {
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
        assert!(mime.contains(&format!("Subject: =?UTF-8?B?{}?=", STANDARD.encode("С днём рождения"))));
        assert!(mime.contains("Content-Type: text/plain; charset=utf-8") && mime.contains("Content-Type: text/html; charset=utf-8"));
        assert!(mime.contains(&STANDARD.encode("<p>Привет</p>")));
        assert!(mime.trim_end().ends_with("--"));
    }
}
