//! `Services`: the ports a handler works with, built once per process (per Lambda cold
//! start, or once for `steward serve`) and shared by reference.

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::sync::Arc;

use crate::aws::AwsClients;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::Result;
use crate::identity::CrmApps;
use crate::ports::blobs::s3::S3BlobStore;
use crate::ports::items::dynamo::DynamoItemStore;
use crate::ports::mail::ses::SesMailer;
use crate::ports::scheduler::eventbridge::EventBridgeScheduler;
use crate::ports::secrets::secretsmanager::SecretsManagerSecrets;
use crate::ports::{BlobStore, ItemStore, Mailer, Scheduler, Secrets};

#[derive(Clone)]
pub struct Services {
    pub items: Arc<dyn ItemStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub mailer: Arc<dyn Mailer>,
    pub scheduler: Arc<dyn Scheduler>,
    pub secrets: Arc<dyn Secrets>,
    pub clock: Arc<dyn Clock>,
    /// Steward's OAuth apps with the CRMs, and the CRM HTTP client.
    pub crm: CrmApps,
    pub web_base_url: String,
    /// `lambda` or `steward serve`, for `/health`.
    pub runtime: &'static str,
    /// What wakes the runs worker: the table's stream on AWS, an in-process queue locally.
    pub runs: crate::runs::RunQueue,
    /// The CRMs' described objects, per account, for a few minutes.
    pub schemas: Arc<crate::crm_schema::SchemaCache>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Adapters {
    pub items: &'static str,
    pub blobs: &'static str,
    pub mail: &'static str,
    pub scheduler: &'static str,
    pub secrets: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
    pub function: &'static str,
    pub runtime: &'static str,
    pub adapters: Adapters,
}

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

impl Services {
    /// The AWS adapters, from one set of clients.
    pub async fn aws(config: &Config) -> Self {
        Self::aws_with(
            config,
            AwsClients::new(&config.aws).await,
            Arc::new(SystemClock),
        )
    }

    pub fn aws_with(config: &Config, c: AwsClients, clock: Arc<dyn Clock>) -> Self {
        let s = &config.aws;
        Services {
            items: Arc::new(DynamoItemStore::new(c.dynamodb, &s.table, clock.clone())),
            blobs: Arc::new(S3BlobStore::new(c.s3, &s.bucket)),
            mailer: Arc::new(SesMailer::new(c.ses, &s.mail_from)),
            scheduler: Arc::new(EventBridgeScheduler::new(
                c.scheduler,
                &s.schedule_group,
                &s.schedule_target_arn,
                &s.scheduler_role_arn,
                &s.schedule_dead_letter_arn,
            )),
            secrets: Arc::new(SecretsManagerSecrets::new(c.secrets, &s.secrets_prefix)),
            clock,
            crm: config.crm.clone(),
            web_base_url: config.web_base_url.clone(),
            runtime: "lambda",
            runs: crate::runs::RunQueue::Stream,
            schemas: Arc::default(),
        }
    }

    /// A Lambda function's wiring: DynamoDB always, then only the ports it asks for, each
    /// through its own method so the binary links only the AWS SDKs it uses.
    pub async fn aws_wiring(config: &Config) -> AwsWiring<'_> {
        let sdk = crate::aws::sdk_config(&config.aws).await;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let not_wired = Arc::new(NotWired);
        let services = Services {
            items: Arc::new(DynamoItemStore::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                &config.aws.table,
                clock.clone(),
            )),
            blobs: not_wired.clone(),
            mailer: not_wired.clone(),
            scheduler: not_wired.clone(),
            secrets: not_wired,
            clock,
            crm: config.crm.clone(),
            web_base_url: config.web_base_url.clone(),
            runtime: "lambda",
            runs: crate::runs::RunQueue::Stream,
            schemas: Arc::default(),
        };
        AwsWiring {
            sdk,
            config,
            services,
        }
    }

    pub fn adapters(&self) -> Adapters {
        Adapters {
            items: self.items.kind(),
            blobs: self.blobs.kind(),
            mail: self.mailer.kind(),
            scheduler: self.scheduler.kind(),
            secrets: self.secrets.kind(),
        }
    }

    pub fn health(&self, function: &'static str) -> Health {
        Health {
            status: "ok",
            version: VERSION,
            function,
            runtime: self.runtime,
            adapters: self.adapters(),
        }
    }
}

