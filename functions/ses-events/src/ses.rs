//! The SES event-publishing payload (an SNS notification's `Message`): only what the
//! suppression needs. SES documents the full shape under "Contents of event data that
//! Amazon SES publishes to Amazon SNS"; fields not named here are ignored.

use std::collections::HashMap;

use boomerang_aws_messaging::tags;
use boomerang_core::domain::ids::CustomerId;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// One SES event, as far as this function cares.
#[derive(Debug)]
pub enum SesEvent {
    Bounce(BounceEvent),
    Complaint(ComplaintEvent),
    /// Any other event type (`Delivery`, `Send`, `Open`, …): nothing to do. The type is kept
    /// for the log, as a label (see [`label`]).
    Other(&'static str),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BounceEvent {
    pub mail: Mail,
    pub bounce: Bounce,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplaintEvent {
    pub mail: Mail,
    pub complaint: Complaint,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mail {
    /// SES's id of the message (not contact data): logged to trace an event back.
    #[serde(default)]
    pub message_id: Option<String>,
    /// Every tag of the send, SES's own (`ses:…`) and ours, each a list of values.
    #[serde(default)]
    pub tags: HashMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum BounceType {
    /// A hard bounce: the address does not take mail, for good.
    Permanent,
    /// A soft bounce (mailbox full, message too large, …): the address may work next time.
    Transient,
    /// SES could not tell.
    Undetermined,
    #[serde(other)]
    Unknown,
}

impl BounceType {
    pub fn as_str(self) -> &'static str {
        match self {
            BounceType::Permanent => "Permanent",
            BounceType::Transient => "Transient",
            BounceType::Undetermined => "Undetermined",
            BounceType::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bounce {
    pub bounce_type: BounceType,
    #[serde(default)]
    pub bounce_sub_type: Option<String>,
    pub bounced_recipients: Vec<Recipient>,
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Complaint {
    pub complained_recipients: Vec<Recipient>,
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    pub complaint_feedback_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub email_address: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    event_type: String,
}

/// Why a message is not a usable SES event. The text never holds a value from the message
/// (an address could be one): serde's quoted values are redacted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("the message is not an SES event: {0}")]
    Json(String),
    #[error("the message carries no `customer_id` tag (not sent by Boomerang)")]
    NoCustomerTag,
    #[error("the `customer_id` tag has {0} values, not one")]
    TagCount(usize),
    #[error("the `customer_id` tag is not a customer id in the tag encoding")]
    BadCustomerTag,
}

impl From<serde_json::Error> for Malformed {
    fn from(e: serde_json::Error) -> Self {
        Malformed::Json(redact(&e.to_string()))
    }
}

/// `text` with every double-quoted part replaced by `"…"`.
fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        match (c, quoted) {
            ('"', false) => {
                out.push_str("\"…\"");
                quoted = true;
            }
            ('"', true) => quoted = false,
            (c, false) => out.push(c),
            (_, true) => {}
        }
    }
    out
}

/// `value` when it looks like one of SES's names (letters and digits, short), else `other`:
/// what may go into a log from a field SES fills from a fixed list.
pub fn label(value: &str) -> &str {
    if !value.is_empty() && value.len() <= 40 && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        value
    } else {
        "other"
    }
}

/// SES's message id, when it has the shape of one (hex and `-`), for the log.
pub fn message_id(mail: &Mail) -> &str {
    match mail.message_id.as_deref() {
        Some(id) if id.len() <= 100 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') => id,
        _ => "",
    }
}

const KNOWN_TYPES: [&str; 10] = [
    "Send",
    "Reject",
    "Delivery",
    "Open",
    "Click",
    "RenderingFailure",
    "DeliveryDelay",
    "Subscription",
    "Bounce",
    "Complaint",
];

/// Parses the SNS `Message` of an SES event destination.
pub fn parse(message: &str) -> Result<SesEvent, Malformed> {
    let head: Head = serde_json::from_str(message)?;
    Ok(match head.event_type.as_str() {
        "Bounce" => SesEvent::Bounce(serde_json::from_str(message)?),
        "Complaint" => SesEvent::Complaint(serde_json::from_str(message)?),
        other => SesEvent::Other(KNOWN_TYPES.iter().find(|t| **t == other).copied().unwrap_or("unknown")),
    })
}

impl Mail {
    /// The customer the message went to, from our `customer_id` tag (see
    /// `boomerang_aws_messaging::tags`).
    pub fn customer_id(&self) -> Result<CustomerId, Malformed> {
        let values = self.tags.get(tags::CUSTOMER_ID).ok_or(Malformed::NoCustomerTag)?;
        let [value] = values.as_slice() else {
            return Err(Malformed::TagCount(values.len()));
        };
        let decoded = tags::decode(value).ok_or(Malformed::BadCustomerTag)?;
        CustomerId::parse(&decoded).map_err(|_| Malformed::BadCustomerTag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounce(tags: &str) -> String {
        format!(
            r#"{{"eventType":"Bounce","mail":{{"messageId":"0107-ab","tags":{tags}}},
               "bounce":{{"bounceType":"Permanent","bounceSubType":"General",
                          "bouncedRecipients":[{{"emailAddress":"a@example.ru"}}]}}}}"#
        )
    }

    #[test]
    fn the_customer_is_read_from_the_encoded_tag() {
        let SesEvent::Bounce(event) = parse(&bounce(r#"{"customer_id":["card_2E4000-1001"]}"#)).unwrap() else {
            panic!("a bounce");
        };
        assert_eq!(event.mail.customer_id().unwrap().as_str(), "card.4000-1001");
        assert_eq!(event.bounce.bounce_type, BounceType::Permanent);
        assert_eq!(event.bounce.timestamp, None, "optional: the SNS time stands in");
        assert_eq!(message_id(&event.mail), "0107-ab");
    }

    #[test]
    fn a_missing_or_bad_customer_tag_is_malformed() {
        for (tags, expected) in [
            (r#"{}"#, Malformed::NoCustomerTag),
            (r#"{"customer_id":[]}"#, Malformed::TagCount(0)),
            (r#"{"customer_id":["a","b"]}"#, Malformed::TagCount(2)),
            (r#"{"customer_id":["a.b"]}"#, Malformed::BadCustomerTag),
            (r#"{"customer_id":["a_2e"]}"#, Malformed::BadCustomerTag),
        ] {
            let SesEvent::Bounce(event) = parse(&bounce(tags)).unwrap() else { panic!("a bounce") };
            assert_eq!(event.mail.customer_id().unwrap_err(), expected, "{tags}");
        }
    }

    #[test]
    fn other_event_types_need_no_bounce_or_complaint() {
        assert!(matches!(parse(r#"{"eventType":"Delivery","mail":{}}"#), Ok(SesEvent::Other("Delivery"))));
        assert!(matches!(parse(r#"{"eventType":"anna@example.ru"}"#), Ok(SesEvent::Other("unknown"))));
    }

    #[test]
    fn an_unknown_bounce_type_is_kept_apart() {
        let text = bounce("{}").replace("Permanent", "Sideways");
        let SesEvent::Bounce(event) = parse(&text).unwrap() else { panic!("a bounce") };
        assert_eq!(event.bounce.bounce_type, BounceType::Unknown);
    }

    #[test]
    fn a_parse_error_never_echoes_a_value() {
        let text = r#"{"eventType":"Complaint","mail":{},"complaint":{"complainedRecipients":"anna@example.ru"}}"#;
        let err = parse(text).unwrap_err().to_string();
        assert!(!err.contains("anna"), "{err}");
        assert!(err.contains("invalid type"), "{err}");
        let err = parse("not json at all").unwrap_err();
        assert!(matches!(err, Malformed::Json(_)), "{err}");
        let err = parse(r#"{"eventType":"Bounce","mail":{}}"#).unwrap_err().to_string();
        assert!(err.contains("missing field `bounce`"), "{err}");
    }

    #[test]
    fn labels_are_names_or_other() {
        assert_eq!(label("OnAccountSuppressionList"), "OnAccountSuppressionList");
        assert_eq!(label("anna@example.ru"), "other");
        assert_eq!(label(""), "other");
    }
}
