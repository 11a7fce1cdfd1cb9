//! Lambda entry point: logs, where the built console is, then the runtime loop. No
//! `Config` and no AWS client: this function reads files only.

use lambda_http::{Request, service_fn};
use std::convert::Infallible;
use steward_shared::console::Console;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steward_shared::telemetry::init(std::env::var("STEWARD_LOG_FORMAT").is_ok_and(|v| v == "json"));
    let console = Console::new(steward_web::console_dir(|k| std::env::var(k).ok()));
    if !console.is_built() {
        // Its pages answer 503 saying so; the deploy left out the console layer.
        tracing::warn!(dir = %console.dir().display(), "the console is not built");
    }
    let console = &console;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(steward_web::handle(console, req).await)
    }))
    .await
}
