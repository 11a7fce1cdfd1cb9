//! What every function's `main` does: logs, config, clients once, then the runtime loop.

use lambda_http::{Request, service_fn};
use std::convert::Infallible;

use crate::app::Services;
use crate::config::Config;
use crate::http::Router;

pub async fn run_http(router: Router<Services>) -> Result<(), lambda_http::Error> {
    let config = Config::from_env()?;
    crate::telemetry::init(config.log_json);
    let services = Services::aws(&config).await;
    let (services, router) = (&services, &router);
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(router.handle(services, req).await)
    }))
    .await
}
