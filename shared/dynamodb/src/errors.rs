//! From SDK errors to the port's. Only a failed condition means something to the use cases
//! (`Conflict`, `Duplicate`); everything else is `Unavailable` with the SDK error kept whole as
//! the source, so a caller can still tell throttling from a bad request.

use std::error::Error;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use boomerang_core::ports::StoreError;

pub fn unavailable(e: impl Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

/// What a failed condition on one item of a transaction means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// An idempotency id is taken (receipt, refund, key hash, terminal lock).
    Duplicate,
    /// The item moved since it was read.
    Conflict,
}

/// Maps a cancelled transaction by its per-item reasons (given in item order). A taken id wins
/// over a moved record: the use case then reads and replays instead of retrying blindly.
pub fn transaction_error(err: SdkError<TransactWriteItemsError>, roles: &[Option<OnFailure>]) -> StoreError {
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() {
        let reasons = cancelled.cancellation_reasons();
        let failed = |want: OnFailure| {
            reasons.iter().zip(roles).any(|(r, role)| *role == Some(want) && r.code() == Some("ConditionalCheckFailed"))
        };
        if failed(OnFailure::Duplicate) {
            return StoreError::Duplicate;
        }
        if failed(OnFailure::Conflict) {
            return StoreError::Conflict;
        }
        // Another transaction held one of the items: the same as losing the race.
        if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
            return StoreError::Conflict;
        }
    }
    unavailable(err)
}
