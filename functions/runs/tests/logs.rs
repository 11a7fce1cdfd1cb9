//! `LogLevel=trace` puts nothing secret in CloudWatch: the real `runs` binary, its cold
//! start (the CRM apps' secret read from Secrets Manager included) and the Lambda runtime,
//! given an event carrying a marker in every place a secret travels.

use steward_tests::lambda_stub::{assert_no_marker_logged, marked_http_event};

#[tokio::test]
async fn at_trace_the_runs_binary_logs_no_secret() {
    assert_no_marker_logged(
        env!("CARGO_BIN_EXE_runs"),
        marked_http_event("GET", "/runs"),
    )
    .await;
}

#[tokio::test]
async fn at_trace_the_runs_worker_binary_logs_no_secret() {
    assert_no_marker_logged(
        env!("CARGO_BIN_EXE_runs-worker"),
        steward_tests::lambda_stub::marked_stream_event("dynamodb-stream-run-insert.json"),
    )
    .await;
}
