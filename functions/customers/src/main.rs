//! Serves its share of the POS API v1 (the shared router) behind API Gateway.

use boomerang_api::RouteGroup;
use boomerang_lambda::lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    boomerang_lambda::run_api(RouteGroup::Customers).await
}
