//! `AwsMessenger` against moto (SES v2, SNS) on loopback: what moto received, read back from
//! moto itself. Needs `eval "$(bash scripts/moto.sh start)"`; fails loudly without it.
//!
//! What moto received is read from its request recorder (`/moto-api/recorder/…`): the
//! server of scripts/moto.sh stops moto from tracking model objects (to bound its memory), so
//! `/moto-api/data.json` lists SES's `RawMessage` and SNS's `SMS` models with no instances.
//! When a moto that tracks them is used, `data.json` is checked as well.

use std::io::{Read, Write};
use std::net::TcpStream;

use base64::Engine;
use boomerang_aws_messaging::{load_sdk_config, tags, AwsMessenger};
use boomerang_core::domain::ids::{CustomerId, Phone};
use boomerang_core::domain::kinds::Channel;
use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::domain::triggers::{Episode, OutcomeKey};
use boomerang_core::ports::{MessageKey, Messenger, OutgoingMessage, SendError};
use serde_json::Value;

const FROM: &str = "loyalty@shop.example";

/// The moto server's `host:port`; panics unless `AWS_ENDPOINT_URL` is a loopback address,
/// so that these tests never reach AWS and never pass without the emulator.
fn moto() -> String {
    let url = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    let host = url.strip_prefix("http://").unwrap_or("");
    assert!(
        host.starts_with("127.0.0.1:") || host.starts_with("localhost:"),
        "AWS_ENDPOINT_URL must point at the local moto server (eval \"$(bash scripts/moto.sh start)\"); it is {url:?}"
    );
    host.trim_end_matches('/').to_string()
}

/// A plain HTTP/1.0 request to moto: its own API needs no SDK and no HTTP client crate.
fn http(method: &str, path: &str) -> String {
    let host = moto();
    let mut stream = TcpStream::connect(&host).unwrap_or_else(|e| panic!("moto at {host} does not answer: {e}"));
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8(response).expect("moto answers UTF-8");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.") && head.contains(" 200 "), "{method} {path}: {head}");
    body.to_string()
}

/// Recording is on while this lives; dropping it stops and empties the recording.
struct Recording;

impl Recording {
    fn start() -> Self {
        http("POST", "/moto-api/recorder/reset-recording");
        http("POST", "/moto-api/recorder/start-recording");
        Recording
    }
    /// Every request moto received since `start`, as (url, body bytes).
    fn requests(&self) -> Vec<(String, Vec<u8>)> {
        http("GET", "/moto-api/recorder/download-recording")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let entry: Value = serde_json::from_str(line).expect("a recorded request");
                let body = entry["body"].as_str().unwrap_or("");
                let body = if entry["body_encoded"] == Value::Bool(true) {
                    base64::engine::general_purpose::STANDARD.decode(body).expect("base64 body")
                } else {
                    body.as_bytes().to_vec()
                };
                (entry["url"].as_str().unwrap_or("").to_string(), body)
            })
            .collect()
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        http("POST", "/moto-api/recorder/stop-recording");
        http("POST", "/moto-api/recorder/reset-recording");
    }
}

/// Decodes `application/x-www-form-urlencoded`.
fn form(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("a percent escape"));
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).expect("UTF-8 form value")
    };
    std::str::from_utf8(body)
        .expect("a form body")
        .split('&')
        .filter_map(|pair| pair.split_once('=').map(|(k, v)| (decode(k), decode(v))))
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The decoded bodies of a multipart MIME message, by content type.
fn mime_parts(mime: &str) -> Vec<(String, String)> {
    let boundary =
        mime.split("boundary=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a multipart boundary");
    mime.split(&format!("--{boundary}"))
        .skip(1)
        .filter(|part| !part.starts_with("--"))
        .map(|part| {
            let (head, body) = part.split_once("\r\n\r\n").expect("part headers");
            let kind = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Type: "))
                .expect("a part content type")
                .split(';')
                .next()
                .unwrap()
                .to_string();
            assert!(head.contains("Content-Transfer-Encoding: base64"), "{head}");
            let b64: String = body.split_whitespace().collect();
            let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap();
            (kind, text)
        })
        .collect()
}

