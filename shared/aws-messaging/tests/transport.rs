//! How send failures on the wire are classified, against tiny servers on loopback: a refused
//! connection was certainly not sent, a connection cut after the request may have been, and
//! the service's own error answers keep their meaning. No emulator needed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;

use aws_config::Region;
use aws_sdk_sesv2::config::Credentials;
use boomerang_aws_messaging::{sdk_loader, AwsMessenger};
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::kinds::Channel;
use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::domain::triggers::{Episode, OutcomeKey};
use boomerang_core::ports::{MessageKey, Messenger, OutgoingMessage, SendError};

fn email() -> OutgoingMessage {
    OutgoingMessage {
        key: MessageKey::from(&OutcomeKey {
            customer_id: CustomerId::parse("c1").unwrap(),
            trigger: TriggerKind::Lapsed30,
            episode: Episode::Lapse("2026-10-01".parse().unwrap()),
        }),
        channel: Channel::Email,
        to: "anna@example.ru".into(),
        from_name: "Shop".into(),
        subject: Some("Hi".into()),
        text: "text".into(),
        html: Some("<p>html</p>".into()),
        unsubscribe_url: Some("https://api.example/v1/unsubscribe?token=t".into()),
        created_at: "2026-11-01T09:00:00Z".parse().unwrap(),
    }
}

fn sms() -> OutgoingMessage {
    OutgoingMessage {
        channel: Channel::Sms,
        to: "+79160000001".into(),
        subject: None,
        html: None,
        unsubscribe_url: None,
        ..email()
    }
}

async fn messenger(port: u16) -> AwsMessenger {
    let sdk = sdk_loader()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .load()
        .await;
    AwsMessenger::new(&sdk, "loyalty@shop.example", "Boomerang", None)
}

/// Reads one whole HTTP request (headers and a Content-Length body).
fn read_request(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
    }
    String::from_utf8_lossy(&data).to_string()
}

/// An AWS JSON error answer: the status, the error type the SDK reads, and a message.
fn error_response(status: &str, error_type: &str, message: &str) -> &'static str {
    let body = format!(r#"{{"message":"{message}"}}"#);
    let response = format!(
        "HTTP/1.1 {status}\r\nx-amzn-ErrorType: {error_type}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    Box::leak(response.into_boxed_str())
}

/// Serves the given number of connections: reads each request, then answers `response`
/// (or, when it is `None`, closes the connection without a word). Returns the requests.
fn serve(connections: usize, response: Option<&'static str>) -> (u16, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut requests = Vec::new();
        for _ in 0..connections {
            let (mut stream, _) = listener.accept().unwrap();
            requests.push(read_request(&mut stream));
            if let Some(response) = response {
                stream.write_all(response.as_bytes()).unwrap();
            }
        }
        requests
    });
    (port, handle)
}

#[tokio::test]
async fn a_refused_connection_was_certainly_not_sent() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }; // closed again: nothing listens there
    let e = messenger(port).await.send(&email()).await;
    assert!(matches!(e, Err(SendError::Retryable(_))), "{e:?}");
}

#[tokio::test]
async fn a_connection_cut_after_the_request_may_have_sent_on_either_channel() {
    for (message, request) in [(email(), "POST /v2/email/outbound-emails"), (sms(), "Action=Publish")] {
        let (port, server) = serve(1, None);
        let e = messenger(port).await.send(&message).await;
        assert!(matches!(e, Err(SendError::Unknown(_))), "{e:?}");
        let requests = server.join().unwrap();
        assert_eq!(requests.len(), 1, "never retried by the SDK");
        assert!(requests[0].contains(request), "{}", requests[0]);
    }
}

#[tokio::test]
async fn ses_throttling_on_the_wire_is_retryable() {
    let response = error_response("429 Too Many Requests", "TooManyRequestsException", "Maximum sending rate exceeded.");
    let (port, server) = serve(1, Some(response));
    let e = messenger(port).await.send(&email()).await;
    match &e {
        Err(SendError::Retryable(text)) => assert!(text.contains("TooManyRequestsException"), "{text}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.join().unwrap().len(), 1, "the SDK does not retry sends itself");
}

#[tokio::test]
async fn an_internal_error_after_ses_had_the_request_is_unknown() {
    let response = error_response("500 Internal Server Error", "InternalFailure", "internal");
    let (port, server) = serve(1, Some(response));
    let e = messenger(port).await.send(&email()).await;
    assert!(matches!(e, Err(SendError::Unknown(_))), "{e:?}");
    assert_eq!(server.join().unwrap().len(), 1);
}
