//! What a run costs on AWS: a transform and a merge of N sandbox contacts (default
//! 100,000), each previewed and applied, through the same code a Lambda runs (the HTTP
//! routes under their functions' wiring, the worker in slices, the report sender), over
//! the embedded adapters wrapped in counters:
//!
//!   cargo bench -p steward-tests --bench cost -- [RECORDS]
//!
//! Counted per run: the worker's wall-clock time (Lambda bills it, waits included: the
//! sandbox answers each CRM call after a real CRM's round trip and enforces HubSpot's rate
//! limit) and its CPU time (its own thread; the sandbox runs on others), its slices
//! (Lambda invocations), CRM calls, DynamoDB read and write units
//! (item sizes rounded up as DynamoDB bills them: 4 KB per strongly consistent read unit,
//! 1 KB per write unit, the index write included), S3 requests and SES messages. Priced
//! with us-east-1 on-demand prices; docs/aws-cost.md says which and why the model is what
//! it is.

#[path = "../e2e/browser.rs"]
#[allow(dead_code)]
mod browser;
#[path = "../e2e/support.rs"]
#[allow(dead_code)]
mod support;

use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use browser::{Browser, app_router, functions};
use steward_sandbox::{Faults, Sandbox, SandboxConfig};
use steward_shared::Services;
use steward_shared::error::Result;
use steward_shared::ports::{
    Blob, BlobStore, Email, Item, ItemStore, Mailer, Page, Query, Upload, WriteOp, items::Condition,
};
use support::{OWNER, apps};

// ---- prices (us-east-1, on demand, as published in 2026) --------------------------------

/// Lambda on arm64 (Graviton), per GB-second, and per request.
const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
/// DynamoDB on-demand, per read and per write request unit.
const DYNAMO_RRU: f64 = 0.125 / 1e6;
const DYNAMO_WRU: f64 = 0.625 / 1e6;
/// S3 Standard: PUT, COPY, POST, LIST (multipart calls included) and GET requests.
const S3_PUT: f64 = 0.005 / 1e3;
const S3_GET: f64 = 0.0004 / 1e3;
const SES_MESSAGE: f64 = 0.10 / 1e3;

/// The runs worker's memory (template.yaml `RunsWorkerFunction.MemorySize`).
const WORKER_GB: f64 = 1.0;
/// A CRM call's round trip (HubSpot's and Salesforce's batch endpoints answer 100-200
/// records in about this): the sandbox waits this long before each answer.
const CRM_CALL_MS: u64 = 350;

// ---- counters --------------------------------------------------------------------------

#[derive(Default)]
struct Counters {
    rru: AtomicU64,
    wru: AtomicU64,
    s3_put: AtomicU64,
    s3_get: AtomicU64,
    mail: AtomicU64,
}

impl Counters {
    fn reset(&self) {
        for c in [&self.rru, &self.wru, &self.s3_put, &self.s3_get, &self.mail] {
            c.store(0, Relaxed);
        }
    }
}

/// An item's size as DynamoDB counts it, near enough: names and values of its attributes.
fn item_bytes(item: &Item) -> u64 {
    let data = serde_json::to_vec(&item.data).map_or(0, |v| v.len());
    let gsi = item
        .gsi1
        .as_ref()
        .map_or(0, |(p, s)| p.len() + s.len() + 12);
    (item.pk.len() + item.sk.len() + 20 + gsi + data + 8) as u64
}

fn units(bytes: u64, per: u64) -> u64 {
    bytes.div_ceil(per).max(1)
}

/// Write units of a put: the item's, and its index's when it has one.
fn write_units(item: &Item) -> u64 {
    let u = units(item_bytes(item), 1024);
    if item.gsi1.is_some() { 2 * u } else { u }
}

struct CountedItems(Arc<dyn ItemStore>, Arc<Counters>);

#[async_trait::async_trait]
impl ItemStore for CountedItems {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        let got = self.0.get(pk, sk).await?;
        let bytes = got.as_ref().map_or(0, item_bytes);
        self.1.rru.fetch_add(units(bytes, 4096), Relaxed);
        Ok(got)
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<u64> {
        self.1.wru.fetch_add(write_units(&item), Relaxed);
        self.0.put(item, condition).await
    }
    async fn delete(&self, pk: &str, sk: &str, expected_version: Option<u64>) -> Result<()> {
        self.1.wru.fetch_add(1, Relaxed);
        self.0.delete(pk, sk, expected_version).await
    }
    async fn query(&self, query: &Query) -> Result<Page> {
        let page = self.0.query(query).await?;
        let bytes: u64 = page.items.iter().map(item_bytes).sum();
        self.1.rru.fetch_add(units(bytes, 4096), Relaxed);
        Ok(page)
    }
    async fn batch_write(&self, ops: Vec<WriteOp>) -> Result<()> {
        let wru: u64 = ops
            .iter()
            .map(|op| match op {
                WriteOp::Put(item) => write_units(item),
                WriteOp::Delete { .. } => 1,
            })
            .sum();
        self.1.wru.fetch_add(wru, Relaxed);
        self.0.batch_write(ops).await
    }
}

