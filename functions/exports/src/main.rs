//! Lambda entry point: everything happens in `steward_shared::lambda::run_http`, over the
//! services `steward_exports::wiring` declares (the binary carries only those AWS SDKs).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steward_shared::lambda::run_http(steward_exports::router(), steward_exports::wiring).await
}
