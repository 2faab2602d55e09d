//! JSON request bodies: size-limited, strictly typed, errors naming the field.

use axum::body::Body;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::error::ApiError;

/// Larger bodies are refused before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Reads and parses a JSON body; a bad body never reaches a use case.
pub async fn parse_json<T: DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is over {MAX_BODY_BYTES} bytes"),
            None,
        )
    })?;
    from_slice(&bytes)
}

pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde would fill a struct from an array in field order; the API takes objects only.
    if let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        if *first == b'[' {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", "the body must be a JSON object", None));
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if !inner.is_data() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {inner}"),
                None,
            );
        }
        let message = strip_position(&inner.to_string());
        let parent = if path == "." || path == "?" { None } else { Some(path) };
        // serde names missing and unknown fields in its message, not in the path.
        let named = backticked(&message).filter(|_| {
            message.starts_with("missing field") || message.starts_with("unknown field")
        });
        let field = match (parent, named) {
            (Some(p), Some(n)) if p == n || p.ends_with(&format!(".{n}")) => p,
            (Some(p), Some(n)) => format!("{p}.{n}"),
            (Some(p), None) => p,
            (None, Some(n)) => n,
            (None, None) => {
                let message = in_words("the body", &message).unwrap_or(message);
                return ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", message, None);
            }
        };
        let (code, message) = if message.starts_with("unknown field") {
            ("unknown_field", unknown_field(&field, &message))
        } else if message.starts_with("missing field") {
            ("missing_field", format!("{field} is required"))
        } else {
            ("invalid_field", in_words(&field, &message).unwrap_or(message))
        };
        ApiError::new(StatusCode::BAD_REQUEST, code, message, Some(field))
    })?;
    // Trailing garbage after the JSON value is malformed too.
    de.end().map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string(), None))?;
    Ok(value)
}

/// serde's "invalid type: string \"100.00\", expected i64" as "amount must be ...; got the
/// string \"100.00\"": what the value must be (the field types' own `expecting` text, e.g.
/// [`crate::dto::MinorUnits`]) and, in JSON's words, what was sent.
fn in_words(subject: &str, message: &str) -> Option<String> {
    let rest = message.strip_prefix("invalid type: ").or_else(|| message.strip_prefix("invalid value: "))?;
    let (got, expected) = rest.rsplit_once(", expected ")?;
    let expected = match expected {
        "a boolean" => "true or false".to_owned(),
        "a string" | "a borrowed string" => "a string".to_owned(),
        "a sequence" => "an array".to_owned(),
        e if e.starts_with("struct ") || e.starts_with("a map") => "a JSON object".to_owned(),
        e if e.len() <= 4 && (e.starts_with('i') || e.starts_with('u')) => "an integer".to_owned(),
        e if e.starts_with('f') && e.len() == 3 => "a number".to_owned(),
        e => e.to_owned(),
    };
    Some(format!("{subject} must be {expected}; got {}", sent(got)))
}

/// serde_json's description of a value sent ("integer `5`", "floating point `1000.5`",
/// "string \"x\"", "map", "sequence", "boolean `true`", "null") as JSON calls it.
fn sent(got: &str) -> String {
    let quoted = |s: &str| s.trim_matches('`').to_owned();
    if let Some(n) = got.strip_prefix("integer ").or_else(|| got.strip_prefix("floating point ")) {
        return format!("the number {}", quoted(n));
    }
    if let Some(b) = got.strip_prefix("boolean ") {
        return quoted(b);
    }
    if let Some(s) = got.strip_prefix("string ") {
        let s: String = s.chars().take(60).collect();
        return if s.len() < got.len() - "string ".len() { format!("the string {s}...") } else { format!("the string {s}") };
    }
    match got {
        "map" => "an object".to_owned(),
        "sequence" => "an array".to_owned(),
        other => other.to_owned(),
    }
}

/// "unknown field `discount`, expected one of `a`, `b`" as "discount is not a field the API
/// knows here; use one of a, b".
fn unknown_field(field: &str, message: &str) -> String {
    let known = message
        .split_once(", expected ")
        .map(|(_, list)| list.trim_start_matches("one of ").replace('`', "").replace(" or ", ", "))
        .filter(|list| !list.is_empty() && !list.starts_with("there are no fields"));
    match known {
        Some(list) => format!("{field} is not a field the API knows here; use one of {list}"),
        None => format!("{field} is not a field the API knows here"),
    }
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(message[start..end].to_string())
}

/// For PUT fields where `null` clears and absence keeps: `Some(None)` is an explicit null.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_words_become_json_words() {
        assert_eq!(
            in_words("amount", "invalid type: string \"100.00\", expected an integer number of minor units"),
            Some("amount must be an integer number of minor units; got the string \"100.00\"".to_owned())
        );
        assert_eq!(
            in_words("x", "invalid type: floating point `1000.5`, expected i64"),
            Some("x must be an integer; got the number 1000.5".to_owned())
        );
        assert_eq!(
            in_words("consent", "invalid type: boolean `true`, expected struct ConsentBody"),
            Some("consent must be a JSON object; got true".to_owned())
        );
        assert_eq!(
            in_words("consent.email", "invalid type: string \"yes\", expected a boolean"),
            Some("consent.email must be true or false; got the string \"yes\"".to_owned())
        );
        assert_eq!(in_words("the body", "invalid type: sequence, expected a map").unwrap(), "the body must be a JSON object; got an array");
        assert_eq!(in_words("x", "missing field `x`"), None);
        let long = format!("invalid type: string \"{}\", expected a boolean", "y".repeat(100));
        assert!(in_words("x", &long).unwrap().ends_with("yyy..."), "long strings are cut");
    }

    #[test]
    fn unknown_fields_list_the_known_ones() {
        assert_eq!(
            unknown_field("discount", "unknown field `discount`, expected one of `amount`, `currency`"),
            "discount is not a field the API knows here; use one of amount, currency"
        );
        assert_eq!(
            unknown_field("consent.emails", "unknown field `emails`, expected `email` or `sms`"),
            "consent.emails is not a field the API knows here; use one of email, sms"
        );
    }
}
