//! An outgoing email as MIME (multipart/alternative, text and HTML) with the RFC 8058
//! one-click unsubscribe headers, and the owner's digest with its report attached: what SES
//! sends raw and what the local outbox keeps as `.eml`. Both messaging adapters build it here, so the two never differ.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use boomerang_core::ports::{OutgoingMessage, OwnerEmail};
use chrono::{DateTime, Utc};

/// Header text as RFC 2047 encoded words when it is not plain printable ASCII: each word at
/// most 75 characters (the RFC's limit), whole UTF-8 characters per word, words separated by
/// folding white space (which a reader drops between encoded words).
fn encoded_words(text: &str) -> String {
    // "=?UTF-8?B?" + "?=" is 12 characters; 63 left hold 15 groups of 4 base64 characters,
    // that is 45 bytes of text.
    const MAX_BYTES: usize = 45;
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > MAX_BYTES {
            words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&chunk)));
    words.join("\r\n ")
}

fn printable_ascii(text: &str) -> bool {
    text.bytes().all(|b| (b' '..=b'~').contains(&b))
}

/// Unstructured header text (the subject): as it is when plain printable ASCII.
fn unstructured(text: &str) -> String {
    if printable_ascii(text) {
        text.to_string()
    } else {
        encoded_words(text)
    }
}

