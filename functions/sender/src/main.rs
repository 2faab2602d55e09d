//! The sender's entry point: an SQS event source on the send queue (batches of up to 10
//! outcome keys, partial batch failures reported). `src/lib.rs` has the handler.

use aws_lambda_events::event::sqs::SqsEvent;
use boomerang_aws_messaging::{configuration_set_from_env, load_sdk_config, AwsMessenger, SendQueue, QUEUE_URL_ENV};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use sender::Sender;

#[tokio::main]
async fn main() -> Result<(), Error> {
    boomerang_lambda::init_tracing();
    let (app, _store) = boomerang_lambda::build_app().await?;
    let messaging = &app.config().messaging;
    let sdk = load_sdk_config().await?;
    let messenger =
        AwsMessenger::new(&sdk, &messaging.email_from, &messaging.sms_sender_id, configuration_set_from_env());
    // The queue it drains, to hide a record until its channel's waking hours.
    let url = std::env::var(QUEUE_URL_ENV).map_err(|_| format!("{QUEUE_URL_ENV} is not set"))?;
    let queue = SendQueue::new(&sdk, url);
    // Built once: its pacer carries the send rate from one invocation to the next.
    let sender = Sender::new(&app, &messenger, &queue);
    let sender = &sender;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(sender.handle(event.payload).await?)
    }))
    .await
}
