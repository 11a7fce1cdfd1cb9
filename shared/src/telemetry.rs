//! Logging set-up: JSON on Lambda (CloudWatch parses it), text on a laptop, and quiet in
//! tests unless `TEST_LOG` is set.
//!
//! `RUST_LOG` (the template's `LogLevel`) sets the level of Steward's own code only.
//! Other crates log at `info` at most, whatever it says: below that, the Lambda runtime
//! logs every raw event it receives (`lambda_runtime::layers::api_response`, at trace:
//! session cookies, OAuth codes and states, CSRF tokens), the AWS SDK logs request and
//! answer bodies (secrets read from Secrets Manager), and hyper and rustls their traffic.

use tracing::{Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, filter::FilterExt, filter::filter_fn};

/// Whether an event of `target` at `level` may be logged at all: Steward's own at every
/// level, every other crate's at info and above.
pub fn allowed(target: &str, level: &Level) -> bool {
    target.starts_with("steward") || *level <= Level::INFO
}

/// `directives` (`RUST_LOG`'s syntax; `info` when absent or unreadable), capped by
/// [`allowed`].
fn filter(directives: Option<&str>) -> impl Filter<Registry> + Send + Sync + 'static {
    let env = directives
        .and_then(|d| EnvFilter::try_new(d).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    env.and(filter_fn(|m| allowed(m.target(), m.level())))
}

/// The subscriber every function and `steward` log through, writing to `writer`.
pub fn subscriber<W>(
    directives: Option<&str>,
    json: bool,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_writer(writer);
    if json {
        let layer = layer.json().without_time().with_filter(filter(directives));
        Box::new(Registry::default().with(layer))
    } else {
        Box::new(Registry::default().with(layer.with_filter(filter(directives))))
    }
}

pub fn init(json: bool) {
    let directives = std::env::var("RUST_LOG").ok();
    // Also the bridge from the `log` crate, as `fmt().init()` had.
    let _ = subscriber(directives.as_deref(), json, std::io::stdout).try_init();
}

/// For tests: logs only when `TEST_LOG` is set, and never twice.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("debug"))
            .with_test_writer()
            .try_init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_crates_log_at_info_at_most() {
        assert!(allowed("steward_shared::identity::login", &Level::TRACE));
        assert!(allowed("steward_runs", &Level::DEBUG));
        assert!(allowed(
            "lambda_runtime::layers::api_response",
            &Level::INFO
        ));
        assert!(!allowed(
            "lambda_runtime::layers::api_response",
            &Level::TRACE
        ));
        assert!(!allowed("aws_smithy_runtime::client::http", &Level::DEBUG));
    }
}
