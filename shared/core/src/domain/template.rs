//! Message templates: `{placeholder}` substitution (`{{` and `}}` are literal braces),
//! and the SMS segment arithmetic that decides what an SMS costs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One kind of message's wording in one locale: the email's subject, text and HTML, and the SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    pub email_subject: String,
    pub email_text: String,
    pub email_html: String,
    pub sms: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Brace(char),
    Var(&'a str),
}

fn parse(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        let Some(pos) = rest.find(['{', '}']) else {
            pieces.push(Piece::Text(rest));
            break;
        };
        if pos > 0 {
            pieces.push(Piece::Text(&rest[..pos]));
        }
        rest = &rest[pos..];
        if let Some(after) = rest.strip_prefix("{{") {
            pieces.push(Piece::Brace('{'));
            rest = after;
        } else if let Some(after) = rest.strip_prefix("}}") {
            pieces.push(Piece::Brace('}'));
            rest = after;
        } else if rest.starts_with('}') {
            return Err("a lone '}' must be written '}}'".into());
        } else {
            let end = rest
                .find('}')
                .ok_or_else(|| "a '{' is not closed; write '{{' for a literal brace".to_string())?;
            let name = &rest[1..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                return Err(format!("'{{{name}}}' is not a placeholder name"));
            }
            pieces.push(Piece::Var(name));
            rest = &rest[end + 1..];
        }
    }
    Ok(pieces)
}

/// Checks the template's syntax and that it only names `allowed` placeholders.
pub fn validate(template: &str, allowed: &[&str]) -> Result<(), String> {
    for piece in parse(template)? {
        if let Piece::Var(name) = piece {
            if !allowed.contains(&name) {
                return Err(format!(
                    "unknown placeholder {{{name}}}; this template may use {}",
                    allowed.iter().map(|a| format!("{{{a}}}")).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// How substituted values are written into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    None,
    Html,
}

pub fn html_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Renders a validated template. A placeholder missing from `vars` renders empty.
pub fn render(template: &str, vars: &BTreeMap<&str, String>, escape: Escape) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 64);
    for piece in parse(template)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Brace(c) => out.push(c),
            Piece::Var(name) => {
                let value = vars.get(name).map(String::as_str).unwrap_or("");
                match escape {
                    Escape::None => out.push_str(value),
                    Escape::Html => out.push_str(&html_escape(value)),
                }
            }
        }
    }
    Ok(out)
}

/// The encoding an SMS is sent in, which decides its segment size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsEncoding {
    Gsm7,
    Ucs2,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENDED: &str = "^{}\\[~]|€\u{000C}";

/// Segments an SMS of this text takes: GSM-7 fits 160 septets in one segment and 153 per
/// segment when concatenated (extension characters count twice); anything else (Cyrillic)
/// goes as UCS-2: 70 UTF-16 units in one, 67 per segment when concatenated.
pub fn sms_segments(text: &str) -> (SmsEncoding, u32) {
    let gsm_units: Option<usize> = text.chars().try_fold(0usize, |n, c| {
        if GSM7_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM7_EXTENDED.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    });
    let (encoding, units, single, multi) = match gsm_units {
        Some(units) => (SmsEncoding::Gsm7, units, 160, 153),
        None => (SmsEncoding::Ucs2, text.encode_utf16().count(), 70, 67),
    };
    let segments = if units == 0 {
        0
    } else if units <= single {
        1
    } else {
        units.div_ceil(multi)
    };
    (encoding, segments as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_placeholders_and_literal_braces() {
        let vars = BTreeMap::from([("name", "Anna <b>".to_string())]);
        assert_eq!(render("Hi {name} {{ok}}", &vars, Escape::None).unwrap(), "Hi Anna <b> {ok}");
        assert_eq!(render("<p>{name}</p>", &vars, Escape::Html).unwrap(), "<p>Anna &lt;b&gt;</p>");
    }

    #[test]
    fn validation_names_the_bad_placeholder() {
        assert!(validate("{balance} pts", &["balance"]).is_ok());
        let err = validate("{balanse} pts", &["balance"]).unwrap_err();
        assert!(err.contains("{balanse}"), "{err}");
        assert!(validate("{balance", &["balance"]).is_err());
        assert!(validate("a } b", &["balance"]).is_err());
    }

    #[test]
    fn sms_segments_follow_gsm7_and_ucs2_limits() {
        assert_eq!(sms_segments(&"a".repeat(160)), (SmsEncoding::Gsm7, 1));
        assert_eq!(sms_segments(&"a".repeat(161)), (SmsEncoding::Gsm7, 2));
        assert_eq!(sms_segments(&"a".repeat(306)), (SmsEncoding::Gsm7, 2));
        assert_eq!(sms_segments(&"a".repeat(307)), (SmsEncoding::Gsm7, 3));
        assert_eq!(sms_segments(&"€".repeat(80)), (SmsEncoding::Gsm7, 1));
        assert_eq!(sms_segments(&"€".repeat(81)), (SmsEncoding::Gsm7, 2));
        assert_eq!(sms_segments(&"б".repeat(70)), (SmsEncoding::Ucs2, 1));
        assert_eq!(sms_segments(&"б".repeat(71)), (SmsEncoding::Ucs2, 2));
        assert_eq!(sms_segments(&"б".repeat(134)), (SmsEncoding::Ucs2, 2));
        assert_eq!(sms_segments(&"б".repeat(135)), (SmsEncoding::Ucs2, 3));
        assert_eq!(sms_segments(""), (SmsEncoding::Gsm7, 0));
    }
}
