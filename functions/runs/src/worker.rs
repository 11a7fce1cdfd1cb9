//! Lambda entry point of the runs worker: the table's stream, filtered to run items
//! written with `wake: true`, and the sweep's schedule. Each slice stops a minute before
//! Lambda's deadline.

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

/// Kept between the slice's stop and Lambda's deadline: one batch's call and writes.
const MARGIN_MS: i64 = 60_000;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let services = steward_shared::lambda::services(steward_runs::worker_wiring).await?;
    let services = &services;
    lambda_runtime::run(service_fn(
        move |e: LambdaEvent<steward_runs::WorkerEvent>| async move {
            let deadline_ms = i64::try_from(e.context.deadline).unwrap_or(i64::MAX) - MARGIN_MS;
            let deadline = chrono::DateTime::from_timestamp_millis(deadline_ms)
                .unwrap_or_else(chrono::Utc::now);
            steward_runs::handle_worker_event(services, e.payload, deadline)
                .await
                .map_err(|err| lambda_runtime::Error::from(err.to_string()))
        },
    ))
    .await
}
