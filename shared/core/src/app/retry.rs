//! The one optimistic-concurrency loop of the use cases: read, decide with the pure rules,
//! commit under a condition; when a concurrent writer won, wait and do it all again.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;

use crate::app::Error;
use crate::ports::StoreError;

/// Attempts at a conditional write before answering `contention`.
pub const MAX_ATTEMPTS: u32 = 12;

/// How long to wait after losing a race, before the next attempt. Injected so that tests run
/// without sleeping.
#[async_trait]
pub trait Backoff: Send + Sync {
    /// Waits after attempt number `attempt` (0 for the first) lost.
    async fn wait(&self, attempt: u32);
}

/// Exponential backoff with full jitter (2 ms doubling, capped at 100 ms): writers that lost
/// the same race spread out instead of colliding again.
pub struct JitteredBackoff;

#[async_trait]
impl Backoff for JitteredBackoff {
    async fn wait(&self, attempt: u32) {
        let cap_ms = (2u64 << attempt.min(6)).min(100);
        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..=cap_ms))).await;
    }
}

/// What one attempt did.
pub(crate) enum Attempt<T> {
    /// The answer: committed, or nothing to commit.
    Done(T),
    /// A concurrent writer won a condition: read and decide again.
    Lost,
}

/// The attempt a commit makes: a failed condition (the record moved, or the id was taken
/// meanwhile, which the next read replays) loses; any other error ends the loop.
pub(crate) fn committed<T>(result: Result<(), StoreError>, answer: impl FnOnce() -> T) -> Result<Attempt<T>, Error> {
    match result {
        Ok(()) => Ok(Attempt::Done(answer())),
        Err(StoreError::Conflict | StoreError::Duplicate) => Ok(Attempt::Lost),
        Err(e) => Err(e.into()),
    }
}

/// Runs `attempt` until it is done, at most [`MAX_ATTEMPTS`] times with `backoff` between
/// lost attempts; then `contention`, with nothing applied. Each attempt is a fresh future
/// (`|| async move { .. }` over references), so the loop stays `Send` for the API's handlers.
pub(crate) async fn read_decide_commit<T, F, Fut>(backoff: &dyn Backoff, mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Attempt<T>, Error>>,
{
    for n in 0..MAX_ATTEMPTS {
        match attempt().await? {
            Attempt::Done(answer) => return Ok(answer),
            Attempt::Lost => backoff.wait(n).await,
        }
    }
    Err(Error::Contention)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// Counts the waits instead of sleeping.
    #[derive(Default)]
    pub struct CountingBackoff(AtomicU32);

    #[async_trait]
    impl Backoff for CountingBackoff {
        async fn wait(&self, _: u32) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[tokio::test]
    async fn a_lost_attempt_is_retried_after_a_backoff_until_done() {
        let backoff = CountingBackoff::default();
        let tries = AtomicU32::new(0);
        let got = read_decide_commit(&backoff, || async {
            let tries = tries.fetch_add(1, Ordering::Relaxed) + 1;
            Ok(if tries < 3 { Attempt::Lost } else { Attempt::Done(tries) })
        })
        .await
        .unwrap();
        assert_eq!((got, backoff.0.load(Ordering::Relaxed)), (3, 2));
    }

    #[tokio::test]
    async fn endless_losses_end_in_contention_and_errors_end_at_once() {
        let backoff = CountingBackoff::default();
        let lost = read_decide_commit(&backoff, || async { Ok(Attempt::<()>::Lost) }).await;
        assert!(matches!(lost, Err(Error::Contention)));
        assert_eq!(backoff.0.load(Ordering::Relaxed), MAX_ATTEMPTS);
        let tries = AtomicU32::new(0);
        let failed = read_decide_commit(&backoff, || async {
            tries.fetch_add(1, Ordering::Relaxed);
            committed(Err(StoreError::Unavailable("down".into())), || ())
        })
        .await;
        assert!(matches!(failed, Err(Error::Store(StoreError::Unavailable(_)))));
        assert_eq!(tries.load(Ordering::Relaxed), 1);
    }
}