/// The display name of an address (RFC 5322 `phrase`): atoms as they are; other printable
/// ASCII as a quoted-string (`"Smith, Jones & Co"`: the comma, `.`, `<`, `@`, `"` and the
/// like are specials a bare name may not hold); anything else as encoded words.
fn display_name(name: &str) -> String {
    const ATEXT_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";
    if !printable_ascii(name) {
        return encoded_words(name);
    }
    let atoms = name.split(' ').all(|atom| {
        !atom.is_empty() && atom.chars().all(|c| c.is_ascii_alphanumeric() || ATEXT_SPECIALS.contains(c))
    });
    if atoms {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn base64_lines(text: &str) -> String {
    let encoded = STANDARD.encode(text);
    encoded.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("\r\n")
}

/// The boundary of a MIME part, derived from the Message-ID (never random).
fn boundary(message_id: &str, part: &str) -> String {
    format!("=_boomerang_{part}{}", message_id.replace(|c: char| !c.is_ascii_alphanumeric(), ""))
}

/// The headers every email of ours starts with.
fn common_headers(from_name: &str, from_address: &str, to: &str, subject: &str, date: &DateTime<Utc>, message_id: &str) -> Vec<String> {
    vec![
        format!("From: {} <{from_address}>", display_name(from_name)),
        format!("To: {to}"),
        format!("Subject: {}", unstructured(subject)),
        format!("Date: {}", date.to_rfc2822()),
        format!("Message-ID: <{message_id}>"),
        "MIME-Version: 1.0".to_string(),
    ]
}

/// A multipart/alternative body of the text and, when there is one, the HTML; each part
/// base64 in UTF-8.
fn alternative(boundary: &str, text: &str, html: Option<&str>) -> String {
    let part = |kind: &str, body: &str| {
        format!(
            "--{boundary}\r\nContent-Type: {kind}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64_lines(body)
        )
    };
    let mut body = part("text/plain", text);
    if let Some(html) = html {
        body.push_str(&part("text/html", html));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    body
}

/// The email as MIME (multipart/alternative, text and HTML), with RFC 8058 one-click
/// unsubscribe headers: what SES sends raw and what the local outbox keeps as `.eml`.
pub fn email_mime(message: &OutgoingMessage, from_address: &str, message_id: &str) -> String {
    let boundary = boundary(message_id, "");
    let subject = message.subject.as_deref().unwrap_or("");
    let mut headers = common_headers(&message.from_name, from_address, &message.to, subject, &message.created_at, message_id);
    if let Some(url) = &message.unsubscribe_url {
        headers.push(format!("List-Unsubscribe: <{url}>"));
        headers.push("List-Unsubscribe-Post: List-Unsubscribe=One-Click".to_string());
    }
    headers.push(format!("Content-Type: multipart/alternative; boundary=\"{boundary}\""));
    let mut mime = headers.join("\r\n");
    mime.push_str("\r\n\r\n");
    mime.push_str(&alternative(&boundary, &message.text, message.html.as_deref()));
    mime
}

/// An email to the owner as MIME: multipart/mixed of the text and HTML (multipart/alternative)
/// and the attached file. No unsubscribe headers: it is not a marketing message.
pub fn owner_email_mime(email: &OwnerEmail, from_address: &str, message_id: &str) -> String {
    let (mixed, alt) = (boundary(message_id, "m"), boundary(message_id, "a"));
    let mut headers = common_headers(&email.from_name, from_address, &email.to, &email.subject, &email.created_at, message_id);
    headers.push(format!("Content-Type: multipart/mixed; boundary=\"{mixed}\""));
    let file = &email.attachment;
    // The file name as an RFC 2231 parameter would need more care; ours are ASCII (dates).
    let name: String = file.filename.chars().filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\').collect();
    let mut mime = headers.join("\r\n");
    mime.push_str("\r\n\r\n");
    mime.push_str(&format!("--{mixed}\r\nContent-Type: multipart/alternative; boundary=\"{alt}\"\r\n\r\n"));
    mime.push_str(&alternative(&alt, &email.text, Some(&email.html)));
    mime.push_str(&format!(
        "--{mixed}\r\nContent-Type: {}; charset=utf-8; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--{mixed}--\r\n",
        file.content_type,
        base64_lines(&file.content)
    ));
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
            key: (&OutcomeKey { customer_id: CustomerId::parse("c1").unwrap(), trigger: TriggerKind::Birthday, episode: Episode::Birthday(2027) }).into(),
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

    #[test]
    fn the_owner_email_carries_text_html_and_the_attached_report_and_no_unsubscribe_headers() {
        use boomerang_core::ports::Attachment;
        let email = OwnerEmail {
            id: "owner_digest.2026-11-29".into(),
            to: "owner@shop.example".into(),
            from_name: "Ромашка".into(),
            subject: "Ромашка: неделя".into(),
            text: "Триггеры прошлой недели".into(),
            html: "<p>Триггеры</p>".into(),
            attachment: Attachment {
                filename: "boomerang-report-2026-11-23-to-2026-11-29.html".into(),
                content_type: "text/html".into(),
                content: "<!DOCTYPE html><title>Отчёт</title>".into(),
            },
            created_at: "2026-11-30T06:00:00Z".parse().unwrap(),
        };
        let mime = owner_email_mime(&email, "loyalty@shop.example", "owner_digest.2026-11-29@shop.example");
        assert!(!mime.contains("List-Unsubscribe"), "not a marketing message");
        let headers = mime.split("\r\n\r\n").next().unwrap();
        assert!(headers.contains("To: owner@shop.example\r\n") && headers.contains("Content-Type: multipart/mixed; boundary="), "{headers}");
        let mixed = headers.split("boundary=\"").nth(1).unwrap().trim_end_matches('"');
        let parts: Vec<&str> = mime.split(&format!("--{mixed}")).collect();
        // Preamble, the alternative, the attachment, the closing "--".
        assert_eq!(parts.len(), 4, "{mime}");
        assert!(parts[1].contains("Content-Type: multipart/alternative") && parts[1].contains(&STANDARD.encode("Триггеры прошлой недели")));
        assert!(parts[1].contains("Content-Type: text/html; charset=utf-8") && parts[1].contains(&STANDARD.encode("<p>Триггеры</p>")));
        let file = parts[2];
        assert!(file.contains("Content-Disposition: attachment; filename=\"boomerang-report-2026-11-23-to-2026-11-29.html\""), "{file}");
        let body: String = file.split("\r\n\r\n").nth(1).unwrap().split_whitespace().collect();
        assert_eq!(String::from_utf8(STANDARD.decode(body).unwrap()).unwrap(), email.attachment.content);
        assert!(parts[3].starts_with("--"), "the closing boundary");
    }

    fn from_line(from_name: &str) -> String {
        let message = OutgoingMessage {
            key: (&OutcomeKey { customer_id: CustomerId::parse("c1").unwrap(), trigger: TriggerKind::Birthday, episode: Episode::Birthday(2027) }).into(),
            channel: Channel::Email,
            to: "anna@example.ru".into(),
            from_name: from_name.into(),
            subject: Some("Hi".into()),
            text: "Hi".into(),
            html: None,
            unsubscribe_url: None,
            created_at: "2026-12-29T08:00:00Z".parse().unwrap(),
        };
        let mime = email_mime(&message, "shop@example.ru", "m@boomerang");
        mime.split("\r\n").next().unwrap().to_owned()
    }

    #[test]
    fn a_display_name_with_specials_is_quoted_per_rfc_5322() {
        assert_eq!(from_line("Smith, Jones & Co"), "From: \"Smith, Jones & Co\" <shop@example.ru>");
        assert_eq!(from_line("Boomerang Shop"), "From: Boomerang Shop <shop@example.ru>", "atoms stay bare");
        assert_eq!(from_line("A.B. Store"), "From: \"A.B. Store\" <shop@example.ru>");
        assert_eq!(from_line("The \"Best\" <Shop>"), "From: \"The \\\"Best\\\" <Shop>\" <shop@example.ru>");
        assert_eq!(from_line("Back\\slash"), "From: \"Back\\\\slash\" <shop@example.ru>");
        assert_eq!(from_line("Two  spaces"), "From: \"Two  spaces\" <shop@example.ru>");
    }

    #[test]
    fn a_non_ascii_display_name_stays_encoded_words_of_at_most_75_characters() {
        let name = "Магазин «Ромашка», Смит и Джонс — лучший магазин косметики в городе";
        // A long name folds over several lines: the whole header, up to the next one.
        let message_from = {
            let message = OutgoingMessage {
                key: (&OutcomeKey { customer_id: CustomerId::parse("c1").unwrap(), trigger: TriggerKind::Birthday, episode: Episode::Birthday(2027) }).into(),
                channel: Channel::Email,
                to: "a@example.ru".into(),
                from_name: name.into(),
                subject: None,
                text: "x".into(),
                html: None,
                unsubscribe_url: None,
                created_at: "2026-12-29T08:00:00Z".parse().unwrap(),
            };
            let mime = email_mime(&message, "shop@example.ru", "m@boomerang");
            let header = mime.split("\r\nTo: ").next().unwrap().strip_prefix("From: ").unwrap().to_owned();
            header
        };
        let (words, address) = message_from.rsplit_once(' ').unwrap();
        assert_eq!(address, "<shop@example.ru>");
        let mut decoded = Vec::new();
        for word in words.split("\r\n ") {
            assert!(word.len() <= 75, "{word} is {} characters", word.len());
            let b64 = word.strip_prefix("=?UTF-8?B?").and_then(|w| w.strip_suffix("?=")).expect("an encoded word");
            decoded.extend(STANDARD.decode(b64).unwrap());
            assert!(String::from_utf8(STANDARD.decode(b64).unwrap()).is_ok(), "whole characters per word");
        }
        assert_eq!(String::from_utf8(decoded).unwrap(), name);
        assert_eq!(from_line("Café"), format!("From: =?UTF-8?B?{}?= <shop@example.ru>", STANDARD.encode("Café")));
    }
}
