//! The entry point of ses-events: subscribed to the SNS topic of the SES configuration set's
//! bounce and complaint events (an asynchronous invocation per notification). `src/lib.rs`
//! has the handler.

use aws_lambda_events::event::sns::SnsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    boomerang_lambda::init_tracing();
    let (app, _store) = boomerang_lambda::build_app().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SnsEvent>| async move {
        ses_events::handle(app, event.payload).await?;
        Ok::<_, Error>(())
    }))
    .await
}
