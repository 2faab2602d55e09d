use axum::http::StatusCode;
use boomerang_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn enrolling_a_new_customer_answers_201_with_the_profile() {
    let t = TestApp::spawn().await;
    let r = t
        .put(
            "/v1/customers/card-1001",
            json!({"phone": "+79161234567", "email": "anna@example.ru", "name": "Anna", "birthday": "1990-02-28",
                   "consent": {"email": true, "sms": false}, "preferred_channel": "email", "locale": "ru"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let b = &r.body;
    assert_eq!(b["customer_id"], "card-1001");
    assert_eq!(b["phone"], "+79161234567");
    assert_eq!(b["email"], "anna@example.ru");
    assert_eq!(b["name"], "Anna");
    assert_eq!(b["birthday"], "1990-02-28");
    assert_eq!(b["consent"], json!({"email": true, "sms": false}));
    assert_eq!(b["preferred_channel"], "email");
    assert_eq!(b["locale"], "ru");
    assert_eq!(b["balance"], 0);
    assert_eq!(b["erased"], false);
}

#[tokio::test]
async fn updating_answers_200_and_keeps_fields_not_sent_while_null_clears() {
    let t = TestApp::spawn().await;
    t.put("/v1/customers/c1", json!({"email": "a@example.ru", "name": "Anna", "consent": {"email": true}})).await;
    let r = t.put("/v1/customers/c1", json!({"phone": "+79160000001", "consent": {"sms": true}})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["email"], "a@example.ru");
    assert_eq!(r.body["name"], "Anna");
    assert_eq!(r.body["consent"], json!({"email": true, "sms": true}));
    let r = t.put("/v1/customers/c1", json!({"email": null})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["email"].is_null());
    assert_eq!(r.body["phone"], "+79160000001");
}

#[tokio::test]
async fn an_unknown_customer_is_404_customer_not_found() {
    let t = TestApp::spawn().await;
    for uri in ["/v1/customers/nobody", "/v1/customers/nobody/balance"] {
        let r = t.get(uri).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(r.error_code(), "customer_not_found");
        assert_eq!(r.error_field(), Some("customer_id"));
    }
    let r = t.delete("/v1/customers/nobody").await;
    assert_eq!((r.status, r.error_code()), (StatusCode::NOT_FOUND, "customer_not_found"));
}

#[tokio::test]
async fn the_profile_carries_the_balance() {
    let t = TestApp::spawn().await;
    t.buy("r1", "c1", 100_000, 0).await;
    let r = t.get("/v1/customers/c1").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["balance"], 50);
}

#[tokio::test]
async fn erasure_removes_contacts_for_good_and_keeps_the_ledger() {
    let t = TestApp::spawn().await;
    t.put(
        "/v1/customers/c1",
        json!({"phone": "+79161234567", "email": "a@example.ru", "name": "Anna", "birthday": "1990-01-01",
               "consent": {"email": true, "sms": true}}),
    )
    .await;
    t.buy("r1", "c1", 100_000, 0).await;
    let r = t.delete("/v1/customers/c1").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.text.is_empty());
    let r = t.get("/v1/customers/c1").await;
    assert_eq!(r.status, StatusCode::OK);
    for field in ["phone", "email", "name", "birthday"] {
        assert!(r.body[field].is_null(), "{field} survived erasure");
    }
    assert_eq!(r.body["consent"], json!({"email": false, "sms": false}));
    assert_eq!(r.body["erased"], true);
    assert_eq!(r.body["balance"], 50, "the anonymous ledger stays");
    // Erasing twice is fine; storing personal data again is not.
    assert_eq!(t.delete("/v1/customers/c1").await.status, StatusCode::NO_CONTENT);
    let r = t.put("/v1/customers/c1", json!({"email": "new@example.ru"})).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::CONFLICT, "customer_erased"));
    let r = t.put("/v1/customers/c1", json!({"consent": {"email": true}})).await;
    assert_eq!(r.status, StatusCode::OK);
    let stored = t.app.customer(&"c1".parse_id()).await.unwrap();
    assert!(stored.customer.email.is_none() && stored.customer.is_erased());
}

#[tokio::test]
async fn the_balance_lists_live_lots_by_date_and_ignores_expired_ones() {
    let t = TestApp::spawn().await;
    // Earned today: expires 2027-11-24. Backdated 20 days: expires 2027-11-04.
    t.buy("r1", "c1", 100_000, 0).await;
    let r = t
        .post(
            "/v1/purchases",
            json!({"receipt_id": "r2", "customer_id": "c1", "amount": 20_000, "currency": "RUB",
                   "occurred_at": "2026-11-04T12:00:00+03:00", "store_id": "s1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t.get("/v1/customers/c1/balance").await;
    assert_eq!(
        r.body,
        json!({"customer_id": "c1", "balance": 60, "expiring": [
            {"points": 10, "expires_on": "2027-11-04"}, {"points": 50, "expires_on": "2027-11-24"}]})
    );
    // On 2027-11-04 (Moscow) the first lot no longer counts, burned or not.
    t.clock.set(chrono::DateTime::parse_from_rfc3339("2027-11-04T00:00:01+03:00").unwrap().into());
    let r = t.get("/v1/customers/c1/balance").await;
    assert_eq!(r.body["balance"], 50);
    assert_eq!(r.body["expiring"], json!([{"points": 50, "expires_on": "2027-11-24"}]));
    t.clock.set(chrono::DateTime::parse_from_rfc3339("2027-11-03T23:59:59+03:00").unwrap().into());
    assert_eq!(t.balance("c1").await, 60);
}

trait ParseId {
    fn parse_id(&self) -> boomerang_core::domain::ids::CustomerId;
}
impl ParseId for &str {
    fn parse_id(&self) -> boomerang_core::domain::ids::CustomerId {
        boomerang_core::domain::ids::CustomerId::parse(self).unwrap()
    }
}