pub struct AwsWiring<'a> {
    sdk: aws_config::SdkConfig,
    config: &'a Config,
    services: Services,
}

impl AwsWiring<'_> {
    pub fn blobs(mut self) -> Self {
        let path_style = self.config.aws.endpoint.is_some();
        self.services.blobs = Arc::new(S3BlobStore::new(
            crate::aws::s3_client(&self.sdk, path_style),
            &self.config.aws.bucket,
        ));
        self
    }

    pub fn mailer(mut self) -> Self {
        self.services.mailer = Arc::new(SesMailer::new(
            aws_sdk_ses::Client::new(&self.sdk),
            &self.config.aws.mail_from,
        ));
        self
    }

    pub fn scheduler(mut self) -> Self {
        let s = &self.config.aws;
        self.services.scheduler = Arc::new(EventBridgeScheduler::new(
            aws_sdk_scheduler::Client::new(&self.sdk),
            &s.schedule_group,
            &s.schedule_target_arn,
            &s.scheduler_role_arn,
            &s.schedule_dead_letter_arn,
        ));
        self
    }

    pub fn secrets(mut self) -> Self {
        self.services.secrets = Arc::new(SecretsManagerSecrets::new(
            aws_sdk_secretsmanager::Client::new(&self.sdk),
            &self.config.aws.secrets_prefix,
        ));
        self
    }

    pub fn done(self) -> Services {
        self.services
    }
}

/// Stands in for a port a function does not use: any call is a programming error.
struct NotWired;

fn not_wired<T>(port: &str) -> Result<T> {
    Err(crate::Error::unexpected(format!(
        "the {port} port is not wired into this function"
    )))
}

#[async_trait::async_trait]
impl BlobStore for NotWired {
    fn kind(&self) -> &'static str {
        "not-wired"
    }
    async fn put(&self, _: &str, _: bytes::Bytes, _: &str) -> Result<()> {
        not_wired("blob")
    }
    async fn get(&self, _: &str) -> Result<Option<crate::ports::Blob>> {
        not_wired("blob")
    }
    async fn get_range(&self, _: &str, _: u64, _: u64) -> Result<Option<bytes::Bytes>> {
        not_wired("blob")
    }
    async fn delete(&self, _: &str) -> Result<()> {
        not_wired("blob")
    }
    async fn presigned_get(
        &self,
        _: &str,
        _: std::time::Duration,
        _: Option<&str>,
    ) -> Result<String> {
        not_wired("blob")
    }
    async fn start_upload(&self, _: &str, _: &str) -> Result<Box<dyn crate::ports::Upload>> {
        not_wired("blob")
    }
}

#[async_trait::async_trait]
impl Mailer for NotWired {
    fn kind(&self) -> &'static str {
        "not-wired"
    }
    async fn send(&self, _: &crate::ports::Email) -> Result<String> {
        not_wired("mail")
    }
}

#[async_trait::async_trait]
impl Scheduler for NotWired {
    fn kind(&self) -> &'static str {
        "not-wired"
    }
    async fn create(&self, _: &crate::ports::ScheduleSpec) -> Result<()> {
        not_wired("scheduler")
    }
    async fn update(&self, _: &crate::ports::ScheduleSpec) -> Result<()> {
        not_wired("scheduler")
    }
    async fn delete(&self, _: &str) -> Result<()> {
        not_wired("scheduler")
    }
    async fn get(&self, _: &str) -> Result<Option<crate::ports::ScheduleSpec>> {
        not_wired("scheduler")
    }
}

#[async_trait::async_trait]
impl Secrets for NotWired {
    fn kind(&self) -> &'static str {
        "not-wired"
    }
    async fn put(&self, _: &str, _: secrecy::SecretString) -> Result<()> {
        not_wired("secrets")
    }
    async fn get(&self, _: &str) -> Result<Option<secrecy::SecretString>> {
        not_wired("secrets")
    }
    async fn delete(&self, _: &str) -> Result<()> {
        not_wired("secrets")
    }
}

/// The health handler every function binds to its own health route.
pub async fn health(services: &Services, req: Request) -> Result<Response<Body>> {
    let function = crate::http::route_of(&req).map_or("unknown", |r| r.function.name());
    crate::http::json(200, &services.health(function))
}

/// `GET /openapi.json`.
pub async fn openapi(_services: &Services, _req: Request) -> Result<Response<Body>> {
    crate::http::json(200, &crate::openapi::document(VERSION))
}
