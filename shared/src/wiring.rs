//! A function's wiring: which ports it may call, and which operations on each, declared
//! once in the function's crate (`pub fn wiring<W: Wire>(w: W) -> W`) and read three ways:
//!
//! - [`AwsWiring`] builds the AWS clients of the ports named, and only those, so a binary
//!   links only the SDKs its function uses (each port is its own method, never a match on
//!   a value, so the others are not compiled in);
//! - [`Restrict`] narrows a full set of (embedded) services to what is declared: a port
//!   not named, or an operation not listed, answers 500 naming the function and what it
//!   tried. `steward serve` and the end-to-end tests run every route and event through
//!   its function's restricted services, so a handler that starts using something its
//!   wiring lacks fails a test, not production;
//! - [`Needs`] collects the declaration, for the test that derives each function's IAM
//!   actions from it and compares them with `template.yaml` ([`Needs::iam_actions`]).
//!
//! The table (items) is every function's and is not declared.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::api::Function;
use crate::app::Services;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::Result;
use crate::http::Router;
use crate::ports::blobs::s3::S3BlobStore;
use crate::ports::items::dynamo::DynamoItemStore;
use crate::ports::mail::ses::SesMailer;
use crate::ports::scheduler::eventbridge::EventBridgeScheduler;
use crate::ports::secrets::secretsmanager::SecretsManagerSecrets;
use crate::ports::{Blob, BlobStore, Email, Mailer, ScheduleSpec, Scheduler, Secrets, Upload};

/// What a function does with the audit bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BlobOp {
    /// `get`, `get_range`.
    Read,
    /// `put`, and multipart uploads (`start_upload`).
    Write,
    Delete,
    /// `presigned_get`: a link that carries the function's own permission to read.
    Link,
}

/// What a function does with EventBridge Scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScheduleOp {
    Read,
    /// `create`, `update` (both hand the scheduler its invoke role).
    Write,
    Delete,
}

/// What a function does with Secrets Manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecretOp {
    Read,
    /// `put`: writes a new value, creating the secret the first time.
    Write,
    Delete,
}

impl BlobOp {
    /// The S3 actions the adapter's calls for this operation need.
    pub fn iam_actions(self) -> &'static [&'static str] {
        match self {
            BlobOp::Read | BlobOp::Link => &["s3:GetObject"],
            BlobOp::Write => &["s3:PutObject", "s3:AbortMultipartUpload"],
            BlobOp::Delete => &["s3:DeleteObject"],
        }
    }
}

impl ScheduleOp {
    pub fn iam_actions(self) -> &'static [&'static str] {
        match self {
            ScheduleOp::Read => &["scheduler:GetSchedule"],
            ScheduleOp::Write => &[
                "scheduler:CreateSchedule",
                "scheduler:UpdateSchedule",
                "iam:PassRole",
            ],
            ScheduleOp::Delete => &["scheduler:DeleteSchedule"],
        }
    }
}

impl SecretOp {
    pub fn iam_actions(self) -> &'static [&'static str] {
        match self {
            SecretOp::Read => &["secretsmanager:GetSecretValue"],
            SecretOp::Write => &[
                "secretsmanager:PutSecretValue",
                "secretsmanager:CreateSecret",
            ],
            SecretOp::Delete => &["secretsmanager:DeleteSecret"],
        }
    }
}

/// One declaration of a function's ports, read by each implementation its own way.
pub trait Wire: Sized {
    fn blobs(self, ops: &[BlobOp]) -> Self;
    fn mailer(self) -> Self;
    fn scheduler(self, ops: &[ScheduleOp]) -> Self;
    fn secrets(self, ops: &[SecretOp]) -> Self;
    /// The CRM OAuth apps with their client secrets: sign-in and token refresh (any
    /// function that opens a member's or the integration user's CRM connection).
    fn crm_apps(self) -> Self;
}

// ---- AWS -------------------------------------------------------------------------------

/// A Lambda function's services: DynamoDB always, then the clients of the ports its
/// wiring names.
pub struct AwsWiring {
    sdk: aws_config::SdkConfig,
    config: Config,
    services: Services,
    /// Reads the CRM apps' secret, when the wiring asks for the apps (made in
    /// `crm_apps`, so a binary that does not ask links no Secrets Manager client for it).
    crm_apps: Option<SecretRead>,
}

/// The pending read of the CRM apps' secret: its JSON, or nothing off AWS.
type SecretRead =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<String>>> + Send>>;

