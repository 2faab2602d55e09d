use axum::http::{Method, StatusCode};
use boomerang_core::domain::ids::CustomerId;
use boomerang_tests::{TestApp, TestResponse};
use serde_json::json;

async fn enrolled_with_email(t: &TestApp) -> String {
    t.put("/v1/customers/c1", json!({"email": "anna.petrova@example.ru", "consent": {"email": true, "sms": true}, "locale": "en"}))
        .await;
    t.app.unsubscribe_token(&CustomerId::parse("c1").unwrap()).await.unwrap()
}

fn is_html(r: &TestResponse) -> bool {
    r.headers["content-type"].to_str().unwrap().starts_with("text/html")
}

/// The form's `action` of a page, resolved against `/v1/unsubscribe` as a browser would.
fn form_action(page: &str) -> String {
    let start = page.find("<form method=\"post\" action=\"").expect("a form that posts") + "<form method=\"post\" action=\"".len();
    let action = &page[start..start + page[start..].find('"').unwrap()];
    assert!(!action.starts_with('/') && !action.contains("://"), "relative to the link: {action}");
    format!("/v1/{action}")
}

#[tokio::test]
async fn the_link_opened_in_a_browser_or_by_a_scanner_asks_and_changes_nothing() {
    let t = TestApp::spawn().await;
    let token = enrolled_with_email(&t).await;
    let before = t.app.customer(&CustomerId::parse("c1").unwrap()).await.unwrap();
    for _ in 0..3 {
        let r = t.send(Method::GET, &format!("/v1/unsubscribe?token={token}"), None, None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(is_html(&r), "{:?}", r.headers);
        assert_eq!(r.headers["cache-control"], "no-store");
        assert!(r.text.contains("Boomerang Shop"), "the shop's name: {}", r.text);
        assert!(r.text.contains("a***@example.ru") && !r.text.contains("anna.petrova"), "the address masked: {}", r.text);
        assert_eq!(r.text.matches("<button").count(), 1, "one button: {}", r.text);
        assert_eq!(form_action(&r.text), format!("/v1/unsubscribe?token={token}"), "the button posts the same link");
    }
    assert_eq!(t.app.customer(&CustomerId::parse("c1").unwrap()).await.unwrap(), before, "a GET changes nothing");
    assert_eq!(t.get("/v1/customers/c1").await.body["consent"]["email"], true);
}

#[tokio::test]
async fn one_click_unsubscribe_needs_no_key_withdraws_email_consent_and_confirms() {
    let t = TestApp::spawn().await;
    let token = enrolled_with_email(&t).await;
    let r = t.send(Method::POST, &format!("/v1/unsubscribe?token={token}"), None, Some(b"List-Unsubscribe=One-Click".to_vec())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(is_html(&r) && r.text.contains("no longer receive emails from Boomerang Shop"), "{}", r.text);
    let profile = t.get("/v1/customers/c1").await;
    assert_eq!(profile.body["consent"], json!({"email": false, "sms": true}));
    assert_eq!(profile.body["consent_details"]["email"], json!({"granted": false, "at": "2026-11-24T07:00:00Z", "source": "unsubscribe_link"}));
    // Again (the mail client retries): the same page, the first withdrawal stays on record.
    t.clock.advance(chrono::Duration::hours(1));
    let again = t.send(Method::POST, &format!("/v1/unsubscribe?token={token}"), None, None).await;
    assert_eq!((again.status, again.text.clone()), (StatusCode::OK, r.text));
    assert_eq!(t.get("/v1/customers/c1").await.body["consent_details"]["email"]["at"], "2026-11-24T07:00:00Z");
    // The page now says so, without a button.
    let page = t.send(Method::GET, &format!("/v1/unsubscribe?token={token}"), None, None).await;
    assert!(page.text.contains("no longer receives emails") && !page.text.contains("<button"), "{}", page.text);
}

#[tokio::test]
async fn the_pages_button_unsubscribes() {
    let t = TestApp::spawn().await;
    let token = enrolled_with_email(&t).await;
    let page = t.send(Method::GET, &format!("/v1/unsubscribe?token={token}"), None, None).await;
    assert!(page.text.contains("<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"), "{}", page.text);
    let r = t.send(Method::POST, &form_action(&page.text), None, Some(b"List-Unsubscribe=One-Click".to_vec())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(t.get("/v1/customers/c1").await.body["consent"]["email"], false);
}

#[tokio::test]
async fn the_pages_speak_the_customers_language() {
    let t = TestApp::spawn().await;
    t.put("/v1/customers/c2", json!({"email": "olga@example.ru", "consent": {"email": true}, "locale": "ru"})).await;
    let token = t.app.unsubscribe_token(&CustomerId::parse("c2").unwrap()).await.unwrap();
    let page = t.send(Method::GET, &format!("/v1/unsubscribe?token={token}"), None, None).await;
    assert!(page.text.contains("lang=\"ru\"") && page.text.contains("Отписаться"), "{}", page.text);
    let done = t.send(Method::POST, &format!("/v1/unsubscribe?token={token}"), None, None).await;
    assert!(done.text.contains("вы больше не будете получать письма"), "{}", done.text);
}

#[tokio::test]
async fn a_forged_or_missing_token_is_400_and_changes_nothing() {
    let t = TestApp::spawn().await;
    let token = enrolled_with_email(&t).await;
    let forged = format!("{}x", token);
    for method in [Method::GET, Method::POST] {
        for uri in [format!("/v1/unsubscribe?token={forged}"), "/v1/unsubscribe".to_string(), "/v1/unsubscribe?token=".to_string()] {
            let r = t.send(method.clone(), &uri, None, Some(b"List-Unsubscribe=One-Click".to_vec())).await;
            assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, "invalid_token"), "{method} {uri}");
            assert_eq!(r.error_field(), Some("token"));
        }
    }
    assert_eq!(t.get("/v1/customers/c1").await.body["consent"]["email"], true);
}

#[tokio::test]
async fn a_valid_token_of_a_customer_no_longer_held_is_answered_all_the_same() {
    let t = TestApp::spawn().await;
    let token = t.app.unsubscribe_token(&CustomerId::parse("gone").unwrap()).await.unwrap();
    let page = t.send(Method::GET, &format!("/v1/unsubscribe?token={token}"), None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains("<button"), "nobody to unsubscribe: {}", page.text);
    let done = t.send(Method::POST, &format!("/v1/unsubscribe?token={token}"), None, None).await;
    assert_eq!(done.status, StatusCode::OK);
    assert_eq!(t.get("/v1/customers/gone").await.status, StatusCode::NOT_FOUND, "nobody was created");
    // An erased customer: no address, nothing to ask.
    let token = enrolled_with_email(&t).await;
    assert_eq!(t.delete("/v1/customers/c1").await.status, StatusCode::NO_CONTENT);
    let page = t.send(Method::GET, &format!("/v1/unsubscribe?token={token}"), None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains("<button") && !page.text.contains("***"), "{}", page.text);
}
