//! Test harness: a fresh app per test over its own embedded store, driven through the real
//! router with a clock the test controls.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use boomerang_api::{router, ApiState, FixedClock, StoreKeys};
use boomerang_core::Boomerang;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::ProfilePatch;
use boomerang_core::domain::ids::{Currency, CustomerId, Email, Phone, ReceiptId, StoreId, TerminalName};
use boomerang_core::domain::kinds::Channel;
use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::domain::purchase::{Backdating, PurchaseRequest};
use boomerang_core::domain::triggers::in_holdout;
use boomerang_sqlite::SqliteStore;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The instant every test starts at: 2026-11-24 10:00 in Moscow.
pub fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T10:00:00+03:00").unwrap().with_timezone(&Utc)
}

pub struct TestApp {
    pub app: Boomerang,
    pub clock: FixedClock,
    pub router: Router,
    pub key: String,
    pub admin_key: String,
    pub dir: tempfile::TempDir,
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestResponse {
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn error_field(&self) -> Option<&str> {
        self.body["error"]["field"].as_str()
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::with_config(ProgramConfig::defaults()).await
    }

    pub async fn with_config(config: ProgramConfig) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(SqliteStore::open(dir.path()).expect("open store"));
        let app = Boomerang::new(store, Arc::new(config));
        let clock = FixedClock::new(start());
        let key = app
            .issue_key(TerminalName::parse("till-1").unwrap(), false, [7; 32], start())
            .await
            .expect("issue key");
        let admin_key = app
            .issue_key(TerminalName::parse("office").unwrap(), true, [9; 32], start())
            .await
            .expect("issue admin key");
        let router = router(ApiState::new(app.clone(), Arc::new(clock.clone()), Arc::new(StoreKeys)));
        Self { app, clock, router, key, admin_key, dir }
    }

    /// Sends a request with the POS key, a raw body and optional extra headers.
    pub async fn send(&self, method: Method, uri: &str, key: Option<&str>, body: Option<Vec<u8>>) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(key) = key {
            builder = builder.header("authorization", format!("Bearer {key}"));
        }
        if body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        let request = builder.body(body.map(Body::from).unwrap_or_else(Body::empty)).unwrap();
        let response = self.router.clone().oneshot(request).await.expect("router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse { status, headers, body, text }
    }

    /// Posts an HTML form's fields (`application/x-www-form-urlencoded`), with no key.
    pub async fn post_form(&self, uri: &str, fields: &str) -> TestResponse {
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(fields.to_owned()))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.expect("router is infallible");
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse { status, headers, body, text: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.send(Method::GET, uri, Some(&self.key), None).await
    }
    pub async fn delete(&self, uri: &str) -> TestResponse {
        self.send(Method::DELETE, uri, Some(&self.key), None).await
    }
    pub async fn put(&self, uri: &str, body: Value) -> TestResponse {
        self.send(Method::PUT, uri, Some(&self.key), Some(body.to_string().into_bytes())).await
    }
    pub async fn post(&self, uri: &str, body: Value) -> TestResponse {
        self.send(Method::POST, uri, Some(&self.key), Some(body.to_string().into_bytes())).await
    }

    /// A purchase of `amount` minor units at the test's start time.
    pub async fn buy(&self, receipt: &str, customer: &str, amount: i64, redeem: i64) -> TestResponse {
        self.post(
            "/v1/purchases",
            serde_json::json!({
                "receipt_id": receipt, "customer_id": customer, "amount": amount, "currency": "RUB",
                "occurred_at": "2026-11-24T09:00:00+03:00", "store_id": "store-1", "redeem_points": redeem
            }),
        )
        .await
    }

    pub async fn balance(&self, customer: &str) -> u64 {
        self.get(&format!("/v1/customers/{customer}/balance")).await.body["balance"].as_u64().expect("balance")
    }

    /// `n` customer ids `{prefix}1`, `{prefix}2`, … that the program's holdout of `trigger`
    /// holds out (or does not) in `year`.
    pub fn holdout_ids(&self, trigger: TriggerKind, year: i32, prefix: &str, held_out: bool, n: usize) -> Vec<String> {
        let percent = self.app.config().trigger(trigger).holdout_percent;
        (1..)
            .map(|i| format!("{prefix}{i}"))
            .filter(|id| in_holdout(&CustomerId::parse(id).unwrap(), trigger, percent, year) == held_out)
            .take(n)
            .collect()
    }

    /// Enrolls `id` at `at` with an email address; `consent` false leaves nobody to message;
    /// `sms` gives a phone and prefers SMS.
    pub async fn enroll_contact(&self, id: &str, consent: bool, sms: bool, at: DateTime<Utc>) {
        let patch = ProfilePatch {
            email: Some(Some(Email::parse(&format!("{id}@example.ru")).unwrap())),
            phone: sms.then(|| Some(Phone::parse("+79161234567").unwrap())),
            consent_email: Some(consent),
            consent_sms: Some(sms),
            preferred_channel: sms.then_some(Some(Channel::Sms)),
            ..ProfilePatch::default()
        };
        self.app.enroll(&CustomerId::parse(id).unwrap(), &patch, at).await.expect("enroll");
    }

    /// A purchase through the use case (not the API), made and recorded at `at`, any age.
    pub async fn record_purchase(&self, receipt: &str, customer: &str, at: DateTime<Utc>, amount_minor: u64, redeem_points: u64) {
        let request = PurchaseRequest {
            receipt_id: ReceiptId::parse(receipt).unwrap(),
            customer_id: CustomerId::parse(customer).unwrap(),
            amount_minor,
            currency: Currency::parse("RUB").unwrap(),
            occurred_at: at.fixed_offset(),
            store_id: StoreId::parse("store-1").unwrap(),
            redeem_points,
        };
        self.app.purchase(&request, at, Backdating::AnyAge).await.expect("purchase");
    }
}
