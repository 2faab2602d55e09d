//! Bad input: always a 4xx naming the field, never a 5xx, and nothing changes.

use axum::http::{Method, StatusCode};
use boomerang_tests::TestApp;
use serde_json::json;

fn good_purchase() -> serde_json::Value {
    json!({"receipt_id": "r1", "customer_id": "c1", "amount": 10_000, "currency": "RUB",
           "occurred_at": "2026-11-24T09:00:00+03:00", "store_id": "store-1", "redeem_points": 0})
}

async fn assert_nothing_recorded(t: &TestApp) {
    assert_eq!(t.get("/v1/customers/c1").await.status, StatusCode::NOT_FOUND, "a customer appeared");
}

#[tokio::test]
async fn purchase_fields_of_the_wrong_value_are_400_naming_the_field() {
    let t = TestApp::spawn().await;
    let cases: Vec<(&str, serde_json::Value, &str, &str)> = vec![
        ("amount", json!(0), "invalid_field", "amount"),
        ("amount", json!(-5), "invalid_field", "amount"),
        ("amount", json!(12.5), "invalid_field", "amount"),
        ("amount", json!("100"), "invalid_field", "amount"),
        ("amount", json!(1_000_000_000_000i64), "invalid_field", "amount"),
        ("redeem_points", json!(-1), "invalid_field", "redeem_points"),
        ("customer_id", json!("bad id!"), "invalid_field", "customer_id"),
        ("customer_id", json!(""), "invalid_field", "customer_id"),
        ("receipt_id", json!(42), "invalid_field", "receipt_id"),
        ("currency", json!("rub"), "invalid_field", "currency"),
        ("occurred_at", json!("2026-11-24 09:00"), "invalid_field", "occurred_at"),
        ("occurred_at", json!("2026-11-24T09:00:00"), "invalid_field", "occurred_at"),
        ("store_id", json!(null), "invalid_field", "store_id"),
    ];
    for (key, value, code, field) in cases {
        let mut body = good_purchase();
        body[key] = value.clone();
        let r = t.post("/v1/purchases", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{key}={value}: {}", r.text);
        assert_eq!(r.error_code(), code, "{key}={value}: {}", r.text);
        assert_eq!(r.error_field(), Some(field), "{key}={value}: {}", r.text);
    }
    assert_nothing_recorded(&t).await;
}

#[tokio::test]
async fn a_missing_field_is_400_missing_field() {
    let t = TestApp::spawn().await;
    let mut body = good_purchase();
    body.as_object_mut().unwrap().remove("amount");
    let r = t.post("/v1/purchases", body).await;
    assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::BAD_REQUEST, "missing_field", Some("amount")));
    assert_nothing_recorded(&t).await;
}

#[tokio::test]
async fn an_unknown_field_is_400_unknown_field() {
    let t = TestApp::spawn().await;
    let mut body = good_purchase();
    body["discount"] = json!(5);
    let r = t.post("/v1/purchases", body).await;
    assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::BAD_REQUEST, "unknown_field", Some("discount")));
    let r = t.put("/v1/customers/c1", json!({"consent": {"emails": true}})).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, "unknown_field"), "{}", r.text);
    assert_eq!(r.error_field(), Some("consent.emails"), "{}", r.text);
    assert_nothing_recorded(&t).await;
}

#[tokio::test]
async fn malformed_json_is_400_malformed_json() {
    let t = TestApp::spawn().await;
    let trailing = format!("{} trailing", good_purchase());
    let cases: [(&[u8], &str); 6] = [
        (b"{not json", "malformed_json"),
        (b"", "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (trailing.as_bytes(), "malformed_json"),
        (b"[]", "invalid_body"),
        (br#"["r9","c1",1000,"RUB","2026-11-24T09:00:00+03:00","s1",0]"#, "invalid_body"),
    ];
    for (raw, code) in cases {
        let r = t.send(Method::POST, "/v1/purchases", Some(&t.key), Some(raw.to_vec())).await;
        assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, code), "{raw:?}: {}", r.text);
    }
    assert_nothing_recorded(&t).await;
}

