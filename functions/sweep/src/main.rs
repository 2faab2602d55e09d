//! The daily sweep's entry point, invoked by EventBridge Scheduler at the tenant's local
//! sweep time (`src/lib.rs` has the handler). The sweep date is the scheduled time as a local
//! date in the tenant's timezone.

use boomerang_aws_messaging::{configuration_set_from_env, load_sdk_config, AwsMessenger, SendQueue, QUEUE_URL_ENV};
use boomerang_lambda::ScheduledEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use sweep::{HandOff, Sweep};

#[tokio::main]
async fn main() -> Result<(), Error> {
    boomerang_lambda::init_tracing();
    let (app, _store) = boomerang_lambda::build_app().await?;
    let sdk = load_sdk_config().await?;
    let messaging = &app.config().messaging;
    let messenger =
        AwsMessenger::new(&sdk, &messaging.email_from, &messaging.sms_sender_id, configuration_set_from_env());
    // Unset means "send inline" (a local `cargo lambda invoke`).
    let queue = std::env::var(QUEUE_URL_ENV).ok().filter(|url| !url.is_empty()).map(|url| SendQueue::new(&sdk, url));
    if queue.is_none() {
        tracing::info!("{QUEUE_URL_ENV} is not set: sending inline");
    }
    let sweep = Sweep {
        app: &app,
        messenger: &messenger,
        queue: queue.as_ref().map(|q| q as &dyn HandOff),
        tenant: sweep::tenant_from_env(),
    };
    let sweep = &sweep;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ScheduledEvent>| async move {
        Ok::<_, Error>(sweep.handle(&event.payload, chrono::Utc::now()).await?)
    }))
    .await
}
