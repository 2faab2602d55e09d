//! What every Boomerang Lambda function shares. Each function's `main` is the same four
//! steps: init tracing, load config, build clients once, run the handler.

use std::sync::Arc;

use async_trait::async_trait;
use boomerang_api::{router_for, ApiState, Authenticator, RouteGroup, SystemClock};
use boomerang_core::{Boomerang, Error};
use boomerang_core::domain::auth::Principal;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::ids::TerminalName;
use boomerang_dynamodb::DynamoStore;
use lambda_http::http::{Extensions, HeaderMap};
use lambda_http::request::RequestContext;
use serde_json::Value;

pub use lambda_http;

/// The environment variable naming the tenant's table.
pub const TABLE_ENV: &str = "BOOMERANG_TABLE";

/// JSON logs for CloudWatch: no ANSI, no timestamps (CloudWatch adds them), level from
/// `RUST_LOG` (default info). Handlers never log contacts, names or customer ids.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_target(false)
        .with_current_span(false)
        .without_time()
        .with_ansi(false)
        .init();
}

/// A cold-start failure: the function cannot serve without its table or program.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{TABLE_ENV} is not set")]
    NoTable,
    #[error("the store is unavailable: {0}")]
    Store(#[from] boomerang_core::ports::StoreError),
    #[error("the tenant's program in the table is invalid: {0}")]
    Program(#[from] boomerang_core::domain::config::ConfigError),
}

/// The store and the tenant's program, built once per cold start. The program is the one
/// the deploy pushed into the table; the defaults until one was pushed.
pub async fn build_app() -> Result<(Boomerang, Arc<DynamoStore>), StartError> {
    let table = std::env::var(TABLE_ENV).map_err(|_| StartError::NoTable)?;
    let store = Arc::new(DynamoStore::from_env(&table).await?);
    let config = match store.program_toml().await? {
        Some(text) => ProgramConfig::from_toml_str(&text)?,
        None => ProgramConfig::defaults(),
    };
    Ok((Boomerang::new(store.clone(), Arc::new(config)), store))
}

/// The principal API Gateway's Lambda authorizer put into the request context.
/// The authorizer answers every request it sees (`authenticated` false for an unknown or
/// revoked key) so that the function can answer the API's own 401 body: an HTTP API turns
/// `isAuthorized: false` into a bare 403.
pub struct AuthorizerContext;

#[async_trait]
impl Authenticator for AuthorizerContext {
    async fn authenticate(&self, _: &Boomerang, _: &HeaderMap, extensions: &Extensions) -> Result<Principal, Error> {
        let Some(RequestContext::ApiGatewayV2(context)) = extensions.get::<RequestContext>() else {
            return Err(Error::Unauthorized);
        };
        let fields = context.authorizer.as_ref().map(|a| &a.fields).ok_or(Error::Unauthorized)?;
        principal_from_context(fields).ok_or(Error::Unauthorized)
    }
}

/// Reads `{"authenticated": true, "terminal": "...", "admin": bool}`.
pub fn principal_from_context(fields: &std::collections::HashMap<String, Value>) -> Option<Principal> {
    if fields.get("authenticated").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    let terminal = TerminalName::parse(fields.get("terminal")?.as_str()?).ok()?;
    let admin = fields.get("admin").and_then(Value::as_bool).unwrap_or(false);
    Some(Principal { terminal, admin })
}

/// The authorizer context for a principal (or for a refused key).
pub fn context_for(principal: Option<&Principal>) -> Value {
    match principal {
        Some(p) => serde_json::json!({"authenticated": true, "terminal": p.terminal.as_str(), "admin": p.admin}),
        None => serde_json::json!({"authenticated": false}),
    }
}

/// The API router of one function, behind API Gateway's authorizer.
pub fn api_router(app: Boomerang, group: RouteGroup) -> boomerang_api::axum::Router {
    api_router_with_clock(app, group, Arc::new(SystemClock))
}

/// The same, with the clock given (tests replay recorded events at their own time).
pub fn api_router_with_clock(
    app: Boomerang,
    group: RouteGroup,
    clock: Arc<dyn boomerang_api::Clock>,
) -> boomerang_api::axum::Router {
    router_for(ApiState::new(app, clock, Arc::new(AuthorizerContext)), group)
}

/// `main` of an API function: tracing, app, then serve its route group.
pub async fn run_api(group: RouteGroup) -> Result<(), lambda_http::Error> {
    init_tracing();
    let (app, _store) = build_app().await?;
    lambda_http::run(api_router(app, group)).await
}

/// The authorizer's answer for one request: authorized with the principal in the context,
/// or authorized with `authenticated: false` so the function answers the API's own 401
/// before it reads anything. Store failures are errors (API Gateway answers 500, not cached).
pub async fn authorize(
    app: &Boomerang,
    request: &lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request,
) -> Result<lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerSimpleResponse, Error> {
    let header = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.identity_source.as_ref().and_then(|s| s.first()).map(String::as_str));
    let principal = match app.authenticate(header).await {
        Ok(p) => Some(p),
        Err(Error::Unauthorized) => None,
        Err(e) => return Err(e),
    };
    tracing::info!(authenticated = principal.is_some(), "authorized");
    let mut response = lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.is_authorized = true;
    response.context = context_for(principal.as_ref());
    Ok(response)
}

/// The EventBridge Scheduler event the sweep receives: the schedule's target input is this
/// envelope with `time` set to `<aws.scheduler.scheduled-time>`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ScheduledEvent {
    pub time: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    pub id: Option<String>,
}

/// The sweep date: the scheduled time as a local date in the tenant's timezone.
pub fn sweep_date(event: &ScheduledEvent, config: &ProgramConfig) -> chrono::NaiveDate {
    config.local_date(event.time)
}
