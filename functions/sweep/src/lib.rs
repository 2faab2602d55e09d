//! The daily sweep, run by EventBridge Scheduler at the tenant's local sweep time: burn what
//! expired, decide every due trigger (gift and outcome in one atomic write), then hand each
//! decided message to the SQS send queue, which the sender drains at the capped rate.
//!
//! Why a queue: deciding costs in proportion to who is due and fits one invocation, but
//! sending is capped at `messaging.max_sends_per_second`, so a big day may not. With no queue
//! configured (a local `cargo lambda invoke`), the sweep sends inline instead.

use std::collections::BTreeMap;

use async_trait::async_trait;
use boomerang_aws_messaging::{QueueError, SendQueue};
use boomerang_core::app::sweep::{SendJob, SendMode, SweepOptions, TriggerCounts};
use boomerang_core::Boomerang;
use boomerang_core::ports::Messenger;
use boomerang_lambda::ScheduledEvent;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// The tenant's name, the dimension of the `SweepCompleted` metric.
pub const TENANT_ENV: &str = "BOOMERANG_TENANT";
pub const DEFAULT_TENANT: &str = "local";
/// The CloudWatch namespace and metric the infra's "sweep not completed" alarm watches.
pub const METRIC_NAMESPACE: &str = "Boomerang";
pub const METRIC_NAME: &str = "SweepCompleted";

/// Where decided messages go to be sent: the SQS send queue in AWS, a fake in tests.
#[async_trait]
pub trait HandOff: Send + Sync {
    /// Hands every job over; returns how many were.
    async fn hand_off(&self, jobs: &[SendJob]) -> Result<usize, QueueError>;
}

#[async_trait]
impl HandOff for SendQueue {
    async fn hand_off(&self, jobs: &[SendJob]) -> Result<usize, QueueError> {
        SendQueue::hand_off(self, jobs).await
    }
}

/// What the function returns (and `cargo lambda invoke` prints). No customer ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub date: NaiveDate,
    /// The dates this run swept (catch-up included); empty when `date` was already done.
    pub dates: Vec<NaiveDate>,
    /// By trigger name as the config and the logs spell it (`lapsed_30`).
    pub triggers: BTreeMap<&'static str, TriggerCounts>,
    pub points_burned: u64,
    /// Keys handed to the send queue (0 when sending inline).
    pub handed_off: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("the sweep failed: {0}")]
    Sweep(#[from] boomerang_core::Error),
    /// The decisions are recorded and the date is complete, but some keys did not reach the
    /// queue: the run fails so that it is retried, and the retry hands them over again.
    #[error("handing the messages to the send queue failed: {0}")]
    HandOff(#[from] QueueError),
}

pub struct Sweep<'a> {
    pub app: &'a Boomerang,
    /// SNS opt-out checks while deciding; the sends too when there is no queue.
    pub messenger: &'a dyn Messenger,
    /// `None`: send inline.
    pub queue: Option<&'a dyn HandOff>,
    pub tenant: String,
}

impl Sweep<'_> {
    /// One scheduled run: the sweep of the event's local date, its hand-off, and on success
    /// the `SweepCompleted` metric.
    pub async fn handle(&self, event: &ScheduledEvent, now: DateTime<Utc>) -> Result<Summary, SweepError> {
        let summary = self.run(event, now).await?;
        for (trigger, c) in &summary.triggers {
            tracing::info!(
                trigger,
                eligible = c.eligible,
                holdout = c.holdout,
                unreachable = c.unreachable,
                sent_email = c.sent_email,
                sent_sms = c.sent_sms,
                failed = c.failed,
                unknown = c.unknown,
                points_credited = c.points_credited,
                deferred = c.deferred,
                capped = c.capped,
                expired = c.expired,
                cancelled = c.cancelled,
                suppressed = c.suppressed,
                "trigger"
            );
        }
        tracing::info!(
            date = %summary.date,
            dates = summary.dates.len(),
            points_burned = summary.points_burned,
            handed_off = summary.handed_off,
            "sweep completed"
        );
        // Embedded Metric Format: CloudWatch Logs turns this stdout line into the metric.
        println!("{}", completed_metric(&self.tenant, now));
        Ok(summary)
    }

    pub async fn run(&self, event: &ScheduledEvent, now: DateTime<Utc>) -> Result<Summary, SweepError> {
        let date = boomerang_lambda::sweep_date(event, self.app.config());
        let send = if self.queue.is_some() { SendMode::Handoff } else { SendMode::Inline };
        let report =
            self.app.sweep(self.messenger, date, now, SweepOptions { send, ..SweepOptions::default() }).await?;
        // The core hands over this run's decisions and the ones of the last days still
        // pending (a hand-off that failed, a retry of this run): a key queued twice is
        // harmless, its second delivery finds it no longer pending.
        let handed_off = match self.queue {
            Some(queue) => queue.hand_off(&report.jobs()).await?,
            None => 0,
        };
        Ok(Summary {
            date,
            dates: report.dates,
            triggers: report.triggers.iter().map(|(kind, counts)| (kind.as_str(), *counts)).collect(),
            points_burned: report.points_burned,
            handed_off,
        })
    }
}

/// The Embedded Metric Format line of a completed sweep.
pub fn completed_metric(tenant: &str, now: DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "_aws": {
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE,
                "Dimensions": [["Tenant"]],
                "Metrics": [{"Name": METRIC_NAME, "Unit": "Count"}]
            }]
        },
        "Tenant": tenant,
        METRIC_NAME: 1
    })
}

/// The tenant from `BOOMERANG_TENANT`, "local" when unset or empty.
pub fn tenant_from_env() -> String {
    std::env::var(TENANT_ENV).ok().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| DEFAULT_TENANT.to_string())
}
