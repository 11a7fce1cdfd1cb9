//! The one place AWS clients are built (once per cold start) and SDK errors are translated.
//! Region and behavior version are always set; the endpoint override is explicit.

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::SharedCredentialsProvider;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::config::AwsSettings;
use crate::error::Error;

/// Every AWS client Steward uses, built from one shared SDK config.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub ses: aws_sdk_ses::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

/// The SDK configuration every client is built from: behavior version, region, the
/// endpoint override when there is one, and credentials from the environment, which is
/// where Lambda puts the function role's (and where the tests put moto's). Built field by
/// field rather than by `aws_config::defaults(..).load()`: the loader's chains (profile
/// files, SSO, IMDS, ECS, web identity through STS) never apply to a Lambda and were
/// ~0.75 MB of every binary (BENCHMARKS.md). Retries and the connect timeout are the
/// loader's own defaults; the HTTP client is `tls`'s (reqwest, rustls on ring).
pub fn sdk_config(settings: &AwsSettings) -> aws_config::SdkConfig {
    let mut config = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .http_client(crate::tls::aws_http_client(&[]))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .retry_config(RetryConfig::standard())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(3100))
                .build(),
        );
    if let Some(endpoint) = &settings.endpoint {
        config = config.endpoint_url(endpoint);
    }
    config.build()
}

/// S3 client; `path_style` for emulators, which serve buckets by path, not virtual host.
pub fn s3_client(sdk: &aws_config::SdkConfig, path_style: bool) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

impl AwsClients {
    pub fn new(settings: &AwsSettings) -> Self {
        Self::from_sdk_config(&sdk_config(settings), settings.endpoint.is_some())
    }

    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, path_style: bool) -> Self {
        AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            s3: s3_client(sdk, path_style),
            ses: aws_sdk_ses::Client::new(sdk),
            scheduler: aws_sdk_scheduler::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
        }
    }
}

/// Error codes AWS uses for "slow down"; they become a retryable 503, not a 500.
const THROTTLING: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
];

/// Translates an SDK failure that has no domain meaning at the call site.
pub fn sdk_error<E, R>(context: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(se) if se.err().code().is_some_and(|c| THROTTLING.contains(&c)) => {
            Error::Unavailable(format!("{context}: throttled"))
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            tracing::warn!(error = %crate::error::chain(&err), "{context}: AWS unreachable");
            Error::Unavailable(format!("{context}: AWS unreachable"))
        }
        _ => Error::internal(context.to_string(), err),
    }
}

/// The service error code, when AWS answered with one.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    }
}
