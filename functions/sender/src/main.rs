//! The sender's entry point: an SQS event source on the send queue (batches of up to 10
//! outcome keys, partial batch failures reported). `src/lib.rs` has the handler.

use aws_lambda_events::event::sqs::SqsEvent;
use boomerang_aws_messaging::AwsMessenger;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use sender::Sender;

#[tokio::main]
async fn main() -> Result<(), Error> {
    boomerang_lambda::init_tracing();
    let (app, _store) = boomerang_lambda::build_app().await?;
    let messaging = &app.config().messaging;
    let messenger = AwsMessenger::from_env(&messaging.email_from, &messaging.sms_sender_id).await?;
    // Built once: its pacer carries the send rate from one invocation to the next.
    let sender = Sender::new(&app, &messenger);
    let sender = &sender;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(sender.handle(event.payload).await?)
    }))
    .await
}
