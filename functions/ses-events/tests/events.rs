//! The sample SNS events of `events/ses-events/` through the handler, on the embedded store.

use std::sync::Arc;

use aws_lambda_events::event::sns::SnsEvent;
use boomerang_core::{Boomerang, Error};
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::{Customer, CustomerRecord, ProfilePatch};
use boomerang_core::domain::ids::{CustomerId, Email, Phone};
use boomerang_core::domain::kinds::Channel;
use boomerang_core::domain::triggers::{choose_channel, Unreachable};
use boomerang_core::ports::StoreError;
use boomerang_sqlite::SqliteStore;
use chrono::{DateTime, Utc};
use ses_events::{handle, Report};

const BOUNCE_PERMANENT: &str = include_str!("../../../events/ses-events/bounce-permanent.json");
const BOUNCE_TRANSIENT: &str = include_str!("../../../events/ses-events/bounce-transient.json");
const COMPLAINT: &str = include_str!("../../../events/ses-events/complaint.json");
const DELIVERY: &str = include_str!("../../../events/ses-events/delivery.json");

/// The customer the samples were sent to: `customer_id` tag `card_2E4000-1001`.
const CUSTOMER: &str = "card.4000-1001";
const ADDRESS: &str = "anna.petrova@example.ru";

struct Shop {
    app: Boomerang,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn id() -> CustomerId {
    CustomerId::parse(CUSTOMER).unwrap()
}

fn event(json: &str) -> SnsEvent {
    serde_json::from_str(json).expect("a sample SNS event")
}

/// The sample event with its SES message replaced.
fn with_message(json: &str, message: &str) -> SnsEvent {
    let mut event = event(json);
    event.records[0].sns.message = message.to_string();
    event
}

fn report(applied: usize, unchanged: usize, ignored: usize, skipped: usize) -> Report {
    Report { applied, unchanged, ignored, skipped }
}

impl Shop {
    /// A shop whose customer reached by the samples has `email`, a phone, and both consents.
    async fn with_customer(email: &str) -> Shop {
        logs();
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = SqliteStore::open(dir.path()).expect("the store opens");
        let db = store.path().to_path_buf();
        let app = Boomerang::new(Arc::new(store), Arc::new(ProgramConfig::defaults()));
        let patch = ProfilePatch {
            email: Some(Some(Email::parse(email).unwrap())),
            phone: Some(Some(Phone::parse("+79161234567").unwrap())),
            name: Some(Some("Анна".into())),
            consent_email: Some(true),
            consent_sms: Some(true),
            ..ProfilePatch::default()
        };
        app.enroll(&id(), &patch, at("2026-10-01T10:00:00Z")).await.expect("enroll");
        Shop { app, db, _dir: dir }
    }

    async fn record(&self) -> CustomerRecord {
        self.app.store().customer(&id()).await.unwrap().expect("the customer")
    }

    async fn customer(&self) -> Customer {
        self.record().await.customer
    }

    async fn channel(&self) -> Result<Channel, Unreachable> {
        choose_channel(&self.customer().await, false)
    }

