//! The one error type of the use cases; the API maps it to HTTP in one place.

use crate::domain::customer::ConsentWithdrawn;
use crate::domain::purchase::{PurchaseRuleError, RefundRuleError};
use crate::domain::kinds::Channel;
use crate::domain::ledger::PointsOverflow;
use crate::domain::referral::RefusedReferral;
use crate::domain::survey::token::TokenProblem;
use crate::domain::survey::AnswerRefused;
use crate::ports::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    InvalidField { field: String, message: String },
    #[error("authentication required: send Authorization: Bearer <key> with a valid key")]
    Unauthorized,
    #[error("this route needs an admin key")]
    Forbidden,
    #[error("no customer with this customer_id")]
    CustomerNotFound,
    #[error("no receipt with this receipt_id")]
    ReceiptNotFound,
    #[error("the customer was erased; personal data can no longer be stored for them")]
    CustomerErased,
    /// A `true` for a channel the customer turned off themselves, without their fresh consent.
    #[error(transparent)]
    ConsentWithdrawn(#[from] ConsentWithdrawn),
    /// A `referred_by` that breaks a referral rule; nothing of the PUT was applied.
    #[error(transparent)]
    InvalidReferral(#[from] RefusedReferral),
    #[error("this receipt_id was already used for a different purchase")]
    ReceiptConflict,
    #[error("this refund_id was already used for a different refund")]
    RefundConflict,
    #[error("the receipt belongs to another customer than customer_id")]
    RefundCustomerMismatch,
    #[error("not enough points: the balance is {balance}")]
    InsufficientPoints { balance: u64 },
    #[error("at most {max_points} points may be spent on this receipt")]
    RedeemCapExceeded { max_points: u64 },
    #[error("the receipt is in {got}, the program in {expected}")]
    CurrencyMismatch { expected: String, got: String },
    #[error("store_id {store} is not one of the program's stores ({known})")]
    UnknownStore { store: String, known: String },
    #[error("occurred_at is more than 5 minutes in the future")]
    OccurredAtInFuture,
    #[error("occurred_at is more than {max_days} days in the past")]
    OccurredAtTooOld { max_days: u32 },
    #[error("only {remaining_minor} (minor units) of the receipt remain to refund")]
    RefundExceedsRemaining { remaining_minor: u64 },
    #[error("the refund is dated before its purchase")]
    RefundBeforePurchase,
    #[error("the link's token is not valid")]
    InvalidToken,
    /// A report link signed by us, past its expiry.
    #[error("this report link has expired; the next weekly digest brings a fresh one")]
    LinkExpired,
    /// A survey link that is not ours (400) or too old (410).
    #[error(transparent)]
    SurveyLink(#[from] TokenProblem),
    /// An answer too late: the link expired (410) or the answer can no longer change (409).
    #[error(transparent)]
    SurveyAnswer(#[from] AnswerRefused),
    #[error("too many concurrent writes to this customer; retry")]
    Contention,
    /// The points would overflow a count of the customer's account: refused, never wrapped.
    #[error(transparent)]
    PointsOverflow(#[from] PointsOverflow),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidField { field: field.into(), message: message.into() }
    }

    /// The stable snake_case code POS vendors code against.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidField { .. } => "invalid_field",
            Error::Unauthorized => "unauthorized",
            Error::Forbidden => "forbidden",
            Error::CustomerNotFound => "customer_not_found",
            Error::ReceiptNotFound => "receipt_not_found",
            Error::CustomerErased => "customer_erased",
            Error::ConsentWithdrawn(_) => "consent_withdrawn",
            Error::InvalidReferral(_) => "invalid_referral",
            Error::ReceiptConflict => "receipt_conflict",
            Error::RefundConflict => "refund_conflict",
            Error::RefundCustomerMismatch => "receipt_customer_mismatch",
            Error::InsufficientPoints { .. } => "insufficient_points",
            Error::RedeemCapExceeded { .. } => "redeem_cap_exceeded",
            Error::CurrencyMismatch { .. } => "currency_mismatch",
            Error::UnknownStore { .. } => "unknown_store",
            Error::OccurredAtInFuture => "occurred_at_in_future",
            Error::OccurredAtTooOld { .. } => "occurred_at_too_old",
            Error::RefundExceedsRemaining { .. } => "refund_exceeds_remaining",
            Error::RefundBeforePurchase => "refund_before_purchase",
            Error::InvalidToken | Error::SurveyLink(TokenProblem::Invalid) => "invalid_token",
            Error::LinkExpired => "link_expired",
            Error::SurveyLink(TokenProblem::Expired(_)) | Error::SurveyAnswer(AnswerRefused::Expired(_)) => "survey_expired",
            Error::SurveyAnswer(AnswerRefused::Closed(_)) => "survey_closed",
            Error::Contention => "contention",
            Error::PointsOverflow(_) => "internal",
            Error::Store(StoreError::Corrupt(_)) => "internal",
            Error::Store(_) => "store_unavailable",
        }
    }

    /// The JSON path of the request field the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        Some(match self {
            Error::InvalidField { field, .. } => field,
            Error::ConsentWithdrawn(e) => match e.channel {
                Channel::Email => "consent.email",
                Channel::Sms => "consent.sms",
            },
            Error::CustomerNotFound | Error::CustomerErased | Error::RefundCustomerMismatch => "customer_id",
            Error::ReceiptNotFound | Error::ReceiptConflict => "receipt_id",
            Error::RefundConflict => "refund_id",
            Error::InsufficientPoints { .. } | Error::RedeemCapExceeded { .. } => "redeem_points",
            Error::CurrencyMismatch { .. } => "currency",
            Error::UnknownStore { .. } => "store_id",
            Error::OccurredAtInFuture | Error::OccurredAtTooOld { .. } | Error::RefundBeforePurchase => "occurred_at",
            Error::RefundExceedsRemaining { .. } => "amount",
            Error::InvalidToken | Error::LinkExpired | Error::SurveyLink(_) | Error::SurveyAnswer(AnswerRefused::Expired(_)) => "token",
            Error::InvalidReferral(_) => "referred_by",
            _ => return None,
        })
    }
}

impl From<PurchaseRuleError> for Error {
    fn from(e: PurchaseRuleError) -> Self {
        match e {
            PurchaseRuleError::CurrencyMismatch { expected, got } => Error::CurrencyMismatch { expected, got },
            PurchaseRuleError::UnknownStore { store, known } => Error::UnknownStore { store, known },
            PurchaseRuleError::InFuture => Error::OccurredAtInFuture,
            PurchaseRuleError::TooOld { max_days } => Error::OccurredAtTooOld { max_days },
            PurchaseRuleError::RedeemCapExceeded { max_points } => Error::RedeemCapExceeded { max_points },
            PurchaseRuleError::InsufficientPoints { balance } => Error::InsufficientPoints { balance },
            PurchaseRuleError::AmountTooLarge => Error::invalid("amount", "amount is too large"),
            PurchaseRuleError::PointsOverflow(e) => Error::PointsOverflow(e),
        }
    }
}

impl From<RefundRuleError> for Error {
    fn from(e: RefundRuleError) -> Self {
        match e {
            RefundRuleError::CustomerMismatch => Error::RefundCustomerMismatch,
            RefundRuleError::InFuture => Error::OccurredAtInFuture,
            RefundRuleError::BeforePurchase => Error::RefundBeforePurchase,
            RefundRuleError::ExceedsRemaining { remaining_minor } => Error::RefundExceedsRemaining { remaining_minor },
            RefundRuleError::PointsOverflow(e) => Error::PointsOverflow(e),
        }
    }
}
