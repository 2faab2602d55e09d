//! Every sample event in events/ through the functions' own code: the API events through
//! each function's router (behind the authorizer's context), the authorizer's and the
//! sweep's events through their handlers. The embedded store stands in for DynamoDB here;
//! tests/lambda_e2e.py runs the real binaries against the emulator.

use std::sync::Arc;

use boomerang_api::{FixedClock, RouteGroup};
use boomerang_core::Boomerang;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::ids::TerminalName;
use boomerang_lambda::{api_router_with_clock, authorize, principal_from_context, ScheduledEvent};
use boomerang_lambda::lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use boomerang_sqlite::SqliteStore;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

fn event(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"))).expect(name)
}

async fn app() -> (Boomerang, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let app = Boomerang::new(store, Arc::new(ProgramConfig::defaults()));
    let at = "2026-11-24T07:00:00Z".parse().unwrap();
    // The events carry the key made from 32 bytes of 3s.
    app.issue_key(TerminalName::parse("till-1").unwrap(), false, [3; 32], at).await.unwrap();
    (app, dir)
}

async fn invoke(app: &Boomerang, group: RouteGroup, name: &str) -> (u16, Value) {
    let clock = FixedClock::new("2026-11-24T07:40:00Z".parse().unwrap());
    let router = api_router_with_clock(app.clone(), group, Arc::new(clock));
    let request = boomerang_lambda::lambda_http::request::from_str(&event(name)).expect(name);
    let response = router.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_api_event_gets_the_answer_its_name_says() {
    let (app, _dir) = app().await;
    use RouteGroup::{Balance, Customers, Purchases};
    let script: &[(RouteGroup, &str, u16, Option<&str>)] = &[
        (Customers, "customers/put-customer.json", 201, None),
        (Customers, "customers/put-customer-bad-phone.json", 400, Some("invalid_field")),
        (Purchases, "purchases/post-purchase.json", 201, None),
        (Purchases, "purchases/post-purchase.json", 200, None),
        (Purchases, "purchases/post-purchase-conflict.json", 409, Some("receipt_conflict")),
        (Purchases, "purchases/post-purchase-with-spend.json", 201, None),
        (Purchases, "purchases/post-purchase-insufficient-points.json", 422, Some("insufficient_points")),
        (Purchases, "purchases/post-purchase-bad-amount.json", 400, Some("invalid_field")),
        (Purchases, "purchases/post-purchase-malformed-json.json", 400, Some("malformed_json")),
        (Purchases, "purchases/post-purchase-revoked-key.json", 401, Some("unauthorized")),
        (Purchases, "purchases/post-refund.json", 201, None),
        (Purchases, "purchases/post-refund-unknown-receipt.json", 404, Some("receipt_not_found")),
        (Purchases, "purchases/post-refund-too-much.json", 422, Some("refund_exceeds_remaining")),
        (Balance, "balance/get-customer.json", 200, None),
        (Balance, "balance/get-balance.json", 200, None),
        (Balance, "balance/get-customer-not-found.json", 404, Some("customer_not_found")),
        (Balance, "balance/get-balance-unauthenticated.json", 401, Some("unauthorized")),
        (Customers, "customers/unsubscribe-one-click.json", 400, Some("invalid_token")),
        // The digest's report link, forged: no key needed to be told so.
        (Balance, "balance/get-report-view-forged.json", 400, Some("invalid_token")),
        (Customers, "customers/delete-customer.json", 204, None),
    ];
    for (group, name, status, code) in script {
        let (got, body) = invoke(&app, *group, name).await;
        assert_eq!(got, *status, "{name}: {body}");
        if let Some(code) = code {
            assert_eq!(body["error"]["code"], *code, "{name}: {body}");
        }
    }
    let (_, balance) = invoke(&app, Balance, "balance/get-balance.json").await;
    // 125 earned, 100 spent, 45 earned; half refunded: +50 restored, -22 clawed back.
    assert_eq!(balance["balance"], 98, "{balance}");
}

#[tokio::test]
async fn each_function_serves_only_its_own_routes() {
    let (app, _dir) = app().await;
    for (group, name) in [
        (RouteGroup::Balance, "purchases/post-purchase.json"),
        (RouteGroup::Customers, "balance/get-balance.json"),
        (RouteGroup::Purchases, "customers/put-customer.json"),
    ] {
        let (status, body) = invoke(&app, group, name).await;
        assert!(status == 404 || status == 405, "{group:?} served {name}: {status} {body}");
    }
    let (status, _) = invoke(&app, RouteGroup::Balance, "customers/delete-customer.json").await;
    assert_eq!(status, 405, "the read-only function has no DELETE");
}

#[tokio::test]
async fn the_authorizer_passes_the_terminal_of_a_live_key_and_flags_an_unknown_one() {
    let (app, _dir) = app().await;
    let request: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_str(&event("authorizer/request.json")).unwrap();
    let answer = authorize(&app, &request).await.unwrap();
    assert!(answer.is_authorized);
    let fields = serde_json::from_value(answer.context.clone()).unwrap();
    let principal = principal_from_context(&fields).expect("a principal");
    assert_eq!((principal.terminal.as_str(), principal.admin), ("till-1", false));

    let request: ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_str(&event("authorizer/request-unknown-key.json")).unwrap();
    let answer = authorize(&app, &request).await.unwrap();
    assert_eq!(answer.context, serde_json::json!({"authenticated": false}));
    let fields = serde_json::from_value(answer.context).unwrap();
    assert!(principal_from_context(&fields).is_none());

    app.store().revoke_key(&TerminalName::parse("till-1").unwrap(), "2026-11-24T08:00:00Z".parse().unwrap()).await.unwrap();
    let request: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_str(&event("authorizer/request.json")).unwrap();
    assert_eq!(authorize(&app, &request).await.unwrap().context, serde_json::json!({"authenticated": false}));
}

#[test]
fn the_scheduled_event_names_the_local_sweep_date() {
    let event: ScheduledEvent = serde_json::from_str(&event("sweep/scheduled.json")).unwrap();
    let config = ProgramConfig::defaults();
    assert_eq!(boomerang_lambda::sweep_date(&event, &config).to_string(), "2026-11-24");
    // 21:30 UTC is already the next day in Moscow.
    let late = ScheduledEvent { time: "2026-11-24T21:30:00Z".parse().unwrap(), id: None };
    assert_eq!(boomerang_lambda::sweep_date(&late, &config).to_string(), "2026-11-25");
}
