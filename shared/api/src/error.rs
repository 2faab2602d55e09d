//! The one mapping from use-case errors to HTTP status and JSON error body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use boomerang_core::domain::survey::token::TokenProblem;
use boomerang_core::domain::survey::AnswerRefused;
use boomerang_core::Error;
use serde_json::json;

/// An error response: `{"error": {"code", "message", "field"}}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>, field: Option<String>) -> Self {
        Self { status, code, message: message.into(), field }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_field", message, Some(field.into()))
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such route", None)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method", None)
    }
}

fn status_of(e: &Error) -> StatusCode {
    use boomerang_core::ports::StoreError;
    match e {
        Error::InvalidField { .. } | Error::InvalidToken | Error::SurveyLink(TokenProblem::Invalid) => {
            StatusCode::BAD_REQUEST
        }
        Error::SurveyLink(TokenProblem::Expired(_)) | Error::SurveyAnswer(AnswerRefused::Expired(_)) => StatusCode::GONE,
        Error::SurveyAnswer(AnswerRefused::Closed(_)) => StatusCode::CONFLICT,
        Error::Unauthorized => StatusCode::UNAUTHORIZED,
        Error::LinkExpired => StatusCode::GONE,
        Error::Forbidden => StatusCode::FORBIDDEN,
        Error::CustomerNotFound | Error::ReceiptNotFound => StatusCode::NOT_FOUND,
        Error::ReceiptConflict | Error::RefundConflict | Error::CustomerErased | Error::ConsentWithdrawn(_) => {
            StatusCode::CONFLICT
        }
        Error::InsufficientPoints { .. }
        | Error::RedeemCapExceeded { .. }
        | Error::CurrencyMismatch { .. }
        | Error::UnknownStore { .. }
        | Error::OccurredAtInFuture
        | Error::OccurredAtTooOld { .. }
        | Error::RefundExceedsRemaining { .. }
        | Error::RefundBeforePurchase
        | Error::RefundCustomerMismatch
        | Error::InvalidReferral(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Contention => StatusCode::SERVICE_UNAVAILABLE,
        Error::Store(StoreError::Corrupt(_)) | Error::PointsOverflow(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Error::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = status_of(&e);
        let message = if status.is_server_error() {
            // The cause chain goes to the log; the client gets an opaque message. The chain
            // names no customer: stores describe a record by its kind, never by its key.
            tracing::error!(code = e.code(), error = %causes(&e), "request failed");
            match status {
                StatusCode::SERVICE_UNAVAILABLE => "temporarily unavailable; retry with the same request".to_string(),
                _ => "internal error".to_string(),
            }
        } else {
            e.to_string()
        };
        Self { status, code: e.code(), message, field: e.field().map(str::to_owned) }
    }
}

/// An error and its causes on one line, each once ("the store is unavailable: no AWS
/// credentials were found: ..."): the API's log lines and the CLI's failures.
pub fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.contains(&next) {
            text = format!("{text}: {next}");
        }
        cause = c.source();
    }
    text
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message, "field": self.field}});
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