    async fn handle(&self, event: SnsEvent) -> Report {
        handle(&self.app, event).await.expect("handled")
    }
}

#[tokio::test]
async fn a_permanent_bounce_stops_email_to_the_address() {
    let shop = Shop::with_customer(ADDRESS).await;
    assert_eq!(shop.channel().await, Ok(Channel::Email));
    assert_eq!(shop.handle(event(BOUNCE_PERMANENT)).await, report(1, 0, 0, 0));
    let customer = shop.customer().await;
    assert_eq!(customer.email_undeliverable_at, Some(at("2026-11-24T09:00:04.512Z")), "the bounce's own time");
    assert!(customer.consent.email, "a bounce withdraws no consent");
    assert_eq!(customer.email.as_ref().map(Email::as_str), Some(ADDRESS), "the address is kept");
    assert_eq!(shop.channel().await, Ok(Channel::Sms), "the next message goes by SMS");
}

#[tokio::test]
async fn a_replayed_event_changes_nothing_more() {
    let shop = Shop::with_customer(ADDRESS).await;
    for sample in [BOUNCE_PERMANENT, COMPLAINT] {
        shop.handle(event(sample)).await;
        let after_first = shop.record().await;
        assert_eq!(shop.handle(event(sample)).await, report(0, 1, 0, 0));
        assert_eq!(shop.record().await, after_first, "not even the version moves");
    }
}

#[tokio::test]
async fn a_transient_bounce_changes_nothing() {
    let shop = Shop::with_customer(ADDRESS).await;
    let before = shop.record().await;
    assert_eq!(shop.handle(event(BOUNCE_TRANSIENT)).await, report(0, 0, 1, 0));
    assert_eq!(shop.record().await, before);
    assert_eq!(shop.channel().await, Ok(Channel::Email));
}

#[tokio::test]
async fn an_undetermined_bounce_changes_nothing() {
    let shop = Shop::with_customer(ADDRESS).await;
    let before = shop.record().await;
    let sample = event(BOUNCE_PERMANENT);
    let message = sample.records[0].sns.message.replace("\"Permanent\"", "\"Undetermined\"");
    assert_eq!(shop.handle(with_message(BOUNCE_PERMANENT, &message)).await, report(0, 0, 1, 0));
    assert_eq!(shop.record().await, before);
}

#[tokio::test]
async fn a_complaint_turns_email_consent_off() {
    let shop = Shop::with_customer(ADDRESS).await;
    assert_eq!(shop.handle(event(COMPLAINT)).await, report(1, 0, 0, 0));
    let customer = shop.customer().await;
    assert!(!customer.consent.email);
    assert!(customer.consent.sms, "SMS consent is another matter");
    assert_eq!(customer.email_undeliverable_at, None);
    assert_eq!(shop.channel().await, Ok(Channel::Sms));
}

#[tokio::test]
async fn a_delivery_is_ignored() {
    let shop = Shop::with_customer(ADDRESS).await;
    let before = shop.record().await;
    assert_eq!(shop.handle(event(DELIVERY)).await, report(0, 0, 1, 0));
    assert_eq!(shop.record().await, before);
}

#[tokio::test]
async fn an_address_the_customer_has_since_replaced_is_left_alone() {
    let shop = Shop::with_customer("anna.new@example.ru").await;
    let before = shop.record().await;
    for sample in [BOUNCE_PERMANENT, COMPLAINT] {
        assert_eq!(shop.handle(event(sample)).await, report(0, 1, 0, 0));
    }
    assert_eq!(shop.record().await, before);
    assert_eq!(shop.channel().await, Ok(Channel::Email));
}

#[tokio::test]
async fn the_address_is_matched_without_case() {
    let shop = Shop::with_customer("Anna.Petrova@Example.RU").await;
    assert_eq!(shop.handle(event(BOUNCE_PERMANENT)).await, report(1, 0, 0, 0));
    assert!(shop.customer().await.email_undeliverable_at.is_some());
}

#[tokio::test]
async fn unknown_and_erased_customers_are_a_no_op() {
    let shop = Shop::with_customer(ADDRESS).await;
    let sample = event(BOUNCE_PERMANENT);
    let stranger = sample.records[0].sns.message.replace("card_2E4000-1001", "card_2E4000-9999");
    assert_eq!(shop.handle(with_message(BOUNCE_PERMANENT, &stranger)).await, report(0, 1, 0, 0));
    assert_eq!(shop.app.store().customer(&CustomerId::parse("card.4000-9999").unwrap()).await.unwrap(), None);

    shop.app.erase(&id(), at("2026-11-01T00:00:00Z")).await.unwrap();
    let erased = shop.record().await;
    assert_eq!(shop.handle(event(COMPLAINT)).await, report(0, 1, 0, 0));
    assert_eq!(shop.record().await, erased);
}

#[tokio::test]
async fn an_unusable_message_is_skipped_and_the_rest_applied() {
    let shop = Shop::with_customer(ADDRESS).await;
    let before = shop.record().await;
    let good = event(BOUNCE_PERMANENT).records[0].sns.message.clone();
    let unusable = [
        "not json".to_string(),
        "{\"eventType\":\"Bounce\"}".to_string(),
        good.replace("\"customer_id\":[\"card_2E4000-1001\"],", ""),
        good.replace("card_2E4000-1001", "card.4000-1001"),
        good.replace("\"bouncedRecipients\":[", "\"bouncedRecipients\":[{\"emailAddress\":1},"),
        good.replace("\"bouncedRecipients\":[{", "\"bouncedRecipients\":[],\"x\":[{"),
    ];
    for message in &unusable {
        assert_eq!(shop.handle(with_message(BOUNCE_PERMANENT, message)).await, report(0, 0, 0, 1), "{message}");
    }
    assert_eq!(shop.record().await, before);

    // In one event with a usable record, the usable one is applied all the same.
    let mut event = with_message(BOUNCE_PERMANENT, "not json");
    event.records.extend(self::event(COMPLAINT).records);
    assert_eq!(shop.handle(event).await, report(1, 0, 0, 1));
    assert!(!shop.customer().await.consent.email);
}

#[tokio::test]
async fn a_store_failure_fails_the_invocation_so_that_lambda_retries_it() {
    let shop = Shop::with_customer(ADDRESS).await;
    let db = rusqlite::Connection::open(&shop.db).unwrap();
    let original: String =
        db.query_row("SELECT record FROM customers WHERE customer_id = ?1", [CUSTOMER], |r| r.get(0)).unwrap();
    db.execute("UPDATE customers SET record = 'not a record' WHERE customer_id = ?1", [CUSTOMER]).unwrap();

    let err = handle(&shop.app, event(BOUNCE_PERMANENT)).await.unwrap_err();
    assert_eq!((err.failed, err.records), (1, 1));
    assert!(matches!(err.first, Error::Store(StoreError::Corrupt(_))), "{:?}", err.first);
    assert!(!err.to_string().contains(CUSTOMER), "{err}");
    assert!(!ses_events::describe(&err.first).contains(CUSTOMER));

    // Repaired, the retried invocation applies the bounce.
    db.execute("UPDATE customers SET record = ?1 WHERE customer_id = ?2", [original.as_str(), CUSTOMER]).unwrap();
    assert_eq!(shop.handle(event(BOUNCE_PERMANENT)).await, report(1, 0, 0, 0));
    assert!(shop.customer().await.email_undeliverable_at.is_some());
}

#[test]
fn the_samples_are_what_ses_publishes_for_our_customer() {
    for sample in [BOUNCE_PERMANENT, BOUNCE_TRANSIENT, COMPLAINT, DELIVERY] {
        let event = event(sample);
        assert_eq!(event.records.len(), 1);
        let sns = &event.records[0].sns;
        assert_eq!(sns.sns_message_type, "Notification");
        let ses: serde_json::Value = serde_json::from_str(&sns.message).expect("the message is JSON");
        let tags = &ses["mail"]["tags"];
        assert_eq!(tags["customer_id"][0], "card_2E4000-1001");
        assert_eq!(boomerang_aws_messaging::tags::decode("card_2E4000-1001").as_deref(), Some(CUSTOMER));
        assert_eq!(tags["kind"][0], "lapsed_30");
        assert_eq!(tags["ses:configuration-set"][0], "boomerang-demo");
        assert_eq!(ses["mail"]["destination"][0], ADDRESS);
    }
}

/// Everything the handlers of this test binary log, as the function's JSON lines: one global
/// subscriber, installed before any handler runs (a per-test subscriber would race with the
/// callsite cache of the tests running beside it).
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static Captured {
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .init();
        captured
    })
}