impl AwsWiring {
    pub async fn new(config: &Config) -> Self {
        let sdk = crate::aws::sdk_config(&config.aws);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let services = Services {
            items: Arc::new(DynamoItemStore::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                &config.aws.table,
                clock.clone(),
            )),
            blobs: Arc::new(NotWired),
            mailer: Arc::new(NotWired),
            scheduler: Arc::new(NotWired),
            secrets: Arc::new(NotWired),
            clock,
            crm: config.crm.clone(),
            web_base_url: config.web_base_url.clone(),
            runtime: "lambda",
            runs: crate::runs::RunQueue::Stream,
            schemas: Arc::default(),
        };
        AwsWiring {
            sdk,
            config: config.clone(),
            services,
            crm_apps: None,
        }
    }

    /// The services; the CRM apps' client secrets read from Secrets Manager (one call, at
    /// cold start) when the wiring asked for the apps, else no app at all.
    pub async fn done(mut self) -> Result<Services> {
        match self.crm_apps.take() {
            None => self.services.crm = self.services.crm.without_apps(),
            Some(read) => {
                if let Some(json) = read.await? {
                    self.services
                        .crm
                        .fill_secrets(&json)
                        .map_err(crate::Error::unexpected)?;
                }
            }
        }
        Ok(self.services)
    }
}

impl Wire for AwsWiring {
    fn blobs(mut self, _: &[BlobOp]) -> Self {
        let path_style = self.config.aws.endpoint.is_some();
        self.services.blobs = Arc::new(S3BlobStore::new(
            crate::aws::s3_client(&self.sdk, path_style),
            &self.config.aws.bucket,
        ));
        self
    }

    fn mailer(mut self) -> Self {
        self.services.mailer = Arc::new(SesMailer::new(
            aws_sdk_ses::Client::new(&self.sdk),
            &self.config.aws.mail_from,
        ));
        self
    }

    fn scheduler(mut self, _: &[ScheduleOp]) -> Self {
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

    fn secrets(mut self, _: &[SecretOp]) -> Self {
        self.services.secrets = Arc::new(SecretsManagerSecrets::new(
            aws_sdk_secretsmanager::Client::new(&self.sdk),
            &self.config.aws.secrets_prefix,
        ));
        self
    }

    fn crm_apps(mut self) -> Self {
        let arn = self.config.aws.crm_apps_secret.clone();
        let client = aws_sdk_secretsmanager::Client::new(&self.sdk);
        self.crm_apps = Some(Box::pin(async move {
            let Some(arn) = arn else {
                // Off AWS the secrets came from the environment.
                return Ok(None);
            };
            let out = client
                .get_secret_value()
                .secret_id(&arn)
                .send()
                .await
                .map_err(|e| crate::aws::sdk_error("reading the CRM apps' secret", e))?;
            out.secret_string()
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| {
                    crate::Error::unexpected(format!(
                        "{} names a secret with no string value",
                        crate::identity::apps::APPS_SECRET_VARIABLE
                    ))
                })
        }));
        self
    }
}

// ---- declared needs ---------------------------------------------------------------------

/// The declaration itself, collected.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Needs {
    pub blobs: BTreeSet<BlobOp>,
    pub mail: bool,
    pub schedules: BTreeSet<ScheduleOp>,
    pub secrets: BTreeSet<SecretOp>,
    pub crm_apps: bool,
}

impl Wire for Needs {
    fn blobs(mut self, ops: &[BlobOp]) -> Self {
        self.blobs.extend(ops);
        self
    }
    fn mailer(mut self) -> Self {
        self.mail = true;
        self
    }
    fn scheduler(mut self, ops: &[ScheduleOp]) -> Self {
        self.schedules.extend(ops);
        self
    }
    fn secrets(mut self, ops: &[SecretOp]) -> Self {
        self.secrets.extend(ops);
        self
    }
    fn crm_apps(mut self) -> Self {
        self.crm_apps = true;
        self
    }
}

/// What an IAM grant is on: the resources Steward's statements name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// The audit bucket's `runs/` prefix.
    AuditCsvs,
    /// The SES sending identity (conditioned on the configured sender).
    Mail,
    /// Schedules in Steward's schedule group, and the role they are handed.
    Schedules,
    /// CRM connections and automation keys: secrets under the stack's prefix.
    Connections,
    /// The one secret with the CRM apps' client secrets.
    CrmApps,
}

impl Needs {
    /// The IAM grants (action, on what) the declared operations need, beyond the table's.
    pub fn iam_grants(&self) -> BTreeSet<(&'static str, Resource)> {
        let mut out = BTreeSet::new();
        for op in &self.blobs {
            out.extend(op.iam_actions().iter().map(|a| (*a, Resource::AuditCsvs)));
        }
        if self.mail {
            out.insert(("ses:SendRawEmail", Resource::Mail));
        }
        for op in &self.schedules {
            out.extend(op.iam_actions().iter().map(|a| (*a, Resource::Schedules)));
        }
        for op in &self.secrets {
            out.extend(op.iam_actions().iter().map(|a| (*a, Resource::Connections)));
        }
        if self.crm_apps {
            out.insert(("secretsmanager:GetSecretValue", Resource::CrmApps));
        }
        out
    }
}