/// A customer id no other run of this test uses (moto keeps what earlier runs sent).
fn unique_id(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}.{nanos}+{}", std::process::id())
}

fn message(customer: &str, channel: Channel, to: &str) -> OutgoingMessage {
    let email = channel == Channel::Email;
    OutgoingMessage {
        key: MessageKey::from(&OutcomeKey {
            customer_id: CustomerId::parse(customer).unwrap(),
            trigger: TriggerKind::Lapsed60,
            episode: Episode::Lapse("2026-09-01".parse().unwrap()),
        }),
        channel,
        to: to.to_string(),
        from_name: "Кофейня «Бумеранг»".to_string(),
        subject: email.then(|| "We miss you, Anna".to_string()),
        text: if email {
            "Anna, 300 points are waiting for you. Unsubscribe: https://api.shop.example/v1/unsubscribe?token=tok123"
                .to_string()
        } else {
            "Бумеранг: 300 баллов ждут вас до 01.12.2026".to_string()
        },
        html: email.then(|| "<p>Anna, <b>300 points</b> are waiting for you.</p>".to_string()),
        unsubscribe_url: email.then(|| "https://api.shop.example/v1/unsubscribe?token=tok123".to_string()),
        created_at: "2026-11-01T09:00:00Z".parse().unwrap(),
    }
}

async fn messenger(configuration_set: Option<&str>) -> AwsMessenger {
    moto();
    let sdk = load_sdk_config().await.expect("the SDK config (AWS_REGION is set by scripts/moto.sh)");
    // moto, like SES in production, sends only from a verified identity.
    aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity(FROM)
        .send()
        .await
        .expect("CreateEmailIdentity on moto");
    AwsMessenger::new(&sdk, FROM, "Boomerang", configuration_set.map(str::to_string))
}

