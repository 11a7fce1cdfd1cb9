//! What every function's `main` does: logs, config, clients once, then the runtime loop.

use lambda_http::{Request, service_fn};
use std::convert::Infallible;

use crate::app::Services;
use crate::config::Config;
use crate::http::Router;
use crate::wiring::AwsWiring;

/// Logs, config, and the services the function's `wiring` names (its crate's
/// `wiring::<AwsWiring>`): the same declaration its tests run under.
pub async fn services(wiring: fn(AwsWiring) -> AwsWiring) -> Result<Services, lambda_http::Error> {
    let config = Config::from_env()?;
    crate::telemetry::init(config.log_json);
    Ok(wiring(AwsWiring::new(&config).await).done().await?)
}

/// An HTTP function: its router over its wiring's services.
pub async fn run_http(
    router: Router<Services>,
    wiring: fn(AwsWiring) -> AwsWiring,
) -> Result<(), lambda_http::Error> {
    let services = services(wiring).await?;
    let (services, router) = (&services, &router);
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(router.handle(services, req).await)
    }))
    .await
}