#[tokio::test]
async fn a_body_over_64_kib_is_413() {
    let t = TestApp::spawn().await;
    let mut body = good_purchase();
    body["store_id"] = json!("x".repeat(70 * 1024));
    let r = t.post("/v1/purchases", body).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
    assert_nothing_recorded(&t).await;
}

#[tokio::test]
async fn customer_fields_are_validated_and_named() {
    let t = TestApp::spawn().await;
    let cases = [
        (json!({"phone": "89161234567"}), "phone"),
        (json!({"email": "not-an-email"}), "email"),
        (json!({"birthday": "1990-13-01"}), "birthday"),
        (json!({"birthday": "2030-01-01"}), "birthday"),
        (json!({"birthday": "01.02.1990"}), "birthday"),
        (json!({"name": ""}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"preferred_channel": "pigeon"}), "preferred_channel"),
        (json!({"locale": "de"}), "locale"),
        (json!({"consent": {"email": "yes"}}), "consent.email"),
        (json!({"consent": true}), "consent"),
    ];
    for (body, field) in cases {
        let r = t.put("/v1/customers/c1", body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert_eq!(r.error_field(), Some(field), "{body}: {}", r.text);
    }
    let long_id = "a".repeat(65);
    let r = t.put(&format!("/v1/customers/{long_id}"), json!({})).await;
    assert_eq!((r.status, r.error_field()), (StatusCode::BAD_REQUEST, Some("customer_id")));
    let r = t.get("/v1/customers/bad%20id").await;
    assert_eq!((r.status, r.error_field()), (StatusCode::BAD_REQUEST, Some("customer_id")));
    assert_nothing_recorded(&t).await;
}

#[tokio::test]
async fn refund_fields_are_validated_and_named() {
    let t = TestApp::spawn().await;
    let r = t
        .post("/v1/refunds", json!({"refund_id": "f1", "receipt_id": "r1", "amount": -1, "occurred_at": "2026-11-24T09:00:00+03:00"}))
        .await;
    assert_eq!((r.status, r.error_field()), (StatusCode::BAD_REQUEST, Some("amount")));
    let r = t
        .post("/v1/refunds", json!({"refund_id": "f 1", "receipt_id": "r1", "amount": 1, "occurred_at": "2026-11-24T09:00:00+03:00"}))
        .await;
    assert_eq!((r.status, r.error_field()), (StatusCode::BAD_REQUEST, Some("refund_id")));
}

/// Names of Rust types and serde's jargon, which a POS developer should never have to read.
fn assert_plain_words(message: &str) {
    for word in ["i64", "u64", "u32", "f64", "struct ", "Body", "Option", "unit value", "invalid type", "invalid value", "floating point", "`"] {
        assert!(!message.contains(word), "{word:?} in the message {message:?}");
    }
}

