//! Lambda entry point of `exports-events`: EventBridge Scheduler fires (the schedule
//! target) and the table's stream filtered to ended runs whose report is pending.

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let services = steward_shared::lambda::services(steward_exports::events_wiring).await?;
    let services = &services;
    lambda_runtime::run(service_fn(
        move |e: LambdaEvent<steward_exports::Event>| async move {
            steward_exports::handle_event(services, e.payload)
                .await
                .map_err(|err| lambda_runtime::Error::from(err.to_string()))
        },
    ))
    .await
}
