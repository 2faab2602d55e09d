//! From SDK errors to the port's. Only a failed condition means something to the use cases
//! (`Conflict`, `Duplicate`); everything else is `Unavailable` with the SDK error kept whole as
//! the source, so a caller can still tell throttling from a bad request.

use std::error::Error;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use boomerang_core::ports::{Guard, StoreError};

pub fn unavailable(e: impl Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

/// Maps a cancelled transaction by its per-item reasons (given in item order) and what each
/// item's condition guarded (`StoreError::refused` decides which failure wins).
pub fn transaction_error(err: SdkError<TransactWriteItemsError>, roles: &[Option<Guard>]) -> StoreError {
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() {
        let reasons = cancelled.cancellation_reasons();
        let failed = reasons
            .iter()
            .zip(roles)
            .filter(|(r, _)| r.code() == Some("ConditionalCheckFailed"))
            .filter_map(|(_, role)| *role);
        if let Some(refused) = StoreError::refused(failed) {
            return refused;
        }
        // Another transaction held one of the items: the same as losing the race.
        if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
            return StoreError::Conflict;
        }
    }
    unavailable(err)
}
