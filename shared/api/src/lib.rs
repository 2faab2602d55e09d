//! The POS HTTP API v1 as one axum router. `boomerang serve` runs it on a socket and the
//! Lambda functions run the very same router behind API Gateway.

pub use axum;

pub mod body;
pub mod dto;
pub mod error;
pub mod pages;
pub mod survey;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{header, Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::{Json, Router};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use boomerang_core::{Boomerang, Error};
use boomerang_core::domain::auth::Principal;
use boomerang_core::domain::customer::{ConsentSource, CustomerRecord, ProfileEditor};
use boomerang_core::domain::date;
use boomerang_core::domain::kinds::Channel;
use boomerang_core::domain::purchase::Backdating;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::body::parse_json;
use crate::dto::{
    parse_customer_id, parse_referral_code, BalanceResponse, ConsentEvidence, CustomerBody, ProfileView, PurchaseBody, PurchaseResponse, ReferralCheck,
    RefundBody, RefundResponse,
};
use crate::error::ApiError;

/// Where "now" comes from: the system clock in production, a settable one in tests.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests set and advance by hand.
#[derive(Clone)]
pub struct FixedClock(Arc<Mutex<DateTime<Utc>>>);

impl FixedClock {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }
    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = now;
    }
    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().expect("clock lock") += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// How a request proves who sent it.
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    async fn authenticate(&self, app: &Boomerang, headers: &HeaderMap, extensions: &Extensions)
        -> Result<Principal, Error>;
}

/// Checks the bearer key against the store on every request, so a revoked key is refused
/// at once (local mode).
pub struct StoreKeys;

#[async_trait]
impl Authenticator for StoreKeys {
    async fn authenticate(&self, app: &Boomerang, headers: &HeaderMap, _: &Extensions) -> Result<Principal, Error> {
        let header = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        app.authenticate(header).await
    }
}

#[derive(Clone)]
pub struct ApiState {
    pub app: Boomerang,
    pub clock: Arc<dyn Clock>,
    pub auth: Arc<dyn Authenticator>,
}

impl ApiState {
    pub fn new(app: Boomerang, clock: Arc<dyn Clock>, auth: Arc<dyn Authenticator>) -> Self {
        Self { app, clock, auth }
    }
}

/// Which routes a deployment serves. Every Lambda function serves its share of the one API
/// (same handlers, same router code); `boomerang serve` serves all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteGroup {
    All,
    /// POST /v1/purchases, POST /v1/refunds.
    Purchases,
    /// GET /v1/customers/{id}, GET /v1/customers/{id}/balance, GET /v1/customers/{id}/consent,
    /// GET /v1/referrals/{code}, GET /v1/reports/triggers, /v1/reports/view and
    /// /v1/reports/word-of-mouth (read-only).
    Balance,
    /// PUT and DELETE /v1/customers/{id}, the unsubscribe and survey links (no key).
    Customers,
}

impl RouteGroup {
    fn has(self, other: RouteGroup) -> bool {
        self == RouteGroup::All || self == other
    }
}

/// The whole API v1.
pub fn router(state: ApiState) -> Router {
    router_for(state, RouteGroup::All)
}

