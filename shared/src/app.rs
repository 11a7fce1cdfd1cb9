//! `Services`: the ports a handler works with, built once per process (per Lambda cold
//! start, or once for `steward serve`) and shared by reference.

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::Result;
use crate::identity::CrmApps;
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
    /// Every AWS adapter, built the one way a Lambda builds the ports it wires.
    pub async fn aws(config: &Config) -> Result<Self> {
        use crate::wiring::{BlobOp, ScheduleOp, SecretOp, Wire};
        crate::wiring::AwsWiring::new(config)
            .await
            .blobs(&[BlobOp::Read, BlobOp::Write, BlobOp::Delete, BlobOp::Link])
            .mailer()
            .scheduler(&[ScheduleOp::Read, ScheduleOp::Write, ScheduleOp::Delete])
            .secrets(&[SecretOp::Read, SecretOp::Write, SecretOp::Delete])
            .crm_apps()
            .done()
            .await
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
