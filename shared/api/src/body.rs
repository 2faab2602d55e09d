//! JSON request bodies: size-limited, strictly typed, errors naming the field.

use axum::body::Body;
use axum::http::StatusCode;
use boomerang_core::domain::words::{self, Mismatch};
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
        let named = words::unknown_field(&message).map(|(name, _)| name).or_else(|| words::missing_field(&message));
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
/// [`crate::dto::MinorUnits`]) and, in JSON's words, what was sent. The wording is the core's,
/// shared with the program file's errors.
fn in_words(subject: &str, message: &str) -> Option<String> {
    Mismatch::parse(message).map(|m| format!("{subject} {}", m.json_words()))
}

/// "unknown field `discount`, expected one of `a`, `b`" as "discount is not a field the API
/// knows here; use one of a, b".
fn unknown_field(field: &str, message: &str) -> String {
    match words::unknown_field(message) {
        Some((_, known)) if !known.is_empty() => {
            format!("{field} is not a field the API knows here; use one of {}", known.join(", "))
        }
        _ => format!("{field} is not a field the API knows here"),
    }
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
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