#[tokio::test]
async fn the_log_names_no_address_and_no_customer() {
    let shop = Shop::with_customer(ADDRESS).await;
    let good = event(BOUNCE_PERMANENT).records[0].sns.message.clone();
    for sample in [BOUNCE_TRANSIENT, DELIVERY, BOUNCE_PERMANENT, BOUNCE_PERMANENT, COMPLAINT] {
        shop.handle(event(sample)).await;
    }
    for (message, expected) in [
        (
            good.replace(
                "\"bouncedRecipients\":[",
                "\"bouncedRecipients\":[{\"emailAddress\":[\"anna.petrova@example.ru\"]},",
            ),
            report(0, 0, 0, 1),
        ),
        (good.replace("card_2E4000-1001", "card.4000-1001"), report(0, 0, 0, 1)),
        (good.replace("\"Bounce\"", "\"anna.petrova@example.ru\""), report(0, 0, 1, 0)),
    ] {
        assert_eq!(shop.handle(with_message(BOUNCE_PERMANENT, &message)).await, expected, "{message}");
    }
    let db = rusqlite::Connection::open(&shop.db).unwrap();
    db.execute(
        "UPDATE customers SET record = 'card.4000-1001 anna.petrova@example.ru' WHERE customer_id = ?1",
        [CUSTOMER],
    )
    .unwrap();
    handle(&shop.app, event(COMPLAINT)).await.unwrap_err();

    let log = String::from_utf8(logs().0.lock().unwrap().clone()).unwrap();
    for needle in ["anna", "petrova", "example.ru", "4000-1001", "79161234567"] {
        assert!(!log.to_lowercase().contains(needle), "{needle} in the log:\n{log}");
    }
    for expected in [
        "permanent bounce",
        "\"outcome\":\"applied\"",
        "\"outcome\":\"already_applied\"",
        "skipped",
        "MailboxFull",
        "Delivery",
    ] {
        assert!(log.contains(expected), "{expected} not in the log:\n{log}");
    }
}
