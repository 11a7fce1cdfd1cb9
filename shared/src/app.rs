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

/// What a domain function uses, one trait per part of `Services`: its bounds are its
/// dependencies (`fn deliver(s: &(impl UsesItems + UsesBlobs + UsesMail + ...))`), and the
/// compiler holds the body to them. `Services` has every part; a function's `wiring()`
/// decides which of them are real in its Lambda.
pub trait UsesItems: Sync {
    fn items(&self) -> &dyn ItemStore;
}

/// The audit bucket.
pub trait UsesBlobs: Sync {
    fn blobs(&self) -> &dyn BlobStore;

    /// The same store, for a writer that owns it (`BlobWriter`).
    fn shared_blobs(&self) -> Arc<dyn BlobStore>;
}

pub trait UsesMail: Sync {
    fn mailer(&self) -> &dyn Mailer;
}

/// EventBridge Scheduler (or the local scheduler).
pub trait UsesScheduler: Sync {
    fn scheduler(&self) -> &dyn Scheduler;
}

/// CRM tokens (Secrets Manager, or the local secrets file).
pub trait UsesSecrets: Sync {
    fn secrets(&self) -> &dyn Secrets;
}

pub trait UsesClock: Sync {
    fn clock(&self) -> &dyn Clock;
}

/// The console's address, for the links Steward hands out (share links, report links).
pub trait UsesLinks: Sync {
    fn web_base_url(&self) -> &str;
}

/// What wakes the runs worker.
pub trait UsesRunQueue: Sync {
    fn run_queue(&self) -> &crate::runs::RunQueue;
}

/// The account's CRM, on a stored connection (Steward's OAuth apps, the CRM HTTP client,
/// and the tokens in the `Secrets` port, refreshed and kept).
#[async_trait::async_trait]
pub trait UsesCrm: Sync {
    fn crm_apps(&self) -> &CrmApps;

    /// The CRMs' described objects, per account, for a few minutes.
    fn schemas(&self) -> &crate::crm_schema::SchemaCache;

    /// `identity::connections::open`.
    async fn open_crm(
        &self,
        account_id: &crate::ids::AccountId,
        slot: crate::identity::connections::Slot<'_>,
    ) -> Result<Arc<dyn crate::crm::Crm>>;
}

impl UsesItems for Services {
    fn items(&self) -> &dyn ItemStore {
        self.items.as_ref()
    }
}

impl UsesBlobs for Services {
    fn blobs(&self) -> &dyn BlobStore {
        self.blobs.as_ref()
    }

    fn shared_blobs(&self) -> Arc<dyn BlobStore> {
        self.blobs.clone()
    }
}

impl UsesMail for Services {
    fn mailer(&self) -> &dyn Mailer {
        self.mailer.as_ref()
    }
}

impl UsesScheduler for Services {
    fn scheduler(&self) -> &dyn Scheduler {
        self.scheduler.as_ref()
    }
}

impl UsesSecrets for Services {
    fn secrets(&self) -> &dyn Secrets {
        self.secrets.as_ref()
    }
}

impl UsesClock for Services {
    fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
}

impl UsesLinks for Services {
    fn web_base_url(&self) -> &str {
        &self.web_base_url
    }
}

impl UsesRunQueue for Services {
    fn run_queue(&self) -> &crate::runs::RunQueue {
        &self.runs
    }
}

#[async_trait::async_trait]
impl UsesCrm for Services {
    fn crm_apps(&self) -> &CrmApps {
        &self.crm
    }

    fn schemas(&self) -> &crate::crm_schema::SchemaCache {
        &self.schemas
    }

    async fn open_crm(
        &self,
        account_id: &crate::ids::AccountId,
        slot: crate::identity::connections::Slot<'_>,
    ) -> Result<Arc<dyn crate::crm::Crm>> {
        crate::identity::connections::open(self, account_id, slot).await
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