#[tokio::test]
async fn a_value_of_the_wrong_type_gets_a_message_saying_what_it_must_be_with_an_example() {
    let t = TestApp::spawn().await;
    let amount = "amount must be an integer number of minor units, e.g. 250000 for 2,500.00";
    let cases: Vec<(&str, &str, serde_json::Value, String)> = vec![
        ("/v1/purchases", "amount", json!("100.00"), format!("{amount}; got the string \"100.00\"")),
        ("/v1/purchases", "amount", json!(1000.50), format!("{amount}; got the number 1000.5")),
        ("/v1/purchases", "amount", json!(null), format!("{amount}; got null")),
        ("/v1/purchases", "amount", json!({"value": 1}), format!("{amount}; got an object")),
        ("/v1/purchases", "redeem_points", json!(1.5), "redeem_points must be a whole number of points, e.g. 100; got the number 1.5".into()),
        ("/v1/purchases", "redeem_points", json!("10"), "redeem_points must be a whole number of points, e.g. 100; got the string \"10\"".into()),
        ("/v1/purchases", "receipt_id", json!(42), "receipt_id must be a string; got the number 42".into()),
        ("/v1/purchases", "store_id", json!(["a"]), "store_id must be a string; got an array".into()),
        ("/v1/refunds", "amount", json!("500.00"), format!("{amount}; got the string \"500.00\"")),
    ];
    for (route, key, value, message) in cases {
        let mut body = if route == "/v1/purchases" {
            good_purchase()
        } else {
            json!({"refund_id": "f1", "receipt_id": "r1", "amount": 100, "occurred_at": "2026-11-24T09:00:00+03:00"})
        };
        body[key] = value.clone();
        let r = t.post(route, body).await;
        assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::BAD_REQUEST, "invalid_field", Some(key)), "{key}={value}: {}", r.text);
        assert_eq!(r.body["error"]["message"], message, "{key}={value}");
        assert_plain_words(&message);
    }
    let customer_cases = [
        (json!({"consent": true}), "consent", r#"consent must be an object such as {"email": true, "sms": false}; got true"#),
        (json!({"consent": {"email": "yes"}}), "consent.email", r#"consent.email must be true or false; got the string "yes""#),
        (json!({"name": 5}), "name", "name must be a string; got the number 5"),
        (json!({"locale": false}), "locale", "locale must be a string; got false"),
    ];
    for (body, field, message) in customer_cases {
        let r = t.put("/v1/customers/c1", body.clone()).await;
        assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::BAD_REQUEST, "invalid_field", Some(field)), "{body}: {}", r.text);
        assert_eq!(r.body["error"]["message"], message, "{body}");
    }
    // Out of range is worded by the API too, with the same example.
    let mut body = good_purchase();
    body["amount"] = json!(u64::MAX);
    let r = t.post("/v1/purchases", body).await;
    assert_eq!(r.error_code(), "invalid_field", "{}", r.text);
    assert_eq!(r.body["error"]["message"], "amount must be a whole number of minor units from 1 to 100000000000, e.g. 250000 for 2,500.00");
    assert_nothing_recorded(&t).await;
}

#[tokio::test]
async fn body_shape_missing_and_unknown_fields_are_worded_for_people() {
    let t = TestApp::spawn().await;
    let cases: [(&[u8], &str, Option<&str>, &str); 4] = [
        (b"\"receipt\"", "invalid_body", None, "the body must be a JSON object; got the string \"receipt\""),
        (b"42", "invalid_body", None, "the body must be a JSON object; got the number 42"),
        (br#"{"receipt_id": "r1"}"#, "missing_field", Some("customer_id"), "customer_id is required"),
        (
            br#"{"discount": 5}"#,
            "unknown_field",
            Some("discount"),
            "discount is not a field the API knows here; use one of receipt_id, customer_id, amount, currency, occurred_at, store_id, redeem_points",
        ),
    ];
    for (raw, code, field, message) in cases {
        let r = t.send(Method::POST, "/v1/purchases", Some(&t.key), Some(raw.to_vec())).await;
        assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::BAD_REQUEST, code, field), "{}", r.text);
        assert_eq!(r.body["error"]["message"], message);
        assert_plain_words(message);
    }
    let r = t.put("/v1/customers/c1", json!({"consent": {"emails": true}})).await;
    assert_eq!(r.body["error"]["message"], "consent.emails is not a field the API knows here; use one of email, sms");
    assert_nothing_recorded(&t).await;
}

#[tokio::test]
async fn a_bad_birthday_or_locale_says_why_in_the_words_the_cli_and_config_use() {
    let t = TestApp::spawn().await;
    let cases = [
        (json!({"birthday": "1990-02-30"}), "birthday", "birthday 1990-02-30 is not a date: February 1990 has days 01 to 28"),
        (json!({"birthday": "1990-13-01"}), "birthday", "birthday 1990-13-01 is not a date: there is no month 13 (months are 01 to 12)"),
        (json!({"birthday": "14.03.1990"}), "birthday", "birthday must be a date as YYYY-MM-DD, e.g. 1990-03-14; got \"14.03.1990\""),
        (json!({"locale": "fr"}), "locale", "\"fr\" is not a supported locale; the supported ones are ru, en"),
    ];
    for (body, field, message) in cases {
        let r = t.put("/v1/customers/c1", body.clone()).await;
        assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::BAD_REQUEST, "invalid_field", Some(field)), "{body}: {}", r.text);
        assert_eq!(r.body["error"]["message"], message, "{body}");
    }
    assert_nothing_recorded(&t).await;
}
