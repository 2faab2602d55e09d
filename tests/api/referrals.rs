use axum::http::StatusCode;
use boomerang_tests::TestApp;
use serde_json::json;

/// Enrolls Anna and returns her referral code as the profile shows it.
async fn annas_code(t: &TestApp) -> String {
    let r = t.put("/v1/customers/anna", json!({"phone": "+79160000001", "email": "anna@example.ru"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let code = r.body["referral_code"].as_str().expect("a referral code").to_owned();
    assert_eq!(t.get("/v1/customers/anna").await.body["referral_code"], code.as_str(), "the same code on GET");
    code
}

#[tokio::test]
async fn a_code_is_checked_at_the_till_without_revealing_its_owner() {
    let t = TestApp::spawn().await;
    let code = annas_code(&t).await;
    assert_eq!(code.len(), 6);
    let r = t.get(&format!("/v1/referrals/{}", code.to_lowercase())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({"code": code, "valid": true}), "nothing about Anna");
    let unknown = if code == "000000" { "000001" } else { "000000" };
    assert_eq!(t.get(&format!("/v1/referrals/{unknown}")).await.body["valid"], false);
    let r = t.get("/v1/referrals/ABCDEU").await;
    assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::BAD_REQUEST, "invalid_field", Some("code")));
}

#[tokio::test]
async fn a_friend_enrolls_with_a_code_once_and_refusals_are_422_invalid_referral() {
    let t = TestApp::spawn().await;
    let code = annas_code(&t).await;
    let r = t.put("/v1/customers/boris", json!({"phone": "+79160000001", "referred_by": code})).await;
    assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_referral", Some("referred_by")));
    assert!(r.text.contains("same phone or email"), "{}", r.text);
    assert_eq!(t.get("/v1/customers/boris").await.status, StatusCode::NOT_FOUND, "nothing written");

    let r = t.put("/v1/customers/anna", json!({"referred_by": code})).await;
    assert_eq!(r.error_code(), "invalid_referral");
    assert!(r.text.contains("own referral code"), "{}", r.text);

    let r = t.put("/v1/customers/boris", json!({"phone": "+79160000002", "referred_by": code.to_lowercase()})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t.put("/v1/customers/boris", json!({"referred_by": code})).await;
    assert_eq!(r.status, StatusCode::OK, "the same code again is a no-op");
    t.put("/v1/customers/vera", json!({})).await;
    let veras = t.get("/v1/customers/vera").await.body["referral_code"].as_str().unwrap().to_owned();
    let r = t.put("/v1/customers/boris", json!({"referred_by": veras})).await;
    assert_eq!(r.error_code(), "invalid_referral");
    assert!(r.text.contains("already referred"), "{}", r.text);

    t.buy("g-1", "gleb", 10_000, 0).await;
    let r = t.put("/v1/customers/gleb", json!({"referred_by": code})).await;
    assert!(r.text.contains("already has purchases"), "{}", r.text);
    let r = t.put("/v1/customers/gleb", json!({"referred_by": "12345"})).await;
    assert_eq!((r.status, r.error_field()), (StatusCode::BAD_REQUEST, Some("referred_by")));
}

#[tokio::test]
async fn the_friends_first_qualifying_purchase_brings_the_referral_points() {
    let t = TestApp::spawn().await;
    let code = annas_code(&t).await;
    t.put("/v1/customers/boris", json!({"referred_by": code})).await;
    let r = t.buy("b-1", "boris", 100_000, 0).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["balance"], 250, "50 earned + 200 for the referral");
    assert_eq!(t.get("/v1/customers/boris/balance").await.body["balance"], 250);
    assert_eq!(t.buy("b-2", "boris", 100_000, 0).await.body["balance"], 300, "once only");
}
