//! What every function's `main` does: logs, config, clients once, then the runtime loop.

use lambda_http::{Request, service_fn};
use std::convert::Infallible;

use crate::app::{AwsWiring, Services};
use crate::config::Config;
use crate::http::Router;

/// `wire` picks the ports the function uses (`|w| w.mailer().secrets()`); the others
/// are left out of the binary.
pub async fn run_http(
    router: Router<Services>,
    wire: fn(AwsWiring<'_>) -> AwsWiring<'_>,
) -> Result<(), lambda_http::Error> {
    let config = Config::from_env()?;
    crate::telemetry::init(config.log_json);
    let services = wire(Services::aws_wiring(&config).await).done();
    let (services, router) = (&services, &router);
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(router.handle(services, req).await)
    }))
    .await
}