struct CountedBlobs(Arc<dyn BlobStore>, Arc<Counters>);

#[async_trait::async_trait]
impl BlobStore for CountedBlobs {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<()> {
        self.1.s3_put.fetch_add(1, Relaxed);
        self.0.put(key, body, content_type).await
    }
    async fn get(&self, key: &str) -> Result<Option<Blob>> {
        self.1.s3_get.fetch_add(1, Relaxed);
        self.0.get(key).await
    }
    async fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Option<Bytes>> {
        self.1.s3_get.fetch_add(1, Relaxed);
        self.0.get_range(key, start, len).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        // DELETE requests are free on S3.
        self.0.delete(key).await
    }
    async fn presigned_get(
        &self,
        key: &str,
        ttl: std::time::Duration,
        file_name: Option<&str>,
    ) -> Result<String> {
        // Signing is local; the download it allows is one GET.
        self.1.s3_get.fetch_add(1, Relaxed);
        self.0.presigned_get(key, ttl, file_name).await
    }
    async fn start_upload(&self, key: &str, content_type: &str) -> Result<Box<dyn Upload>> {
        self.1.s3_put.fetch_add(1, Relaxed);
        let inner = self.0.start_upload(key, content_type).await?;
        Ok(Box::new(CountedUpload(inner, self.1.clone())))
    }
}

struct CountedUpload(Box<dyn Upload>, Arc<Counters>);

#[async_trait::async_trait]
impl Upload for CountedUpload {
    async fn put_part(&mut self, bytes: Bytes) -> Result<()> {
        self.1.s3_put.fetch_add(1, Relaxed);
        self.0.put_part(bytes).await
    }
    async fn complete(self: Box<Self>) -> Result<()> {
        self.1.s3_put.fetch_add(1, Relaxed);
        self.0.complete().await
    }
    async fn abort(self: Box<Self>) -> Result<()> {
        self.0.abort().await
    }
}

struct CountedMail(Arc<dyn Mailer>, Arc<Counters>);

#[async_trait::async_trait]
impl Mailer for CountedMail {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }
    async fn send(&self, email: &Email) -> Result<String> {
        self.1.mail.fetch_add(1, Relaxed);
        self.0.send(email).await
    }
}

fn counted(s: &Services, c: &Arc<Counters>) -> Services {
    let mut out = s.clone();
    out.items = Arc::new(CountedItems(s.items.clone(), c.clone()));
    out.blobs = Arc::new(CountedBlobs(s.blobs.clone(), c.clone()));
    out.mailer = Arc::new(CountedMail(s.mailer.clone(), c.clone()));
    out
}

/// This thread's CPU time (user + system), from /proc (clock ticks of 10 ms).
fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("/proc/thread-self/stat");
    let after = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the line; `after` starts at field 3.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

struct Worked {
    slices: u64,
    cpu: f64,
    wall: f64,
}

/// Works every woken run on a thread of its own (as the worker Lambda would), in slices of
/// Lambda's 15 minutes less the worker's margin; returns the queue for the next run.
fn work_on_own_thread(
    worker: Services,
    reports: Services,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<steward_shared::runs::queue::RunRef>,
) -> (
    tokio::sync::mpsc::UnboundedReceiver<steward_shared::runs::queue::RunRef>,
    Worked,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (cpu0, wall0) = (thread_cpu_seconds(), Instant::now());
    let mut slices = 0;
    rt.block_on(async {
        while let Ok(r) = rx.try_recv() {
            slices += 1;
            let deadline = worker.clock.now() + chrono::Duration::minutes(14);
            steward_shared::runs::worker::work_local(
                &worker,
                &reports,
                &r.account_id,
                r.run_id,
                deadline,
            )
            .await
            .expect("a slice works");
        }
    });
    let worked = Worked {
        slices,
        cpu: thread_cpu_seconds() - cpu0,
        wall: wall0.elapsed().as_secs_f64(),
    };
    (rx, worked)
}

fn merge_body() -> Value {
    let template: Value =
        serde_json::from_str(include_str!("../../infra/bench/merge-contacts.json")).unwrap();
    json!({"module": "merge", "config": template["config"]})
}

