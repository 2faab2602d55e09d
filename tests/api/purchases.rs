use axum::http::StatusCode;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::ids::{CustomerId, ReceiptId};
use boomerang_tests::TestApp;
use serde_json::json;

fn purchase(receipt: &str, amount: i64, redeem: i64, at: &str) -> serde_json::Value {
    json!({"receipt_id": receipt, "customer_id": "c1", "amount": amount, "currency": "RUB",
           "occurred_at": at, "store_id": "store-1", "redeem_points": redeem})
}

/// The customer's stored record and whether the receipt exists, to prove nothing changed.
async fn snapshot(t: &TestApp, receipt: &str) -> (Option<String>, bool) {
    let view = t
        .app
        .store()
        .purchase_view(&CustomerId::parse("c1").unwrap(), &ReceiptId::parse(receipt).unwrap())
        .await
        .unwrap();
    (view.customer.map(|c| format!("{c:?}")), view.receipt.is_some())
}

#[tokio::test]
async fn a_purchase_earns_five_percent_and_answers_201() {
    let t = TestApp::spawn().await;
    let r = t.buy("r1", "c1", 123_456, 0).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"receipt_id": "r1", "customer_id": "c1", "points_earned": 61, "points_redeemed": 0, "balance": 61})
    );
    assert!(r.headers.get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn an_unknown_customer_is_enrolled_on_the_spot_without_contacts() {
    let t = TestApp::spawn().await;
    t.buy("r1", "walk-in-7", 10_000, 0).await;
    let r = t.get("/v1/customers/walk-in-7").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["phone"].is_null() && r.body["email"].is_null());
    assert_eq!(r.body["balance"], 5);
}

#[tokio::test]
async fn spending_points_pays_part_of_the_receipt_and_earns_on_the_rest() {
    let t = TestApp::spawn().await;
    t.buy("r1", "c1", 200_000, 0).await; // 100 points
    let r = t.buy("r2", "c1", 10_000, 30).await; // pay 30 of 100.00 with points
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["points_redeemed"], 30);
    assert_eq!(r.body["points_earned"], 3); // 5% of 70.00
    assert_eq!(r.body["balance"], 73);
}

#[tokio::test]
async fn a_replayed_receipt_answers_200_with_the_same_body_and_the_replay_header() {
    let t = TestApp::spawn().await;
    let first = t.buy("r1", "c1", 100_000, 0).await;
    t.buy("r2", "c1", 100_000, 0).await;
    let again = t.buy("r1", "c1", 100_000, 0).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, first.body);
    assert_eq!(t.balance("c1").await, 100, "the replay earned nothing");
}

#[tokio::test]
async fn the_same_receipt_id_with_different_content_is_a_409_conflict() {
    let t = TestApp::spawn().await;
    t.buy("r1", "c1", 100_000, 0).await;
    let before = snapshot(&t, "r1").await;
    let r = t.buy("r1", "c1", 100_001, 0).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::CONFLICT, "receipt_conflict"));
    assert_eq!(r.error_field(), Some("receipt_id"));
    let r = t.buy("r1", "c2", 100_000, 0).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::CONFLICT, "receipt_conflict"));
    assert_eq!(snapshot(&t, "r1").await, before);
}

#[tokio::test]
async fn spending_more_than_the_balance_is_422_and_changes_nothing() {
    let t = TestApp::spawn().await;
    t.buy("r1", "c1", 100_000, 0).await; // 50 points
    let before = snapshot(&t, "r2").await;
    let r = t.buy("r2", "c1", 100_000, 51).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::UNPROCESSABLE_ENTITY, "insufficient_points"));
    assert_eq!(r.error_field(), Some("redeem_points"));
    assert_eq!(snapshot(&t, "r2").await, before);
    assert_eq!(t.balance("c1").await, 50);
}

#[tokio::test]
async fn spending_over_thirty_percent_of_the_receipt_is_422_and_changes_nothing() {
    let t = TestApp::spawn().await;
    t.buy("r1", "c1", 1_000_000, 0).await; // 500 points
    let before = snapshot(&t, "r2").await;
    let r = t.buy("r2", "c1", 10_000, 31).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::UNPROCESSABLE_ENTITY, "redeem_cap_exceeded"));
    assert_eq!(snapshot(&t, "r2").await, before);
    assert_eq!(t.buy("r2", "c1", 10_000, 30).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_purchase_more_than_five_minutes_ahead_is_422() {
    let t = TestApp::spawn().await;
    let r = t.post("/v1/purchases", purchase("r1", 1000, 0, "2026-11-24T10:05:01+03:00")).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::UNPROCESSABLE_ENTITY, "occurred_at_in_future"));
    assert_eq!(r.error_field(), Some("occurred_at"));
    let r = t.post("/v1/purchases", purchase("r1", 1000, 0, "2026-11-24T10:04:59+03:00")).await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn an_offline_receipt_may_be_backdated_up_to_thirty_days() {
    let t = TestApp::spawn().await;
    let r = t.post("/v1/purchases", purchase("r1", 1000, 0, "2026-10-25T10:00:01+03:00")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t.post("/v1/purchases", purchase("r2", 1000, 0, "2026-10-25T09:59:59+03:00")).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::UNPROCESSABLE_ENTITY, "occurred_at_too_old"));
}

