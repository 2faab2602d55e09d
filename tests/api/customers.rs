use axum::http::{Method, StatusCode};
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

// ---------------------------------------------------------------------------------------------
// Consent: every change on record, and the customer's own "no" sticks

/// c1 enrolled at till-1 with both consents, then unsubscribed by the link in an email.
async fn unsubscribed(t: &TestApp) -> String {
    let r = t
        .put("/v1/customers/c1", json!({"email": "a@example.ru", "phone": "+79161234567", "consent": {"email": true, "sms": true}}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let token = t.app.unsubscribe_token(&"c1".parse_id()).await.unwrap();
    t.clock.advance(chrono::Duration::minutes(30));
    let r = t.send(Method::POST, &format!("/v1/unsubscribe?token={token}"), None, Some(b"List-Unsubscribe=One-Click".to_vec())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    t.clock.advance(chrono::Duration::minutes(30));
    token
}

#[tokio::test]
async fn the_profile_shows_each_channels_last_consent_change() {
    let t = TestApp::spawn().await;
    let r = t.put("/v1/customers/c1", json!({"email": "a@example.ru", "consent": {"email": true}})).await;
    assert_eq!(
        r.body["consent_details"],
        json!({"email": {"granted": true, "at": "2026-11-24T07:00:00Z", "source": "pos:till-1"}, "sms": null})
    );
    assert_eq!(r.body["consent"], json!({"email": true, "sms": false}), "consent stays as it was");
    let t = TestApp::spawn().await;
    unsubscribed(&t).await;
    let r = t.get("/v1/customers/c1").await;
    assert_eq!(r.body["consent"], json!({"email": false, "sms": true}));
    assert_eq!(r.body["consent_details"]["email"], json!({"granted": false, "at": "2026-11-24T07:30:00Z", "source": "unsubscribe_link"}));
    assert_eq!(r.body["consent_details"]["sms"]["source"], "pos:till-1");
}

#[tokio::test]
async fn a_put_that_merely_says_true_does_not_undo_the_customers_unsubscribe() {
    let t = TestApp::spawn().await;
    unsubscribed(&t).await;
    let before = t.app.customer(&"c1".parse_id()).await.unwrap();
    let r = t.put("/v1/customers/c1", json!({"name": "Anna", "consent": {"email": true}})).await;
    assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::CONFLICT, "consent_withdrawn", Some("consent.email")));
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("on 2026-11-24 at 07:30 UTC by the unsubscribe link of an email"), "{message}");
    assert!(message.contains("consent_renewed"), "{message}");
    assert_eq!(t.app.customer(&"c1".parse_id()).await.unwrap(), before, "nothing written, not even the name");

    // The till declares the customer's fresh consent: now it is on, on record as the till's.
    let r = t
        .put("/v1/customers/c1", json!({"consent": {"email": true}, "consent_renewed": ["email"]}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["consent"]["email"], true);
    assert_eq!(r.body["consent_details"]["email"], json!({"granted": true, "at": "2026-11-24T08:00:00Z", "source": "pos:till-1"}));
}

#[tokio::test]
async fn a_complaint_and_an_sms_stop_stick_as_well() {
    use boomerang_core::app::suppression::Feedback;
    use boomerang_core::domain::ids::Phone;
    let t = TestApp::spawn().await;
    t.put("/v1/customers/c1", json!({"email": "a@example.ru", "phone": "+79161234567", "consent": {"email": true, "sms": true}}))
        .await;
    let id = "c1".parse_id();
    t.app.email_feedback(Feedback::Complaint, &id, "a@example.ru", boomerang_tests::start()).await.unwrap();
    t.app.sms_opt_out(&id, &Phone::parse("+79161234567").unwrap(), boomerang_tests::start()).await.unwrap();
    let r = t.put("/v1/customers/c1", json!({"consent": {"email": true}})).await;
    assert_eq!((r.status, r.error_field()), (StatusCode::CONFLICT, Some("consent.email")));
    assert!(r.text.contains("by marking an email as spam"), "{}", r.text);
    let r = t.put("/v1/customers/c1", json!({"consent": {"sms": true}})).await;
    assert_eq!((r.status, r.error_field()), (StatusCode::CONFLICT, Some("consent.sms")));
    assert!(r.text.contains("by replying STOP to an SMS"), "{}", r.text);
    let r = t.get("/v1/customers/c1").await;
    assert_eq!((&r.body["consent_details"]["email"]["source"], &r.body["consent_details"]["sms"]["source"]), (&json!("complaint"), &json!("sms_opt_out")));
    // Turning a withdrawn channel off again, or renewing only one, is fine.
    let r = t.put("/v1/customers/c1", json!({"consent": {"sms": true, "email": false}, "consent_renewed": ["sms"]})).await;
    assert_eq!((r.status, &r.body["consent"]), (StatusCode::OK, &json!({"email": false, "sms": true})), "{}", r.text);
}

#[tokio::test]
async fn consent_renewed_names_only_channels_the_body_turns_on() {
    let t = TestApp::spawn().await;
    for (body, message) in [
        (json!({"consent_renewed": ["email"]}), "send consent.email true with it"),
        (json!({"consent": {"email": true}, "consent_renewed": ["sms"]}), "send consent.sms true with it"),
        (json!({"consent": {"email": true}, "consent_renewed": ["email", "email"]}), "names email twice"),
        (json!({"consent": {"email": true}, "consent_renewed": ["pigeon"]}), "may only list \"email\" and \"sms\""),
        (json!({"consent": {"email": true}, "consent_renewed": "email"}), "must be an array"),
    ] {
        let r = t.put("/v1/customers/c1", body.clone()).await;
        assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::BAD_REQUEST, "invalid_field", Some("consent_renewed")), "{body}");
        assert!(r.body["error"]["message"].as_str().unwrap().contains(message), "{body}: {}", r.text);
    }
    assert_eq!(t.get("/v1/customers/c1").await.status, StatusCode::NOT_FOUND, "nothing was enrolled");
    let r = t.put("/v1/customers/c1", json!({"consent": {"email": true}, "consent_renewed": ["email"]})).await;
    assert_eq!(r.status, StatusCode::CREATED, "a renewal on a new customer is simply consent: {}", r.text);
}

