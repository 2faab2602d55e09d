//! No customer id, phone, email or name in any log line, errors included. The logs of a whole
//! walk-through through the real router (enroll, purchases, a replay, a refund, balances,
//! consent, unsubscribe, erasure, and errors up to a corrupt stored record) are captured
//! and searched for every id and contact the walk-through used.

use std::sync::{Arc, Mutex, OnceLock};

use axum::http::{Method, StatusCode};
use boomerang_sqlite::DB_FILE;
use boomerang_tests::TestApp;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every event of every level from every crate, as the Lambda functions write them (JSON).
fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(move || writer.clone())
            .init();
        captured
    })
}

/// Who the walk-through is about: ids (one of them a phone number), contacts and names.
const SECRETS: &[&str] = &[
    "card-7731",
    "card-5150",
    "+79035550101",
    "79035550101",
    "+79161234567",
    "79161234567",
    "anna.petrova@example.ru",
    "anna.petrova",
    "Petrova",
    "Петрова",
    "boris@example.ru",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_through_with_errors_logs_no_customer_id_contact_or_name() {
    let logs = logs();
    let t = TestApp::spawn().await;
    let admin = |uri: &'static str| t.send(Method::GET, uri, Some(&t.admin_key), None);
    let at = "2026-11-24T09:00:00+03:00";
    let purchase = |receipt: &str, customer: &str, amount: i64, redeem: i64| {
        json!({"receipt_id": receipt, "customer_id": customer, "amount": amount, "currency": "RUB",
               "occurred_at": at, "store_id": "moscow-1", "redeem_points": redeem})
    };

    // Enroll, buy, spend, replay, refund, read.
    let anna = json!({"phone": "+79161234567", "email": "anna.petrova@example.ru", "name": "Анна Петрова",
                      "birthday": "1990-03-14", "consent": {"email": true, "sms": true}, "locale": "ru"});
    assert_eq!(t.put("/v1/customers/card-7731", anna.clone()).await.status, StatusCode::CREATED);
    assert_eq!(t.put("/v1/customers/card-7731", json!({"name": "Anna Petrova"})).await.status, StatusCode::OK);
    assert_eq!(t.post("/v1/purchases", purchase("R-1", "card-7731", 250_000, 0)).await.status, StatusCode::CREATED);
    assert_eq!(t.post("/v1/purchases", purchase("R-2", "card-7731", 100_000, 100)).await.status, StatusCode::CREATED);
    assert_eq!(t.post("/v1/purchases", purchase("R-2", "card-7731", 100_000, 100)).await.status, StatusCode::OK);
    let refund = json!({"refund_id": "F-1", "receipt_id": "R-2", "customer_id": "card-7731", "amount": 50_000, "occurred_at": at});
    assert_eq!(t.post("/v1/refunds", refund).await.status, StatusCode::CREATED);
    assert_eq!(t.get("/v1/customers/card-7731/balance").await.status, StatusCode::OK);
    assert_eq!(t.get("/v1/customers/card-7731").await.status, StatusCode::OK);
    // A customer whose id is a phone number, enrolled by a purchase.
    assert_eq!(t.post("/v1/purchases", purchase("R-3", "+79035550101", 10_000, 0)).await.status, StatusCode::CREATED);

    // Errors of every family.
    let bad_phone = json!({"phone": "79161234567", "email": "boris@example.ru"});
    assert_eq!(t.put("/v1/customers/card-5150", bad_phone).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(t.get("/v1/customers/card-5150").await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/v1/customers/card-5150/balance").await.status, StatusCode::NOT_FOUND);
    let r = t.post("/v1/purchases", purchase("R-4", "card-7731", 10_000, 9_999)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = t.post("/v1/purchases", purchase("R-1", "+79035550101", 250_000, 0)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = t.send(Method::POST, "/v1/purchases", Some("bmr_not-a-key"), Some(b"{}".to_vec())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = t.post("/v1/refunds", json!({"refund_id": "F-2", "receipt_id": "R-404", "amount": 1, "occurred_at": at})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Consent: the unsubscribe link, a PUT refused for it, the evidence, erasure.
    let token = t.app.unsubscribe_token(&boomerang_core::domain::ids::CustomerId::parse("card-7731").unwrap()).await.unwrap();
    assert_eq!(t.send(Method::GET, &format!("/v1/unsubscribe?token={token}"), None, None).await.status, StatusCode::OK);
    assert_eq!(t.send(Method::POST, &format!("/v1/unsubscribe?token={token}"), None, None).await.status, StatusCode::OK);
    let r = t.put("/v1/customers/card-7731", json!({"consent": {"email": true}})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(admin("/v1/customers/card-7731/consent").await.status, StatusCode::OK);
    assert_eq!(t.get("/v1/customers/card-7731/consent").await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.delete("/v1/customers/+79035550101").await.status, StatusCode::NO_CONTENT);

    // A stored record that no longer decodes, with a contact where a number belongs: serde
    // would quote it, and the store used to name the record by its key.
    let db = rusqlite::Connection::open(t.dir.path().join(DB_FILE)).unwrap();
    let record: String = db.query_row("SELECT record FROM customers WHERE customer_id = 'card-7731'", [], |r| r.get(0)).unwrap();
    let version = record.rsplit_once("\"version\":").unwrap().1.trim_end_matches('}').to_owned();
    let corrupt = record.replace(&format!("\"version\":{version}}}"), "\"version\":\"anna.petrova@example.ru card-7731\"}");
    assert_ne!(corrupt, record);
    db.execute("UPDATE customers SET record = ?1 WHERE customer_id = 'card-7731'", [corrupt]).unwrap();
    for r in [
        t.get("/v1/customers/card-7731").await,
        t.get("/v1/customers/card-7731/balance").await,
        t.post("/v1/purchases", purchase("R-5", "card-7731", 10_000, 0)).await,
        t.put("/v1/customers/card-7731", json!({"name": "Anna"})).await,
        admin("/v1/customers/card-7731/consent").await,
    ] {
        assert_eq!((r.status, r.error_code()), (StatusCode::INTERNAL_SERVER_ERROR, "internal"), "{}", r.text);
        assert!(!r.text.contains("card-7731") && !r.text.contains("anna"), "an opaque answer: {}", r.text);
    }

    let log = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    // The capture works and holds the walk-through, corrupt record included.
    assert!(log.lines().count() >= 30, "{log}");
    assert!(log.contains("\"route\":\"/v1/customers/{customer_id}\""), "{log}");
    assert!(log.contains("request failed"), "the corrupt record is logged: {log}");
    for secret in SECRETS {
        let hits: Vec<&str> = log.lines().filter(|l| l.contains(secret)).collect();
        assert!(hits.is_empty(), "{secret} is in the log:\n{}", hits.join("\n"));
    }
    // What is logged still says what went wrong: the kind of record and of fault.
    assert!(log.contains("customer record: a value has the wrong type or shape"), "{log}");
}
