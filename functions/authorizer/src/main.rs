//! API Gateway (HTTP API, payload 2.0, simple responses) Lambda authorizer. API Gateway caches
//! its answer per Authorization header for the stack's TTL, so a revoked key stops working
//! within that TTL.

use boomerang_lambda::lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    boomerang_lambda::init_tracing();
    let (app, _store) = boomerang_lambda::build_app().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
        boomerang_lambda::authorize(app, &event.payload).await.map_err(Error::from)
    }))
    .await
}