fn transform_body() -> Value {
    json!({"module": "transform", "config": {"object": "contacts", "steps": [
        {"field": "firstname", "fn": "trim"},
        {"field": "lastname", "fn": "title_case"},
        {"field": "phone", "fn": "phone", "format": "e164", "default_region": "US"},
        {"field": "email", "fn": "email"}
    ]}})
}

fn main() {
    let records: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(|a| a.parse().expect("RECORDS is a number"))
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(records));
}

async fn run(records: usize) {
    let sb = Sandbox::start(SandboxConfig {
        records,
        faults: Faults {
            latency_ms: CRM_CALL_MS,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("the sandbox starts");
    let w = steward_shared::testing::TestWorld::build(
        Arc::new(steward_shared::clock::SystemClock),
        apps(&sb),
    );
    let mut rx = w
        .embedded
        .run_queue
        .lock()
        .unwrap()
        .take()
        .expect("the run queue");
    let counters = Arc::new(Counters::default());
    let s = counted(w.services(), &counters);
    let router = app_router();
    let owner = Browser::signed_in(&s, &router, "hubspot", OWNER).await;
    let f = functions(&s);
    let (worker, reports) = (f.worker_services().clone(), f.events_services().clone());

    println!(
        "{records} HubSpot contacts; worker at {WORKER_GB} GB, billed for its wall-clock time; each CRM call answered after {CRM_CALL_MS} ms\n"
    );
    println!(
        "| run | slices | worker CPU s | wall s | CRM calls | GB-s | RRU | WRU | S3 PUT | S3 GET | mail | Lambda $ | DynamoDB $ | S3 $ | SES $ | total $ |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut routes: Vec<String> = Vec::new();
    for (name, body) in [("transform", transform_body()), ("merge", merge_body())] {
        for mode in ["preview", "apply"] {
            counters.reset();
            sb.reset_stats();
            let mut body = body.clone();
            body["mode"] = json!(mode);
            body["notify"] = json!({"recipients": [OWNER]});
            let r = owner.send("POST", "/runs", Some(&body)).await;
            assert_eq!(r.status, 202, "{}", r.text);
            let id = r.json()["id"].as_str().unwrap().to_string();
            let (worker, reports) = (worker.clone(), reports.clone());
            let (back, worked) =
                tokio::task::spawn_blocking(move || work_on_own_thread(worker, reports, rx))
                    .await
                    .unwrap();
            rx = back;
            let run = owner.get(&format!("/runs/{id}")).await.json();
            assert!(
                ["succeeded", "partial"].contains(&run["status"].as_str().unwrap_or("")),
                "{run}"
            );
            // The person downloads the CSV once (a redirect to a signed link).
            let csv = owner.get(&format!("/runs/{id}/csv")).await;
            assert!([200, 302].contains(&csv.status), "{}", csv.text);
            let stats = sb.stats();
            let crm_calls = stats.hubspot + stats.salesforce;
            let by_route: Vec<String> = stats
                .by_route
                .iter()
                .filter(|(_, n)| **n * 100 >= crm_calls)
                .map(|(r, n)| format!("{n} × {r}"))
                .collect();
            routes.push(format!(
                "{name} {mode}: {} (peak {} in flight)",
                by_route.join(", "),
                stats.peak_in_flight
            ));
            let gb_s = worked.wall * WORKER_GB;
            let (rru, wru) = (counters.rru.load(Relaxed), counters.wru.load(Relaxed));
            let (put, get) = (counters.s3_put.load(Relaxed), counters.s3_get.load(Relaxed));
            let mail = counters.mail.load(Relaxed);
            // The slices, and the HTTP calls a person makes: start, a few polls, the link.
            let lambda = gb_s * LAMBDA_GB_SECOND + (worked.slices + 10) as f64 * LAMBDA_REQUEST;
            let dynamo = rru as f64 * DYNAMO_RRU + wru as f64 * DYNAMO_WRU;
            let s3 = put as f64 * S3_PUT + get as f64 * S3_GET;
            let ses = mail as f64 * SES_MESSAGE;
            println!(
                "| {name} {mode} | {} | {:.1} | {:.1} | {crm_calls} | {gb_s:.0} | {rru} | {wru} | {put} | {get} | {mail} | {lambda:.4} | {dynamo:.4} | {s3:.4} | {ses:.4} | {:.4} |",
                worked.slices,
                worked.cpu,
                worked.wall,
                lambda + dynamo + s3 + ses
            );
        }
    }
    println!("\nCRM calls by route (routes with ≥ 1% of a run's calls):");
    for r in routes {
        println!("- {r}");
    }
}