#[tokio::test]
async fn a_backdated_purchase_never_moves_the_last_purchase_date_backwards() {
    let t = TestApp::spawn().await;
    t.post("/v1/purchases", purchase("r1", 1000, 0, "2026-11-24T09:00:00+03:00")).await;
    t.post("/v1/purchases", purchase("r2", 1000, 0, "2026-11-10T09:00:00+03:00")).await;
    let record = t.app.customer(&CustomerId::parse("c1").unwrap()).await.unwrap();
    assert_eq!(record.account.last_purchase_on, Some("2026-11-24".parse().unwrap()));
}

#[tokio::test]
async fn a_receipt_in_another_currency_is_422() {
    let t = TestApp::spawn().await;
    let mut body = purchase("r1", 1000, 0, "2026-11-24T09:00:00+03:00");
    body["currency"] = json!("EUR");
    let r = t.post("/v1/purchases", body).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::UNPROCESSABLE_ENTITY, "currency_mismatch"));
    assert_eq!(r.error_field(), Some("currency"));
}

#[tokio::test]
async fn with_stores_listed_a_receipt_from_another_store_is_422_unknown_store_and_changes_nothing() {
    let config = ProgramConfig::from_toml_str(
        "[stores.store-1]\nname = \"Tverskaya\"\ncity = \"Moscow\"\n[stores.store-2]\nname = \"Arbat\"",
    )
    .unwrap();
    let t = TestApp::with_config(config).await;
    let mut body = purchase("r1", 1000, 0, "2026-11-24T09:00:00+03:00");
    body["store_id"] = json!("store-9");
    let r = t.post("/v1/purchases", body).await;
    assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_store", Some("store_id")));
    assert_eq!(r.body["error"]["message"], "store_id \"store-9\" is not one of the program's stores (store-1, store-2)");
    assert_eq!(snapshot(&t, "r1").await, (None, false), "nothing recorded");
    let r = t.post("/v1/purchases", purchase("r1", 1000, 0, "2026-11-24T09:00:00+03:00")).await;
    assert_eq!(r.status, StatusCode::CREATED, "a listed store: {}", r.text);
    // Without a [stores] table any store_id is taken, as before.
    let t = TestApp::spawn().await;
    let mut body = purchase("r1", 1000, 0, "2026-11-24T09:00:00+03:00");
    body["store_id"] = json!("store-9");
    assert_eq!(t.post("/v1/purchases", body).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn fifty_parallel_spends_never_overdraw_one_balance() {
    let t = TestApp::spawn().await;
    // 300 points: 600,000.00? No: 5% of 6,000.00 = 300 points.
    t.buy("seed", "c1", 600_000, 0).await;
    assert_eq!(t.balance("c1").await, 300);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let router = t.router.clone();
        let key = t.key.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"receipt_id": format!("spend-{i}"), "customer_id": "c1", "amount": 3_000,
                              "currency": "RUB", "occurred_at": "2026-11-24T09:30:00+03:00",
                              "store_id": "s1", "redeem_points": 9});
            let request = axum::http::Request::post("/v1/purchases")
                .header("authorization", format!("Bearer {key}"))
                .body(axum::body::Body::from(body.to_string()))
                .unwrap();
            let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
            let status = response.status();
            let bytes = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
            (status, serde_json::from_slice::<serde_json::Value>(&bytes).unwrap())
        }));
    }
    let mut spent = 0;
    let mut earned = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            StatusCode::CREATED => {
                spent += body["points_redeemed"].as_u64().unwrap();
                earned += body["points_earned"].as_u64().unwrap();
            }
            StatusCode::UNPROCESSABLE_ENTITY => assert_eq!(body["error"]["code"], "insufficient_points"),
            StatusCode::SERVICE_UNAVAILABLE => assert_eq!(body["error"]["code"], "contention"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let balance = t.balance("c1").await;
    assert_eq!(balance + spent, 300 + earned, "what succeeded is exactly what left the balance");
    assert!(spent > 0);
    assert!(spent <= 300 + earned);
}