#[tokio::test]
async fn an_email_and_an_sms_reach_moto_as_sent() {
    let messenger = messenger(Some("boomerang-events")).await;
    let customer = unique_id("c");
    // Unique per run, to tell this test's requests from the others' (tests run in parallel).
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let to = format!("anna+{nanos}@example.ru");
    let phone = format!("+7916{:07}", nanos % 10_000_000);
    let recording = Recording::start();
    messenger.send(&message(&customer, Channel::Email, &to)).await.expect("SES SendEmail on moto");
    messenger.send(&message(&customer, Channel::Sms, &phone)).await.expect("SNS Publish on moto");
    let requests = recording.requests();
    drop(recording);

    // The email: one SES v2 SendEmail with the raw MIME.
    let email: Vec<Value> = requests
        .iter()
        .filter(|(url, _)| url.contains("/v2/email/outbound-emails"))
        .map(|(_, body)| serde_json::from_slice::<Value>(body).expect("a JSON SendEmail body"))
        .filter(|body| body["Destination"]["ToAddresses"][0] == to.as_str())
        .collect();
    assert_eq!(email.len(), 1, "one SendEmail, no automatic retry: {email:?}");
    let email = &email[0];
    assert_eq!(email["FromEmailAddress"], FROM);
    assert_eq!(email["Destination"]["ToAddresses"], serde_json::json!([to]));
    assert_eq!(email["ConfigurationSetName"], "boomerang-events");
    let tag_values: Vec<(&str, &str)> = email["EmailTags"]
        .as_array()
        .expect("EmailTags")
        .iter()
        .map(|t| (t["Name"].as_str().unwrap(), t["Value"].as_str().unwrap()))
        .collect();
    let encoded = tags::encode(&customer);
    assert_eq!(
        tag_values,
        [("customer_id", encoded.as_str()), ("kind", "lapsed_60"), ("episode", "2026-09-01"), ("trigger", "lapsed_60")]
    );
    assert_eq!(
        tags::decode(tag_values[0].1).as_deref(),
        Some(customer.as_str()),
        "the bounce handler gets the id back"
    );
    assert!(!email["EmailTags"].to_string().contains("example.ru"), "no contact data in tags");
    assert!(email["Content"].get("Simple").is_none(), "raw, so the List-Unsubscribe headers travel");
    let raw = email["Content"]["Raw"]["Data"].as_str().expect("Content.Raw.Data");
    let mime = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(raw).unwrap()).unwrap();
    assert!(mime.contains("\r\nSubject: We miss you, Anna\r\n"), "{mime}");
    assert!(mime.contains(&format!("\r\nTo: {to}\r\n")), "{mime}");
    assert!(mime.starts_with("From: =?UTF-8?B?"), "the shop's name is an encoded word: {mime}");
    assert!(mime.contains(&format!("<{FROM}>")), "{mime}");
    assert!(
        mime.contains("\r\nList-Unsubscribe: <https://api.shop.example/v1/unsubscribe?token=tok123>\r\n"),
        "{mime}"
    );
    assert!(mime.contains("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"), "{mime}");
    let message_id = format!("Message-ID: <lapsed_60.2026-09-01.{encoded}@shop.example>");
    assert!(mime.contains(&message_id), "the Message-ID is derived from the outcome key: {mime}");
    let parts = mime_parts(&mime);
    assert_eq!(parts.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["text/plain", "text/html"]);
    assert!(parts[0].1.starts_with("Anna, 300 points are waiting"), "{parts:?}");
    assert_eq!(parts[1].1, "<p>Anna, <b>300 points</b> are waiting for you.</p>");

    // The SMS: one SNS Publish to the number, promotional, with the sender id.
    let sms: Vec<Vec<(String, String)>> = requests
        .iter()
        .map(|(_, body)| body)
        .filter(|body| body.starts_with(b"Action=Publish&"))
        .map(|body| form(body))
        .filter(|fields| field(fields, "PhoneNumber") == Some(phone.as_str()))
        .collect();
    assert_eq!(sms.len(), 1, "one Publish, no automatic retry: {sms:?}");
    let sms = &sms[0];
    assert_eq!(field(sms, "Message"), Some("Бумеранг: 300 баллов ждут вас до 01.12.2026"));
    let attributes: Vec<(&str, &str, &str)> = (1..=2)
        .map(|n| {
            let f = |suffix: &str| field(sms, &format!("MessageAttributes.entry.{n}.{suffix}")).unwrap_or("");
            (f("Name"), f("Value.DataType"), f("Value.StringValue"))
        })
        .collect();
    assert!(attributes.contains(&("AWS.SNS.SMS.SMSType", "String", "Promotional")), "{sms:?}");
    assert!(attributes.contains(&("AWS.SNS.SMS.SenderID", "String", "Boomerang")), "{sms:?}");

    // moto's own records, when its model tracking is on (not with scripts/moto.sh).
    let data: Value = serde_json::from_str(&http("GET", "/moto-api/data.json")).expect("data.json");
    let raw_messages = data["ses"]["RawMessage"].as_array().expect("moto's data.json lists ses.RawMessage");
    let sms_messages = data["sns"]["SMS"].as_array().expect("moto's data.json lists sns.SMS");
    if raw_messages.is_empty() && sms_messages.is_empty() {
        eprintln!("moto does not track model instances (scripts/moto.sh turns it off): data.json not checked");
    } else {
        let kept = raw_messages.iter().find(|m| m["raw_data"].as_str().is_some_and(|r| r.contains(&message_id)));
        let kept = kept.unwrap_or_else(|| panic!("moto kept the raw email: {raw_messages:?}"));
        assert!(kept["raw_data"].as_str().unwrap().contains("List-Unsubscribe=One-Click"));
        assert!(
            sms_messages.iter().any(|m| m["phone_number"] == phone.as_str()
                && m["message"] == "Бумеранг: 300 баллов ждут вас до 01.12.2026"),
            "{sms_messages:?}"
        );
    }
}

