//! Lambda entry point: everything happens in `steward::lambda::run_http`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steward::lambda::run_http(steward_auth::router()).await
}