// ---- restricted (embedded) services ----------------------------------------------------

/// Narrows full services to one function's wiring: what is not declared answers 500.
pub struct Restrict {
    full: Services,
    function: &'static str,
    services: Services,
}

impl Restrict {
    /// `function` names the function in the refusal ("the runs function's wiring ...").
    pub fn new(full: &Services, function: &'static str) -> Self {
        let mut services = full.clone();
        services.crm = full.crm.without_apps();
        services.blobs = Arc::new(NotWired);
        services.mailer = Arc::new(NotWired);
        services.scheduler = Arc::new(NotWired);
        services.secrets = Arc::new(NotWired);
        Restrict {
            full: full.clone(),
            function,
            services,
        }
    }

    pub fn done(self) -> Services {
        self.services
    }
}

impl Wire for Restrict {
    fn blobs(mut self, ops: &[BlobOp]) -> Self {
        self.services.blobs = Arc::new(Guard {
            inner: self.full.blobs.clone(),
            function: self.function,
            ops: ops.to_vec(),
        });
        self
    }
    fn mailer(mut self) -> Self {
        self.services.mailer = self.full.mailer.clone();
        self
    }
    fn scheduler(mut self, ops: &[ScheduleOp]) -> Self {
        self.services.scheduler = Arc::new(Guard {
            inner: self.full.scheduler.clone(),
            function: self.function,
            ops: ops.to_vec(),
        });
        self
    }
    fn secrets(mut self, ops: &[SecretOp]) -> Self {
        self.services.secrets = Arc::new(Guard {
            inner: self.full.secrets.clone(),
            function: self.function,
            ops: ops.to_vec(),
        });
        self
    }
    fn crm_apps(mut self) -> Self {
        self.services.crm = self.full.crm.clone();
        self
    }
}

/// A port that lets through only the operations a function declared.
struct Guard<P: ?Sized, Op> {
    inner: Arc<P>,
    function: &'static str,
    ops: Vec<Op>,
}

impl<P: ?Sized, Op: PartialEq + std::fmt::Debug> Guard<P, Op> {
    fn allow(&self, port: &str, op: Op) -> Result<&P> {
        if self.ops.contains(&op) {
            Ok(&self.inner)
        } else {
            Err(crate::Error::unexpected(format!(
                "the {} function's wiring does not allow {op:?} on the {port} port",
                self.function
            )))
        }
    }
}

#[async_trait::async_trait]
impl BlobStore for Guard<dyn BlobStore, BlobOp> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    async fn put(&self, key: &str, body: bytes::Bytes, content_type: &str) -> Result<()> {
        self.allow("blob", BlobOp::Write)?
            .put(key, body, content_type)
            .await
    }
    async fn get(&self, key: &str) -> Result<Option<Blob>> {
        self.allow("blob", BlobOp::Read)?.get(key).await
    }
    async fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Option<bytes::Bytes>> {
        self.allow("blob", BlobOp::Read)?
            .get_range(key, start, len)
            .await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.allow("blob", BlobOp::Delete)?.delete(key).await
    }
    async fn presigned_get(
        &self,
        key: &str,
        ttl: std::time::Duration,
        file_name: Option<&str>,
    ) -> Result<String> {
        self.allow("blob", BlobOp::Link)?
            .presigned_get(key, ttl, file_name)
            .await
    }
    async fn start_upload(&self, key: &str, content_type: &str) -> Result<Box<dyn Upload>> {
        self.allow("blob", BlobOp::Write)?
            .start_upload(key, content_type)
            .await
    }
}

#[async_trait::async_trait]
impl Scheduler for Guard<dyn Scheduler, ScheduleOp> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    async fn create(&self, spec: &ScheduleSpec) -> Result<()> {
        self.allow("scheduler", ScheduleOp::Write)?
            .create(spec)
            .await
    }
    async fn update(&self, spec: &ScheduleSpec) -> Result<()> {
        self.allow("scheduler", ScheduleOp::Write)?
            .update(spec)
            .await
    }
    async fn delete(&self, name: &str) -> Result<()> {
        self.allow("scheduler", ScheduleOp::Delete)?
            .delete(name)
            .await
    }
    async fn get(&self, name: &str) -> Result<Option<ScheduleSpec>> {
        self.allow("scheduler", ScheduleOp::Read)?.get(name).await
    }
}

#[async_trait::async_trait]
impl Secrets for Guard<dyn Secrets, SecretOp> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    async fn put(&self, name: &str, value: secrecy::SecretString) -> Result<()> {
        self.allow("secrets", SecretOp::Write)?
            .put(name, value)
            .await
    }
    async fn get(&self, name: &str) -> Result<Option<secrecy::SecretString>> {
        self.allow("secrets", SecretOp::Read)?.get(name).await
    }
    async fn delete(&self, name: &str) -> Result<()> {
        self.allow("secrets", SecretOp::Delete)?.delete(name).await
    }
}

