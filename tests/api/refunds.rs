use axum::http::StatusCode;
use boomerang_tests::TestApp;
use serde_json::json;

fn refund(id: &str, receipt: &str, amount: i64) -> serde_json::Value {
    json!({"refund_id": id, "receipt_id": receipt, "amount": amount, "occurred_at": "2026-11-24T09:45:00+03:00"})
}

#[tokio::test]
async fn a_full_refund_claws_back_all_earned_and_restores_all_spent_points() {
    let t = TestApp::spawn().await;
    t.buy("r1", "c1", 400_000, 0).await; // 200 points
    let r = t.buy("r2", "c1", 99_900, 99).await; // earns 5% of 900.00 = 45
    assert_eq!(r.body["balance"], 200 - 99 + 45);
    let r = t.post("/v1/refunds", refund("f1", "r2", 99_900)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["refund_id"], "f1");
    assert_eq!(r.body["points_clawed_back"], 45);
    assert_eq!(r.body["points_restored"], 99);
    assert_eq!(r.body["balance"], 200);
}

#[tokio::test]
async fn partial_refunds_accumulate_and_round_on_the_running_total() {
    let t = TestApp::spawn().await;
    t.buy("r1", "c1", 400_000, 0).await; // 200 points
    t.buy("r2", "c1", 99_900, 99).await; // earns 45, spends 99
    let mut clawed = 0;
    let mut restored = 0;
    for (i, amount) in [33_300, 33_300, 33_300].into_iter().enumerate() {
        let r = t.post("/v1/refunds", refund(&format!("f{i}"), "r2", amount)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        clawed += r.body["points_clawed_back"].as_u64().unwrap();
        restored += r.body["points_restored"].as_u64().unwrap();
    }
    // Rounded per refund, 15 + 15 + 15 and 33 + 33 + 33 happen to be exact; the totals must be.
    assert_eq!((clawed, restored), (45, 99));
    assert_eq!(t.balance("c1").await, 200);
    let r = t.post("/v1/refunds", refund("f9", "r2", 1)).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::UNPROCESSABLE_ENTITY, "refund_exceeds_remaining"));
    assert_eq!(r.error_field(), Some("amount"));
}

#[tokio::test]
async fn rounding_follows_the_running_total_not_each_refund() {
    let t = TestApp::spawn().await;
    t.buy("r1", "c1", 10_000, 0).await; // earns 5 points on 100.00
    // Three refunds of 33.33, 33.33, 33.34: per-refund rounding would claw back 1+1+1 = 3.
    let amounts = [3_333, 3_333, 3_334];
    let expected = [1, 2, 2]; // floor(5*33.33/100)=1, floor(5*66.66/100)=3 → +2, 5 → +2
    for (i, (amount, want)) in amounts.into_iter().zip(expected).enumerate() {
        let r = t.post("/v1/refunds", refund(&format!("f{i}"), "r1", amount)).await;
        assert_eq!(r.body["points_clawed_back"], want, "refund {i}: {}", r.text);
    }
    assert_eq!(t.balance("c1").await, 0);
}

#[tokio::test]
async fn a_refund_of_points_already_spent_takes_what_is_left_and_writes_off_the_rest() {
    let t = TestApp::spawn().await;
    t.buy("r1", "c1", 100_000, 0).await; // 50 points
    t.buy("r2", "c1", 20_000, 40).await; // spends 40, earns 8: balance 18
    let r = t.post("/v1/refunds", refund("f1", "r1", 100_000)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["points_clawed_back"], 18);
    assert_eq!(r.body["points_written_off"], 32);
    assert_eq!(r.body["balance"], 0, "the balance never goes negative");
}

#[tokio::test]
async fn a_replayed_refund_answers_200_and_a_reused_refund_id_is_409() {
    let t = TestApp::spawn().await;
    t.buy("r1", "c1", 100_000, 0).await;
    let first = t.post("/v1/refunds", refund("f1", "r1", 50_000)).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = t.post("/v1/refunds", refund("f1", "r1", 50_000)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, first.body);
    assert_eq!(t.balance("c1").await, 25);
    let r = t.post("/v1/refunds", refund("f1", "r1", 10_000)).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::CONFLICT, "refund_conflict"));
    assert_eq!(t.balance("c1").await, 25);
}

#[tokio::test]
async fn a_refund_of_an_unknown_receipt_is_404() {
    let t = TestApp::spawn().await;
    let r = t.post("/v1/refunds", refund("f1", "nope", 100)).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::NOT_FOUND, "receipt_not_found"));
}

#[tokio::test]
async fn a_refund_dated_before_its_purchase_or_in_the_future_is_422() {
    let t = TestApp::spawn().await;
    t.buy("r1", "c1", 100_000, 0).await;
    let mut body = refund("f1", "r1", 100);
    body["occurred_at"] = json!("2026-11-24T08:00:00+03:00");
    let r = t.post("/v1/refunds", body.clone()).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::UNPROCESSABLE_ENTITY, "refund_before_purchase"));
    body["occurred_at"] = json!("2026-11-24T11:00:00+03:00");
    let r = t.post("/v1/refunds", body).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::UNPROCESSABLE_ENTITY, "occurred_at_in_future"));
    assert_eq!(t.balance("c1").await, 50);
}

#[tokio::test]
async fn a_refund_may_name_its_customer_and_is_refused_when_the_name_is_wrong_or_bad() {
    let t = TestApp::spawn().await;
    t.buy("r1", "c1", 100_000, 0).await; // 50 points
    t.buy("r2", "c2", 100_000, 0).await;
    let mut body = refund("f1", "r1", 50_000);
    body["customer_id"] = json!("c2");
    let r = t.post("/v1/refunds", body.clone()).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::UNPROCESSABLE_ENTITY, "receipt_customer_mismatch"));
    assert_eq!(r.error_field(), Some("customer_id"));
    body["customer_id"] = json!("c 1");
    let r = t.post("/v1/refunds", body.clone()).await;
    assert_eq!((r.status, r.error_code(), r.error_field()), (StatusCode::BAD_REQUEST, "invalid_field", Some("customer_id")));
    assert_eq!((t.balance("c1").await, t.balance("c2").await), (50, 50), "the refused refunds changed nothing");

    body["customer_id"] = json!("c1");
    let r = t.post("/v1/refunds", body.clone()).await;
    assert_eq!((r.status, &r.body["points_clawed_back"]), (StatusCode::CREATED, &json!(25)), "{}", r.text);
    body["customer_id"] = json!(null);
    let again = t.post("/v1/refunds", body).await;
    assert_eq!((again.status, again.body.clone()), (StatusCode::OK, r.body), "a retry without the name is a replay");
    assert_eq!(t.balance("c1").await, 25);
}
