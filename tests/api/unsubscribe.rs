use axum::http::{Method, StatusCode};
use boomerang_core::domain::ids::CustomerId;
use boomerang_tests::TestApp;
use serde_json::json;

async fn enrolled_with_email(t: &TestApp) -> String {
    t.put("/v1/customers/c1", json!({"email": "a@example.ru", "consent": {"email": true, "sms": true}})).await;
    t.app.unsubscribe_token(&CustomerId::parse("c1").unwrap()).await.unwrap()
}

#[tokio::test]
async fn one_click_unsubscribe_needs_no_key_and_turns_email_consent_off() {
    let t = TestApp::spawn().await;
    let token = enrolled_with_email(&t).await;
    let r = t.send(Method::POST, &format!("/v1/unsubscribe?token={token}"), None, Some(b"List-Unsubscribe=One-Click".to_vec())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({"unsubscribed": true}));
    let profile = t.get("/v1/customers/c1").await;
    assert_eq!(profile.body["consent"], json!({"email": false, "sms": true}));
}

#[tokio::test]
async fn the_link_opened_in_a_browser_unsubscribes_and_shows_a_page() {
    let t = TestApp::spawn().await;
    let token = enrolled_with_email(&t).await;
    let r = t.send(Method::GET, &format!("/v1/unsubscribe?token={token}"), None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(r.text.contains("no longer receive emails"), "{}", r.text);
    assert_eq!(t.get("/v1/customers/c1").await.body["consent"]["email"], false);
    let r = t.send(Method::GET, &format!("/v1/unsubscribe?token={token}x"), None, None).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, "invalid_token"));
}

#[tokio::test]
async fn a_forged_or_missing_token_is_400_and_changes_nothing() {
    let t = TestApp::spawn().await;
    let token = enrolled_with_email(&t).await;
    let forged = format!("{}x", token);
    for uri in [format!("/v1/unsubscribe?token={forged}"), "/v1/unsubscribe".to_string(), "/v1/unsubscribe?token=".to_string()] {
        let r = t.send(Method::POST, &uri, None, None).await;
        assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, "invalid_token"), "{uri}");
        assert_eq!(r.error_field(), Some("token"));
    }
    assert_eq!(t.get("/v1/customers/c1").await.body["consent"]["email"], true);
}