// ---- one process, every function ------------------------------------------------------

/// Every function in one process (`steward serve`, the end-to-end tests), each route and
/// event under its own function's wiring, over one full set of services.
pub struct Functions {
    full: Services,
    router: Router<Services>,
    wired: Vec<(Function, Services)>,
    worker: Option<Services>,
    events: Option<Services>,
}

impl Functions {
    pub fn new(full: &Services) -> Self {
        Functions {
            full: full.clone(),
            router: Router::new(),
            wired: Vec::new(),
            worker: None,
            events: None,
        }
    }

    /// An HTTP function: its routes, under its wiring.
    pub fn http(
        mut self,
        function: Function,
        router: Router<Services>,
        wiring: fn(Restrict) -> Restrict,
    ) -> Self {
        self.router = self.router.merge(router);
        let services = wiring(Restrict::new(&self.full, function.name())).done();
        self.wired.push((function, services));
        self
    }

    /// The runs worker's wiring (the table's stream on AWS, the in-process queue here).
    pub fn worker(mut self, wiring: fn(Restrict) -> Restrict) -> Self {
        self.worker = Some(wiring(Restrict::new(&self.full, "runs-worker")).done());
        self
    }

    /// `exports-events`' wiring: Scheduler fires and the reports of ended runs.
    pub fn events(mut self, wiring: fn(Restrict) -> Restrict) -> Self {
        self.events = Some(wiring(Restrict::new(&self.full, "exports-events")).done());
        self
    }

    pub fn router(&self) -> &Router<Services> {
        &self.router
    }

    /// The services `function` runs with (a function not added has no routes here, so
    /// nothing asks for it: asking is a programming error).
    pub fn services(&self, function: Function) -> &Services {
        self.wired
            .iter()
            .find(|(f, _)| *f == function)
            .map(|(_, s)| s)
            .unwrap_or_else(|| panic!("the {} function was not added", function.name()))
    }

    pub fn worker_services(&self) -> &Services {
        self.worker
            .as_ref()
            .expect("the runs worker's wiring was not given")
    }

    pub fn events_services(&self) -> &Services {
        self.events
            .as_ref()
            .expect("exports-events' wiring was not given")
    }

    /// Routes the request and runs it under its function's services.
    pub async fn handle(
        &self,
        req: lambda_http::Request,
    ) -> lambda_http::Response<lambda_http::Body> {
        self.router.handle_each(&|f| self.services(f), req).await
    }
}

// ---- not wired -------------------------------------------------------------------------

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
    async fn get(&self, _: &str) -> Result<Option<Blob>> {
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
    async fn start_upload(&self, _: &str, _: &str) -> Result<Box<dyn Upload>> {
        not_wired("blob")
    }
}

#[async_trait::async_trait]
impl Mailer for NotWired {
    fn kind(&self) -> &'static str {
        "not-wired"
    }
    async fn send(&self, _: &Email) -> Result<String> {
        not_wired("mail")
    }
}

#[async_trait::async_trait]
impl Scheduler for NotWired {
    fn kind(&self) -> &'static str {
        "not-wired"
    }
    async fn create(&self, _: &ScheduleSpec) -> Result<()> {
        not_wired("scheduler")
    }
    async fn update(&self, _: &ScheduleSpec) -> Result<()> {
        not_wired("scheduler")
    }
    async fn delete(&self, _: &str) -> Result<()> {
        not_wired("scheduler")
    }
    async fn get(&self, _: &str) -> Result<Option<ScheduleSpec>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_operations_give_their_iam_grants() {
        let reader = Needs::default()
            .blobs(&[BlobOp::Read, BlobOp::Link])
            .secrets(&[SecretOp::Read])
            .crm_apps();
        assert_eq!(
            reader.iam_grants().into_iter().collect::<Vec<_>>(),
            [
                ("s3:GetObject", Resource::AuditCsvs),
                ("secretsmanager:GetSecretValue", Resource::Connections),
                ("secretsmanager:GetSecretValue", Resource::CrmApps),
            ]
        );
        let writer = Needs::default()
            .blobs(&[BlobOp::Write])
            .scheduler(&[ScheduleOp::Write])
            .mailer();
        assert_eq!(
            writer.iam_grants().into_iter().collect::<Vec<_>>(),
            [
                ("iam:PassRole", Resource::Schedules),
                ("s3:AbortMultipartUpload", Resource::AuditCsvs),
                ("s3:PutObject", Resource::AuditCsvs),
                ("scheduler:CreateSchedule", Resource::Schedules),
                ("scheduler:UpdateSchedule", Resource::Schedules),
                ("ses:SendRawEmail", Resource::Mail),
            ]
        );
    }
}