/// The routes of one group of the API v1.
pub fn router_for(state: ApiState, group: RouteGroup) -> Router {
    use RouteGroup::{Balance, Customers, Purchases};
    let mut customer = axum::routing::MethodRouter::new();
    if group.has(Customers) {
        customer = customer.put(put_customer).delete(delete_customer);
    }
    if group.has(Balance) {
        customer = customer.get(get_customer);
    }
    let mut keyed = Router::new();
    if group.has(Customers) || group.has(Balance) {
        keyed = keyed.route("/v1/customers/{customer_id}", customer);
    }
    if group.has(Balance) {
        keyed = keyed
            .route("/v1/customers/{customer_id}/balance", get(get_balance))
            .route("/v1/customers/{customer_id}/consent", get(get_consent))
            .route("/v1/referrals/{code}", get(get_referral))
            .route("/v1/reports/triggers", get(get_trigger_report))
            .route("/v1/reports/word-of-mouth", get(get_word_of_mouth_report));
    }
    if group.has(Purchases) {
        keyed = keyed.route("/v1/purchases", post(post_purchase)).route("/v1/refunds", post(post_refund));
    }
    let keyed = keyed.route_layer(middleware::from_fn_with_state(state.clone(), require_key));
    let mut open = Router::new();
    if group.has(Customers) {
        open = open
            .route("/v1/unsubscribe", get(unsubscribe_page).post(unsubscribe_one_click))
            .route("/v1/survey", get(survey::survey_page).post(survey::post_survey_answer));
    }
    if group.has(Balance) {
        open = open.route("/v1/reports/view", get(report_view_page));
    }
    keyed
        .merge(open)
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// 401 before anything is read or written.
async fn require_key(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    match state.auth.authenticate(&state.app, request.headers(), request.extensions()).await {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// One line per request: route template, status, latency. Never ids, contacts or bodies,
/// since a customer_id may be a phone number.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let response = next.run(request).await;
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

fn path_id(path: Result<Path<String>, PathRejection>) -> Result<boomerang_core::domain::ids::CustomerId, ApiError> {
    let Path(raw) = path.map_err(|_| ApiError::invalid("customer_id", "customer_id in the path is not valid"))?;
    parse_customer_id(&raw)
}

/// The caller `require_key` let through (every keyed route has one).
fn caller(principal: Option<axum::Extension<Principal>>) -> Result<Principal, ApiError> {
    principal.map(|axum::Extension(p)| p).ok_or_else(|| Error::Unauthorized.into())
}

/// Admin keys only: a POS key gets 403 before anything else is looked at.
fn admin_only(principal: Option<axum::Extension<Principal>>) -> Result<Principal, ApiError> {
    let principal = caller(principal)?;
    if !principal.admin {
        return Err(Error::Forbidden.into());
    }
    Ok(principal)
}

async fn put_customer(
    State(state): State<ApiState>,
    principal: Option<axum::Extension<Principal>>,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> Result<Response, ApiError> {
    let principal = caller(principal)?;
    let id = path_id(path)?;
    let now = state.clock.now();
    let today = state.app.today(now);
    let body = parse_json::<CustomerBody>(body).await?;
    let referred_by = body.referred_by()?;
    let (patch, renewed) = body.parse(today)?;
    let editor = ProfileEditor::api(&principal, renewed);
    let enrolled = state.app.enroll_referred(&id, &patch, &editor, referred_by.as_ref(), now).await?;
    let status = if enrolled.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(ProfileView::new(&enrolled.record, today))).into_response())
}

async fn get_customer(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ProfileView>, ApiError> {
    let id = path_id(path)?;
    let record = state.app.customer(&id).await?;
    Ok(Json(ProfileView::new(&record, state.app.today(state.clock.now()))))
}

/// The till's check of a friend's code: valid or not, nothing about its owner.
async fn get_referral(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ReferralCheck>, ApiError> {
    let Path(raw) = path.map_err(|_| ApiError::invalid("code", "the referral code in the path is not valid"))?;
    let code = parse_referral_code(&raw)?;
    let valid = state.app.referral_code_valid(&code).await?;
    Ok(Json(ReferralCheck { code: code.to_string(), valid }))
}

async fn delete_customer(
    State(state): State<ApiState>,
    principal: Option<axum::Extension<Principal>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let principal = caller(principal)?;
    let id = path_id(path)?;
    state.app.erase_by(&id, &ConsentSource::of(&principal), state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The consent evidence of one customer: admin keys only (a POS key gets 403).
async fn get_consent(
    State(state): State<ApiState>,
    principal: Option<axum::Extension<Principal>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ConsentEvidence>, ApiError> {
    admin_only(principal)?;
    let id = path_id(path)?;
    let record = state.app.customer(&id).await?;
    Ok(Json(ConsentEvidence::new(&record)))
}

async fn get_balance(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<BalanceResponse>, ApiError> {
    let id = path_id(path)?;
    Ok(Json(state.app.balance(&id, state.clock.now()).await?.into()))
}

fn replayable(replayed: bool, body: impl serde::Serialize) -> Response {
    if replayed {
        let mut response = (StatusCode::OK, Json(body)).into_response();
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
        response
    } else {
        (StatusCode::CREATED, Json(body)).into_response()
    }
}

async fn post_purchase(State(state): State<ApiState>, body: Body) -> Result<Response, ApiError> {
    let request = parse_json::<PurchaseBody>(body).await?.parse()?;
    let outcome = state.app.purchase(&request, state.clock.now(), Backdating::Limited).await?;
    Ok(replayable(outcome.replayed, PurchaseResponse::from(&outcome.receipt)))
}

async fn post_refund(State(state): State<ApiState>, body: Body) -> Result<Response, ApiError> {
    let request = parse_json::<RefundBody>(body).await?.parse()?;
    let outcome = state.app.refund(&request, state.clock.now()).await?;
    Ok(replayable(outcome.replayed, RefundResponse::from(&outcome.refund)))
}

#[derive(Deserialize)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

fn query_date(name: &str, raw: Option<&str>) -> Result<Option<chrono::NaiveDate>, ApiError> {
    raw.map(|v| {
        date::parse_date(v).map_err(|e| ApiError::invalid(name, date::date_error_in_words(name, v, "2026-11-24", e)))
    })
    .transpose()
}

/// The NPS and referrals sections of the report: admin keys only, as the trigger report.
async fn get_word_of_mouth_report(
    State(state): State<ApiState>,
    principal: Option<axum::Extension<Principal>>,
    query: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    #[derive(serde::Serialize)]
    struct Answer {
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        #[serde(flatten)]
        sections: boomerang_core::app::WordOfMouth,
    }
    let (from, to) = admin_period(&state, principal, query).await?;
    let sections = state.app.word_of_mouth_report(from, to).await?;
    Ok(Json(Answer { from, to, sections }).into_response())
}

/// A report's period from its query, for admin keys only (a POS key gets 403 first).
async fn admin_period(
    state: &ApiState,
    principal: Option<axum::Extension<Principal>>,
    query: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<(chrono::NaiveDate, chrono::NaiveDate), ApiError> {
    admin_only(principal)?;
    let Query(q) = query.map_err(|_| ApiError::invalid("from", "the query must be from=YYYY-MM-DD&to=YYYY-MM-DD"))?;
    let to = query_date("to", q.to.as_deref())?;
    let from = query_date("from", q.from.as_deref())?;
    Ok(state.app.report_period(from, to, state.clock.now()).await?)
}

/// The trigger report: admin keys only (a POS key gets 403).
async fn get_trigger_report(
    State(state): State<ApiState>,
    principal: Option<axum::Extension<Principal>>,
    query: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (from, to) = admin_period(&state, principal, query).await?;
    let report = state.app.trigger_report(from, to, state.clock.now()).await?;
    Ok(Json(report).into_response())
}

#[derive(Deserialize)]
pub(crate) struct TokenQuery {
    token: Option<String>,
}

pub(crate) fn token_of(query: Result<Query<TokenQuery>, QueryRejection>) -> Result<String, ApiError> {
    query
        .ok()
        .and_then(|Query(q)| q.token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::from(Error::InvalidToken))
}

/// An HTML page that no cache keeps (it answers one customer's link).
pub(crate) fn html_page(page: String) -> Response {
    let mut response = Html(page).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The language of the customer's pages: theirs, else the program's default.
fn page_locale(state: &ApiState, record: Option<&CustomerRecord>) -> boomerang_core::domain::kinds::Locale {
    record.and_then(|r| r.customer.locale).unwrap_or(state.app.config().default_locale)
}

/// The link opened in a browser (or followed by a mail scanner): a page that asks, with the
/// shop's name, the address masked and one button that POSTs the same link. Changes nothing
/// (RFC 8058: link scanners follow every GET in a message).
async fn unsubscribe_page(
    State(state): State<ApiState>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let token = token_of(query)?;
    let (_, record) = state.app.unsubscribe_preview(&token).await?;
    let customer = record.as_ref().map(|r| &r.customer);
    let address = customer.and_then(|c| c.email.as_ref()).map(|e| pages::mask_email(e.as_str()));
    // Already off by the customer's own choice, erased, or nobody left: nothing to ask.
    let already = customer.is_none_or(|c| c.is_erased() || c.withdrawal(Channel::Email).is_some());
    let shop = &state.app.config().shop_name;
    let locale = page_locale(&state, record.as_ref());
    Ok(html_page(pages::unsubscribe_page(locale, shop, address.as_deref(), &token, already)))
}

/// RFC 8058 one-click: the mail client POSTs `List-Unsubscribe=One-Click` to the link; the
/// page's button POSTs the same. Email consent is withdrawn by the customer (source
/// `unsubscribe_link`); the answer is a confirmation page. The body is not read.
async fn unsubscribe_one_click(
    State(state): State<ApiState>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let token = token_of(query)?;
    let record = state.app.unsubscribe(&token, state.clock.now()).await?;
    let locale = page_locale(&state, record.as_ref());
    Ok(html_page(pages::unsubscribed_page(locale, &state.app.config().shop_name)))
}

/// The report page a digest's link opens: no key, the signed token is the credential (400
/// when altered, 410 once its 7 days are over). Read-only.
async fn report_view_page(
    State(state): State<ApiState>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let token = token_of(query)?;
    Ok(html_page(state.app.report_view(&token, state.clock.now()).await?))
}
