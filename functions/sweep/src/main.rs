//! The daily sweep's entry point, invoked by EventBridge Scheduler at the tenant's local
//! sweep time. The sweep date is the scheduled time as a local date in the tenant's timezone.

use boomerang_core::config::TriggerKind;
use boomerang_lambda::ScheduledEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    boomerang_lambda::init_tracing();
    let (app, _store) = boomerang_lambda::build_app().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ScheduledEvent>| async move {
        let config = app.config();
        let date = boomerang_lambda::sweep_date(&event.payload, config);
        let triggers: Vec<&str> =
            TriggerKind::ALL.into_iter().filter(|k| config.trigger(*k).enabled).map(TriggerKind::as_str).collect();
        // The trigger campaigns themselves come with the sweep issue; this entry point is
        // deployed and scheduled now so the stack is complete.
        tracing::info!(%date, ?triggers, "sweep planned");
        Ok::<_, Error>(serde_json::json!({"date": date.to_string(), "triggers": triggers}))
    }))
    .await
}
