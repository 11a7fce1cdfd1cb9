//! Lambda entry point: everything happens in `steward::lambda::run_http`; this function
//! wires only the ports it uses, so the binary carries only those AWS SDKs.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steward::lambda::run_http(steward_runs::router(), |w| w.blobs().secrets()).await
}
