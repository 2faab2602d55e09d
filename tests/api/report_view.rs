//! GET /v1/reports/view through the real router: the digest's signed link opens the week's
//! report page without a key, read-only; an altered token is 400, an expired one 410.

use axum::http::{Method, StatusCode};
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::ids::CustomerId;
use boomerang_tests::{start, TestApp};
use chrono::Duration;

async fn shop_with_a_digest() -> (TestApp, String) {
    let config = ProgramConfig::from_toml_str("[owner]\nemail = \"owner@shop.example\"\nlocale = \"en\"").unwrap();
    let t = TestApp::with_config(config).await;
    t.buy("R-1", "c1", 250_000, 0).await;
    let digest = t.app.owner_digest(t.app.today(start()), start()).await.unwrap();
    let token = digest.view_url.split_once("/v1/reports/view?token=").expect("the page's address").1.to_owned();
    (t, token)
}

#[tokio::test]
async fn the_digest_link_opens_the_report_page_without_a_key_and_changes_nothing() {
    let (t, token) = shop_with_a_digest().await;
    let before = t.app.customer(&CustomerId::parse("c1").unwrap()).await.unwrap();
    let r = t.send(Method::GET, &format!("/v1/reports/view?token={token}"), None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(r.headers["cache-control"], "no-store");
    assert!(r.text.contains("Boomerang Shop: do the triggers pay for themselves?"), "{}", r.text);
    assert!(r.text.contains("All purchases in the period: 1,"), "today's purchase, read from the store: {}", r.text);
    assert_eq!(t.app.customer(&CustomerId::parse("c1").unwrap()).await.unwrap(), before);
    // A key changes nothing: the token is the credential.
    let keyed = t.send(Method::GET, &format!("/v1/reports/view?token={token}"), Some(&t.key), None).await;
    assert_eq!((keyed.status, keyed.text), (StatusCode::OK, r.text));
}

#[tokio::test]
async fn an_altered_or_missing_token_is_400_invalid_token() {
    let (t, token) = shop_with_a_digest().await;
    let altered = format!("{}{}", &token[..token.len() - 1], if token.ends_with('A') { 'B' } else { 'A' });
    for uri in [
        format!("/v1/reports/view?token={altered}"),
        format!("/v1/reports/view?token=x{token}"),
        "/v1/reports/view?token=".to_owned(),
        "/v1/reports/view".to_owned(),
    ] {
        let r = t.send(Method::GET, &uri, None, None).await;
        assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::BAD_REQUEST, "invalid_token", Some("token")), "{uri}: {}", r.text);
    }
}

#[tokio::test]
async fn a_link_older_than_seven_days_is_410_gone() {
    let (t, token) = shop_with_a_digest().await;
    let uri = format!("/v1/reports/view?token={token}");
    t.clock.set(start() + Duration::days(7) - Duration::seconds(1));
    assert_eq!(t.send(Method::GET, &uri, None, None).await.status, StatusCode::OK, "still within its 7 days");
    t.clock.set(start() + Duration::days(7));
    let r = t.send(Method::GET, &uri, None, None).await;
    assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::GONE, "link_expired", Some("token")), "{}", r.text);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("expired"), "{}", r.text);
}
