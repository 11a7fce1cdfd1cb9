//! `Services`: the ports a handler works with, built once per process (per Lambda cold
//! start, or once for `steward serve`) and shared by reference.

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::sync::Arc;

use crate::aws::AwsClients;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::Result;
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
    pub web_base_url: String,
    /// `lambda` or `steward serve`, for `/health`.
    pub runtime: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Adapters {
    pub items: &'static str,
    pub blobs: &'static str,
    pub mail: &'static str,
    pub scheduler: &'static str,
    pub secrets: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
            )),
            secrets: Arc::new(SecretsManagerSecrets::new(c.secrets, &s.secrets_prefix)),
            clock,
            web_base_url: config.web_base_url.clone(),
            runtime: "lambda",
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

/// The health handler every function binds to its own health route.
pub async fn health(services: &Services, req: Request) -> Result<Response<Body>> {
    let function = crate::http::route_of(&req).map_or("unknown", |r| r.function.name());
    crate::http::json(200, &services.health(function))
}

/// `GET /openapi.json`.
pub async fn openapi(_services: &Services, _req: Request) -> Result<Response<Body>> {
    crate::http::json(200, &crate::openapi::document(VERSION))
}
