//! Counts what the store sends: requests per operation and the body bytes of writes. DynamoDB
//! bills per request and per written kilobyte, and emulators report no real consumed
//! capacity, so the store counts for itself.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// Operations whose request bodies are summed in [`RequestMetrics::write_bytes`].
pub const WRITE_OPERATIONS: [&str; 5] = ["TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"];

/// A snapshot of what a store sent since it was made or last reset. A retried attempt is
/// another request on the wire, so it counts again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMetrics {
    /// Requests per operation name (`GetItem`, `TransactWriteItems`, ...).
    pub requests: BTreeMap<String, u64>,
    /// Request body bytes per write operation.
    pub write_bytes: BTreeMap<String, u64>,
}

impl RequestMetrics {
    pub fn requests(&self, operation: &str) -> u64 {
        self.requests.get(operation).copied().unwrap_or(0)
    }
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }
    pub fn write_bytes(&self, operation: &str) -> u64 {
        self.write_bytes.get(operation).copied().unwrap_or(0)
    }
    pub fn total_write_bytes(&self) -> u64 {
        self.write_bytes.values().sum()
    }
}

/// The interceptor behind [`RequestMetrics`]; clones share one tally.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestCounter {
    tally: Arc<Mutex<RequestMetrics>>,
}

impl RequestCounter {
    pub fn snapshot(&self) -> RequestMetrics {
        self.tally.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
    pub fn reset(&self) {
        *self.tally.lock().unwrap_or_else(PoisonError::into_inner) = RequestMetrics::default();
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "BoomerangRequestCounter"
    }

    // Just before transmit: once per attempt, with the final (signed) body.
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or("unknown", Metadata::name).to_owned();
        let body = context.request().body();
        let bytes = body.bytes().map(|b| b.len() as u64).or_else(|| body.content_length()).unwrap_or(0);
        let mut tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
        if WRITE_OPERATIONS.contains(&operation.as_str()) {
            *tally.write_bytes.entry(operation.clone()).or_default() += bytes;
        }
        *tally.requests.entry(operation).or_default() += 1;
        Ok(())
    }
}