#[tokio::test]
async fn moto_says_numbers_ending_in_99_opted_out() {
    let messenger = messenger(None).await;
    let opted_out = |p: &str| {
        let phone = Phone::parse(p).unwrap();
        let messenger = &messenger;
        async move { messenger.sms_opted_out(&phone).await.expect("CheckIfPhoneNumberIsOptedOut on moto") }
    };
    assert!(opted_out("+79160000099").await);
    assert!(!opted_out("+79160000001").await);
    assert!(!opted_out("+79160000990").await);
}

#[tokio::test]
async fn moto_refusals_map_to_rejections() {
    let messenger = messenger(None).await;
    // moto checks the E.164 form of the number, as SNS does.
    let bad_number = messenger.send(&message(&unique_id("n"), Channel::Sms, "+0-not-a-number")).await;
    assert!(matches!(&bad_number, Err(SendError::Rejected(e)) if e.contains("InvalidParameter")), "{bad_number:?}");
    // Sending from an identity SES (and moto) never verified.
    let sdk = load_sdk_config().await.unwrap();
    let unverified = AwsMessenger::new(&sdk, "nobody@unverified.example", "Boomerang", None);
    let refused = unverified.send(&message(&unique_id("u"), Channel::Email, "anna@example.ru")).await;
    assert!(matches!(&refused, Err(SendError::Rejected(e)) if e.contains("MessageRejected")), "{refused:?}");
    assert!(!format!("{refused:?}").contains("nobody@"), "no address in the error: {refused:?}");
}

#[tokio::test]
async fn the_owner_digest_reaches_moto_raw_with_its_attachment_and_no_customer_tag() {
    use boomerang_core::ports::{Attachment, OwnerEmail};
    let messenger = messenger(Some("boomerang-events")).await;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let to = format!("owner+{nanos}@shop.example");
    let email = OwnerEmail {
        id: "owner_digest.2026-11-29".into(),
        to: to.clone(),
        from_name: "Boomerang Shop".into(),
        subject: "Boomerang Shop: the week 23 Nov 2026 – 29 Nov 2026".into(),
        text: "Last week's triggers".into(),
        html: "<p>Last week's triggers</p>".into(),
        attachment: Attachment {
            filename: "boomerang-report-2026-11-23-to-2026-11-29.html".into(),
            content_type: "text/html".into(),
            content: "<!DOCTYPE html><title>report</title>".into(),
        },
        created_at: "2026-11-30T06:00:00Z".parse().unwrap(),
    };
    let recording = Recording::start();
    messenger.send_owner_email(&email).await.expect("SES SendEmail on moto");
    let requests = recording.requests();
    drop(recording);
    let sent: Vec<Value> = requests
        .iter()
        .filter(|(url, _)| url.contains("/v2/email/outbound-emails"))
        .map(|(_, body)| serde_json::from_slice::<Value>(body).expect("a JSON SendEmail body"))
        .filter(|body| body["Destination"]["ToAddresses"][0] == to.as_str())
        .collect();
    assert_eq!(sent.len(), 1, "one SendEmail: {sent:?}");
    let tag_values: Vec<(&str, &str)> = sent[0]["EmailTags"]
        .as_array()
        .expect("EmailTags")
        .iter()
        .map(|t| (t["Name"].as_str().unwrap(), t["Value"].as_str().unwrap()))
        .collect();
    assert_eq!(tag_values, [("kind", "owner_digest"), ("episode", "2026-11-29")], "no customer_id: a bounce touches no customer");
    let raw = sent[0]["Content"]["Raw"]["Data"].as_str().expect("Content.Raw.Data");
    let mime = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(raw).unwrap()).unwrap();
    assert!(mime.contains("Content-Type: multipart/mixed;") && !mime.contains("List-Unsubscribe"), "{mime}");
    assert!(mime.contains("Message-ID: <owner_digest.2026-11-29@shop.example>"), "{mime}");
    assert!(mime.contains("Content-Disposition: attachment; filename=\"boomerang-report-2026-11-23-to-2026-11-29.html\""), "{mime}");
}
