use axum::http::{Method, StatusCode};
use boomerang_core::domain::ids::TerminalName;
use boomerang_tests::{start, TestApp};

#[tokio::test]
async fn a_request_without_a_key_is_refused_with_401() {
    let t = TestApp::spawn().await;
    let r = t.send(Method::GET, "/v1/customers/c1", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "unauthorized");
    assert_eq!(r.headers["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn an_unknown_key_is_refused_with_401() {
    let t = TestApp::spawn().await;
    let r = t.send(Method::GET, "/v1/customers/c1", Some("bmr_not-a-real-key"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = t.send(Method::GET, "/v1/customers/c1", Some("something-else"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once() {
    let t = TestApp::spawn().await;
    assert_eq!(t.put("/v1/customers/c1", serde_json::json!({})).await.status, StatusCode::CREATED);
    let revoked = t.app.store().revoke_key(&TerminalName::parse("till-1").unwrap(), start()).await.unwrap();
    assert_eq!(revoked, 1);
    let r = t.get("/v1/customers/c1").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn authentication_comes_before_reading_the_body_or_writing_anything() {
    let t = TestApp::spawn().await;
    let r = t.send(Method::POST, "/v1/purchases", None, Some(b"{not json".to_vec())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = t
        .send(Method::PUT, "/v1/customers/c1", Some("bmr_wrong"), Some(b"{}".to_vec()))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get("/v1/customers/c1").await.status, StatusCode::NOT_FOUND, "nothing was enrolled");
}

#[tokio::test]
async fn every_keyed_route_requires_the_key() {
    let t = TestApp::spawn().await;
    for (method, uri) in [
        (Method::PUT, "/v1/customers/c1"),
        (Method::GET, "/v1/customers/c1"),
        (Method::DELETE, "/v1/customers/c1"),
        (Method::GET, "/v1/customers/c1/balance"),
        (Method::POST, "/v1/purchases"),
        (Method::POST, "/v1/refunds"),
    ] {
        let r = t.send(method.clone(), uri, None, Some(b"{}".to_vec())).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let t = TestApp::spawn().await;
    let r = t.get("/v1/nope").await;
    assert_eq!((r.status, r.error_code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = t.send(Method::PATCH, "/v1/purchases", Some(&t.key), None).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let t = TestApp::spawn().await;
    t.put("/v1/customers/c1", serde_json::json!({})).await;
    let request = axum::http::Request::get("/v1/customers/c1")
        .header("authorization", format!("bearer {}", t.key))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(t.router.clone(), request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