#[tokio::test]
async fn a_put_that_changes_nothing_writes_nothing() {
    let t = TestApp::spawn().await;
    let body = json!({"email": "a@example.ru", "name": "Anna", "consent": {"email": true, "sms": false}});
    let first = t.put("/v1/customers/c1", body.clone()).await;
    let stored = t.app.customer(&"c1".parse_id()).await.unwrap();
    t.clock.advance(chrono::Duration::hours(1));
    let again = t.put("/v1/customers/c1", body).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, first.body, "updated_at included");
    assert_eq!(t.app.customer(&"c1".parse_id()).await.unwrap(), stored, "same version: no write");
    let changed = t.put("/v1/customers/c1", json!({"name": "Anna P."})).await;
    assert_eq!(changed.body["updated_at"], "2026-11-24T08:00:00Z");
}

#[tokio::test]
async fn the_consent_evidence_is_served_to_admin_keys_only() {
    let t = TestApp::spawn().await;
    unsubscribed(&t).await;
    let r = t.get("/v1/customers/c1/consent").await;
    assert_eq!((r.status, r.error_code()), (StatusCode::FORBIDDEN, "forbidden"));
    let admin = |uri: &'static str| t.send(Method::GET, uri, Some(&t.admin_key), None);
    let r = admin("/v1/customers/c1/consent").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({
            "customer_id": "c1", "erased_at": null, "email_undeliverable_at": null,
            "email": {"contact": "a@example.ru", "granted": false, "withdrawn_by_customer": true,
                      "last_change": {"granted": false, "at": "2026-11-24T07:30:00Z", "source": "unsubscribe_link"}},
            "sms": {"contact": "+79161234567", "granted": true, "withdrawn_by_customer": false,
                    "last_change": {"granted": true, "at": "2026-11-24T07:00:00Z", "source": "pos:till-1"}}
        })
    );
    let r = admin("/v1/customers/nobody/consent").await;
    assert_eq!((r.status, r.error_code()), (StatusCode::NOT_FOUND, "customer_not_found"));
    let r = t.send(Method::GET, "/v1/customers/c1/consent", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn erasure_records_who_turned_the_channels_off() {
    let t = TestApp::spawn().await;
    unsubscribed(&t).await;
    assert_eq!(t.delete("/v1/customers/c1").await.status, StatusCode::NO_CONTENT);
    let r = t.get("/v1/customers/c1").await;
    assert_eq!(r.body["consent_details"]["sms"], json!({"granted": false, "at": "2026-11-24T08:00:00Z", "source": "pos:till-1"}));
    assert_eq!(r.body["consent_details"]["email"]["source"], "unsubscribe_link", "the customer's own no stays the evidence");
}
