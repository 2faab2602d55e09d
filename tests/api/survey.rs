use axum::http::{Method, StatusCode};
use boomerang_core::app::sweep::SweepOptions;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::kinds::MessageKind;
use boomerang_store_contract::sweep_cases::RecordingMessenger;
use boomerang_tests::{start, TestApp, TestResponse};
use chrono::Duration;
use serde_json::json;

/// A shop that asks every purchaser; Anna (email, English) bought at the start and was asked
/// the next day. Returns her survey link's token, read from the message.
async fn asked() -> (TestApp, String) {
    let t = TestApp::with_config(ProgramConfig::from_toml_str("[survey]\nsample_percent = 100").unwrap()).await;
    t.put("/v1/customers/c1", json!({"email": "anna@example.ru", "consent": {"email": true}, "locale": "en"})).await;
    assert_eq!(t.buy("R-1", "c1", 250_000, 0).await.status, StatusCode::CREATED);
    let messenger = RecordingMessenger::default();
    let next_day = start() + Duration::days(1);
    t.clock.set(next_day);
    let date = t.app.today(next_day);
    t.app.sweep(&messenger, date, next_day, SweepOptions::default()).await.unwrap();
    let survey = messenger.sent().into_iter().find(|m| m.key.kind == MessageKind::Survey).expect("a survey message");
    let (_, rest) = survey.text.split_once("/v1/survey?token=").unwrap();
    let token = rest.split_whitespace().next().unwrap().to_owned();
    (t, token)
}

fn is_html(r: &TestResponse) -> bool {
    r.headers["content-type"].to_str().unwrap().starts_with("text/html")
}

#[tokio::test]
async fn the_link_opens_a_small_page_with_eleven_buttons_and_no_scripts() {
    let (t, token) = asked().await;
    let r = t.send(Method::GET, &format!("/v1/survey?token={token}"), None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(is_html(&r) && r.headers["cache-control"] == "no-store");
    assert!(r.text.contains("Boomerang Shop") && r.text.contains("How likely are you to recommend Boomerang Shop"), "{}", r.text);
    assert_eq!(r.text.matches("name=\"score\"").count(), 11, "{}", r.text);
    assert!(r.text.contains("name=\"viewport\"") && !r.text.contains("<script") && !r.text.contains("http"), "self-contained: {}", r.text);
    assert!(r.text.contains(&format!("<form method=\"post\" action=\"survey?token={token}\">")), "relative link: {}", r.text);
    assert!(r.text.contains("maxlength=\"1000\"") && r.text.contains("store-1"), "{}", r.text);
}

#[tokio::test]
async fn a_tap_on_the_form_records_the_score_and_thanks_a_promoter_with_their_code() {
    let (t, token) = asked().await;
    let r = t.post_form(&format!("/v1/survey?token={token}"), "comment=Lovely+staff&score=9").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(is_html(&r) && r.text.contains("Thank you for your answer!"), "{}", r.text);
    let code = t.get("/v1/customers/c1").await.body["referral_code"].as_str().unwrap().to_owned();
    assert!(r.text.contains(&format!("<b>{code}</b>")), "the promoter's invitation: {}", r.text);
    let page = t.send(Method::GET, &format!("/v1/survey?token={token}"), None, None).await;
    assert!(page.text.contains("You answered 9"), "{}", page.text);
    // A passive is thanked without an invitation.
    let r = t.post_form(&format!("/v1/survey?token={token}"), "score=7&comment=").await;
    assert!(r.text.contains("Thank you") && !r.text.contains(&code), "{}", r.text);
}

#[tokio::test]
async fn a_json_answer_is_recorded_replaced_within_seven_days_then_closed() {
    let (t, token) = asked().await;
    let uri = format!("/v1/survey?token={token}");
    let r = t.send(Method::POST, &uri, None, Some(json!({"score": 4, "comment": "queue"}).to_string().into_bytes())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"survey_id": "c1:2026-11-24", "score": 4, "comment": "queue", "store_id": "store-1", "receipt_id": "R-1",
               "purchased_on": "2026-11-24", "answered_on": "2026-11-25", "replaced": false, "referral_code": null})
    );
    t.clock.advance(Duration::days(6));
    let r = t.send(Method::POST, &uri, None, Some(json!({"score": 10}).to_string().into_bytes())).await;
    assert_eq!((r.status, r.body["replaced"].clone(), r.body["comment"].clone()), (StatusCode::OK, json!(true), json!(null)));
    assert!(r.body["referral_code"].is_string());
    t.clock.advance(Duration::days(2));
    let r = t.send(Method::POST, &uri, None, Some(json!({"score": 1}).to_string().into_bytes())).await;
    assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::CONFLICT, "survey_closed", None), "{}", r.text);
}

#[tokio::test]
async fn bad_links_and_bad_answers_are_refused_with_the_field_named() {
    let (t, token) = asked().await;
    let uri = format!("/v1/survey?token={token}");
    for bad in ["/v1/survey", "/v1/survey?token=", "/v1/survey?token=abc.def"] {
        let r = t.send(Method::GET, bad, None, None).await;
        assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::BAD_REQUEST, "invalid_token", Some("token")), "{bad}");
        let r = t.send(Method::POST, bad, None, Some(json!({"score": 5}).to_string().into_bytes())).await;
        assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, "invalid_token"), "{bad}");
    }
    for (body, field) in [
        (json!({"score": 11}), "score"),
        (json!({"score": -1}), "score"),
        (json!({"score": 5, "comment": "x".repeat(1001)}), "comment"),
    ] {
        let r = t.send(Method::POST, &uri, None, Some(body.to_string().into_bytes())).await;
        assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::BAD_REQUEST, "invalid_field", Some(field)), "{}", r.text);
    }
    let r = t.send(Method::POST, &uri, None, Some(json!({"score": "9"}).to_string().into_bytes())).await;
    assert_eq!((r.status, r.error_field()), (StatusCode::BAD_REQUEST, Some("score")), "{}", r.text);
    let r = t.post_form(&uri, "score=ten").await;
    assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::BAD_REQUEST, "invalid_field", Some("score")));
    t.clock.advance(Duration::days(31));
    for method in [Method::GET, Method::POST] {
        let r = t.send(method.clone(), &uri, None, Some(json!({"score": 5}).to_string().into_bytes())).await;
        assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::GONE, "survey_expired", Some("token")), "{method}");
    }
}

#[tokio::test]
async fn a_json_body_labelled_a_form_as_curl_d_sends_it_is_read_as_json() {
    let (t, token) = asked().await;
    let r = t.post_form(&format!("/v1/survey?token={token}"), r#"{"score": 10}"#).await;
    assert_eq!((r.status, r.body["score"].clone()), (StatusCode::OK, json!(10)), "{}", r.text);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("application/json"));
}
