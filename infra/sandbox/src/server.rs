//! The sandbox's HTTP server: an accept loop (so a fault can drop a connection without an
//! answer), the fault layer in front of both CRMs, call counting, and `/_sandbox/*`:
//!
//! - `GET /_sandbox/stats`, `POST /_sandbox/stats/reset`: requests answered ([`Stats`]).
//! - `PUT /_sandbox/faults`: the [`Faults`] to inject from now on (`gateway_html`: 5xx as
//!   a gateway's HTML pages).
//! - `POST /_sandbox/expire-tokens`: every access token of both CRMs stops working.
//! - `GET /_sandbox/ground-truth`: the duplicate clusters as JSON lines.
//! - `GET /_sandbox/writes`: the write log, a JSON list of [`WriteEntry`] (one per record
//!   write either CRM applied; faulted requests never reach a CRM, so never log);
//!   `POST /_sandbox/writes/reset` empties it.
//! - `/_sandbox/automation/*`: signed Flow callouts and HubSpot action requests sent to
//!   Steward, and the HubSpot callback completions received (see `automation.rs`).

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::routing::{get, post, put};
use axum::{Json, response::IntoResponse};
use hyper_util::rt::TokioIo;
use rand::Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::config::{Faults, SandboxConfig};
use crate::generator::{self, Dataset};
use crate::snapshot::{Persistence, Snapshot};
use crate::writes::{WriteEntry, WriteLog};
use crate::{hubspot, salesforce};
use std::sync::atomic::Ordering::Relaxed;

/// Requests the sandbox answered, per CRM and per route, for tests that count API calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub hubspot: u64,
    pub salesforce: u64,
    /// `"{METHOD} {path}"` with ids as they were sent.
    pub by_route: BTreeMap<String, u64>,
    pub injected_429: u64,
    pub injected_5xx: u64,
    pub dropped: u64,
    /// The most API requests being answered at one moment (a client's concurrency).
    pub peak_in_flight: u64,
}

pub struct AppState {
    pub config: RwLock<SandboxConfig>,
    pub stats: Mutex<Stats>,
    pub hubspot: Mutex<hubspot::World>,
    pub salesforce: Mutex<salesforce::World>,
    /// Every record write either CRM applied (shared with both worlds).
    pub writes: WriteLog,
    /// Base URL the server is reachable at (for redirects and `nextRecordsUrl`-style links).
    pub base_url: String,
    pub dataset_clusters: Vec<generator::Cluster>,
    /// API requests being answered now (outside `stats`: a reset must not unbalance it).
    in_flight: std::sync::atomic::AtomicU64,
}

/// Counts an API request in flight while it lives.
struct InFlight(Arc<AppState>);

impl InFlight {
    fn enter(state: &Arc<AppState>) -> Self {
        let now = state.in_flight.fetch_add(1, Relaxed) + 1;
        let mut st = state.stats();
        st.peak_in_flight = st.peak_in_flight.max(now);
        Self(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

impl AppState {
    pub fn new(config: SandboxConfig, base_url: String) -> Self {
        let data: Dataset = generator::generate(config.seed, config.records, config.duplicate_rate);
        let writes = WriteLog::default();
        let mut hubspot = hubspot::World::seed(&data, &config);
        hubspot.log_writes_to(&writes);
        let mut salesforce = salesforce::World::seed(&data, &config);
        salesforce.log_writes_to(&writes);
        Self {
            config: RwLock::new(config),
            stats: Mutex::new(Stats::default()),
            hubspot: Mutex::new(hubspot),
            salesforce: Mutex::new(salesforce),
            writes,
            base_url,
            dataset_clusters: data.clusters,
            in_flight: Default::default(),
        }
    }

    pub fn config(&self) -> SandboxConfig {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn hubspot(&self) -> std::sync::MutexGuard<'_, hubspot::World> {
        self.hubspot.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn salesforce(&self) -> std::sync::MutexGuard<'_, salesforce::World> {
        self.salesforce.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ground truth as JSON lines: one cluster per line, with each CRM's record ids.
    pub fn ground_truth(&self) -> String {
        let hs = self.hubspot();
        let sf = self.salesforce();
        let mut out = String::new();
        for c in &self.dataset_clusters {
            let line = serde_json::json!({
                "kind": c.kind,
                "keys": c.keys,
                "hubspot": c.keys.iter().filter_map(|k| hs.id_of_key(k)).collect::<Vec<_>>(),
                "salesforce": c.keys.iter().filter_map(|k| sf.id_of_key(k)).collect::<Vec<_>>(),
            });
            out.push_str(&line.to_string());
            out.push('\n');
        }
        out
    }
}

/// The whole sandbox as one router (both CRMs and the control routes).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .nest("/hubspot", hubspot::routes())
        .nest("/salesforce", salesforce::routes())
        .route("/_sandbox/stats", get(get_stats))
        .route("/_sandbox/stats/reset", post(reset_stats))
        .route("/_sandbox/faults", put(set_faults))
        .route("/_sandbox/expire-tokens", post(expire_tokens))
        .route("/_sandbox/ground-truth", get(ground_truth))
        .route("/_sandbox/writes", get(get_writes))
        .route("/_sandbox/writes/reset", post(reset_writes))
        .merge(crate::automation::routes())
        .with_state(state)
}

async fn get_stats(State(s): State<Arc<AppState>>) -> Json<Stats> {
    Json(s.stats().clone())
}

async fn reset_stats(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    *s.stats() = Stats::default();
    axum::http::StatusCode::NO_CONTENT
}

async fn get_writes(State(s): State<Arc<AppState>>) -> Json<Vec<WriteEntry>> {
    Json(s.writes.entries())
}

async fn reset_writes(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    s.writes.clear();
    axum::http::StatusCode::NO_CONTENT
}

async fn set_faults(State(s): State<Arc<AppState>>, Json(f): Json<Faults>) -> impl IntoResponse {
    s.config.write().unwrap_or_else(|p| p.into_inner()).faults = f;
    axum::http::StatusCode::NO_CONTENT
}

async fn expire_tokens(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    s.hubspot().expire_tokens();
    s.salesforce().expire_tokens();
    axum::http::StatusCode::NO_CONTENT
}

async fn ground_truth(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/x-ndjson")],
        s.ground_truth(),
    )
}

enum Crm {
    HubSpot,
    Salesforce,
}

/// Which CRM API a path belongs to; OAuth browser pages and control routes get no faults.
fn api_of(path: &str) -> Option<Crm> {
    // Browser login pages (`…/authorize`, `/hubspot/oauth/{portalId}/authorize`) never fail.
    if path.ends_with("/authorize") {
        None
    } else if path.starts_with("/hubspot/") {
        Some(Crm::HubSpot)
    } else if path.starts_with("/salesforce/services/") {
        Some(Crm::Salesforce)
    } else {
        None
    }
}

enum Fault {
    None,
    Drop,
    Status429,
    Status5xx(u16),
}

fn pick_fault(f: &Faults) -> Fault {
    let mut rng = rand::rng();
    if f.drop_rate > 0.0 && rng.random_bool(f.drop_rate.clamp(0.0, 1.0)) {
        return Fault::Drop;
    }
    if f.rate_5xx > 0.0 && rng.random_bool(f.rate_5xx.clamp(0.0, 1.0)) {
        return Fault::Status5xx(if f.gateway_html {
            [502, 504][rng.random_range(0..2)]
        } else {
            [500, 502, 503, 504][rng.random_range(0..4)]
        });
    }
    if f.rate_429 > 0.0 && rng.random_bool(f.rate_429.clamp(0.0, 1.0)) {
        return Fault::Status429;
    }
    Fault::None
}

/// A gateway's own error page for `code` (502/504): HTML, not the CRM's JSON, as the load
/// balancer or CDN in front of either CRM answers when the API behind it fails or stalls.
pub fn gateway_page(code: u16) -> axum::response::Response {
    let status =
        axum::http::StatusCode::from_u16(code).unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Gateway Error")
    );
    let page = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n\
         <center><h1>{title}</h1></center>\r\n<hr><center>gateway</center>\r\n</body>\r\n</html>\r\n"
    );
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "text/html")],
        page,
    )
        .into_response()
}

/// Answers one request: counts it, injects faults, then routes. `Err` drops the connection.
async fn answer(
    state: Arc<AppState>,
    app: Router,
    req: axum::http::Request<hyper::body::Incoming>,
) -> Result<axum::response::Response, std::io::Error> {
    let path = req.uri().path().to_string();
    let crm = api_of(&path);
    let _in_flight = crm.is_some().then(|| InFlight::enter(&state));
    if let Some(crm) = &crm {
        let faults = state.config().faults;
        {
            let mut st = state.stats();
            match crm {
                Crm::HubSpot => st.hubspot += 1,
                Crm::Salesforce => st.salesforce += 1,
            }
            *st.by_route
                .entry(format!("{} {}", req.method(), path))
                .or_default() += 1;
        }
        if faults.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
        }
        match pick_fault(&faults) {
            Fault::None => {}
            Fault::Drop => {
                state.stats().dropped += 1;
                return Err(std::io::Error::other("fault injection: connection dropped"));
            }
            Fault::Status5xx(code) => {
                state.stats().injected_5xx += 1;
                return Ok(match crm {
                    _ if faults.gateway_html => gateway_page(code),
                    Crm::HubSpot => hubspot::server_error(code),
                    Crm::Salesforce => salesforce::server_error(code),
                });
            }
            Fault::Status429 => {
                state.stats().injected_429 += 1;
                let authorization = req
                    .headers()
                    .get(axum::http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok());
                return Ok(match crm {
                    Crm::HubSpot => hubspot::ten_secondly_429(&state, authorization),
                    Crm::Salesforce => salesforce::server_error(503),
                });
            }
        }
    }
    let req = req.map(Body::new);
    Ok(app
        .oneshot(req)
        .await
        .unwrap_or_else(|e: std::convert::Infallible| match e {}))
}

/// A running sandbox on 127.0.0.1. Dropping it stops the server (call [`Sandbox::save`]
/// first to keep the last changes of one started on a state file).
pub struct Sandbox {
    pub url: String,
    pub state: Arc<AppState>,
    task: tokio::task::JoinHandle<()>,
    /// Started on a state file: its snapshot writer.
    persistence: Option<(Arc<Persistence>, tokio::task::JoinHandle<()>)>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.task.abort();
        if let Some((_, writer)) = &self.persistence {
            writer.abort();
        }
    }
}

impl Sandbox {
    /// Starts on a free port.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        Self::start_on(config, 0).await
    }

    pub async fn start_on(config: SandboxConfig, port: u16) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(AppState::new(config, url.clone()));
        Self::serve(listener, url, state, None)
    }

    /// Starts on the state kept in `state_file` (see `snapshot.rs`): restored if the file
    /// exists (on the port it had, unless that is taken; else `port`), written there soon
    /// after every change and by [`Sandbox::save`]. An unusable file is an error that
    /// names it, never silently replaced by fresh data.
    pub async fn start_persistent(
        config: SandboxConfig,
        port: u16,
        state_file: &std::path::Path,
    ) -> std::io::Result<Sandbox> {
        let saved = Snapshot::read(state_file, &config).map_err(std::io::Error::other)?;
        let listener = match saved.as_ref().map(|s| s.port).filter(|p| *p != 0) {
            Some(kept) => match TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], kept))).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(port = kept, error = %e, "the sandbox CRM's port is taken; it listens on another (connections made before that kept its address must sign in again)");
                    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?
                }
            },
            None => TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?,
        };
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        let state = Arc::new(AppState::new(config, url.clone()));
        if let Some(snap) = saved {
            snap.restore_into(&state);
        }
        let persistence = Persistence::new(state_file.to_path_buf(), addr.port(), state.clone());
        persistence.save()?;
        Self::serve(listener, url, state, Some(persistence))
    }

    fn serve(
        listener: TcpListener,
        url: String,
        state: Arc<AppState>,
        persistence: Option<Arc<Persistence>>,
    ) -> std::io::Result<Sandbox> {
        if let Some(path) = state.config().ground_truth {
            std::fs::write(path, state.ground_truth())?;
        }
        let mut app = router(state.clone());
        if let Some(p) = &persistence {
            // Every request a CRM answered may have changed it (faulted ones never reach it).
            let p = p.clone();
            app = app.layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    let p = p.clone();
                    async move {
                        let resp = next.run(req).await;
                        p.changed();
                        resp
                    }
                },
            ));
        }
        let st = state.clone();
        let task = tokio::spawn(async move {
            // Connections end with the server: a stopped sandbox answers nothing more.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                while connections.try_join_next().is_some() {}
                let (state, app) = (st.clone(), app.clone());
                connections.spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        answer(state.clone(), app.clone(), req)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        let persistence = persistence.map(|p| (p.clone(), tokio::spawn(p.run())));
        Ok(Sandbox {
            url,
            state,
            task,
            persistence,
        })
    }

    /// Writes the state file now (a sandbox started on one; else nothing): at shutdown,
    /// so nothing of the last moments is lost.
    pub fn save(&self) -> std::io::Result<()> {
        match &self.persistence {
            Some((p, _)) => p.save(),
            None => Ok(()),
        }
    }

    /// Saves the state file (if any) and stops serving: the port is free, and every
    /// connection closed, when this returns.
    pub async fn stop(mut self) -> std::io::Result<()> {
        let saved = self.save();
        self.task.abort();
        let _ = (&mut self.task).await;
        saved
    }

    /// A change made in process (not through a request): the state file follows.
    fn changed(&self) {
        if let Some((p, _)) = &self.persistence {
            p.changed();
        }
    }

    /// HubSpot's API base (stands in for `https://api.hubapi.com`).
    pub fn hubspot_base(&self) -> String {
        format!("{}/hubspot", self.url)
    }

    /// Salesforce's login host (and instance host).
    pub fn salesforce_base(&self) -> String {
        format!("{}/salesforce", self.url)
    }

    pub fn stats(&self) -> Stats {
        self.state.stats().clone()
    }

    pub fn reset_stats(&self) {
        *self.state.stats() = Stats::default();
    }

    /// The write log: one entry per record write either CRM applied, in order.
    pub fn writes(&self) -> Vec<WriteEntry> {
        self.state.writes.entries()
    }

    /// HubSpot callback completions received, in order (`GET /_sandbox/automation/callbacks`).
    pub fn callback_completions(&self) -> Vec<crate::hubspot::CallbackCompletion> {
        self.state.hubspot().callback_completions()
    }

    /// Empties the write log (sequence numbers keep counting).
    pub fn reset_writes(&self) {
        self.state.writes.clear();
    }

    /// Write-log entries per `(object, id, op)`: e.g. no count above 1 for an `"update"`
    /// key means no record was updated twice.
    pub fn writes_per_record(&self) -> BTreeMap<(String, String, String), usize> {
        self.state.writes.per_record()
    }

    pub fn set_faults(&self, faults: Faults) {
        self.state
            .config
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .faults = faults;
    }

    pub fn expire_tokens(&self) {
        self.state.hubspot().expire_tokens();
        self.state.salesforce().expire_tokens();
        self.changed();
    }

    /// How long HubSpot writes take to reach search from now on (0: at once).
    pub fn set_search_lag(&self, lag: Duration) {
        self.state
            .config
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .hubspot
            .search_lag_ms = u64::try_from(lag.as_millis()).unwrap_or(u64::MAX);
        self.state.hubspot().set_search_lag(lag);
    }

    /// Every HubSpot write still on its way to search arrives now, as if the lag had
    /// passed (tests use it instead of waiting).
    pub fn settle_search(&self) {
        self.state.hubspot().settle_search();
    }

    /// Deletes a field from an object's schema, as an admin would: a HubSpot property
    /// (`contacts`, `jobtitle`) or a Salesforce field (`Contact`, `LeadSource`). Describe
    /// no longer lists it. False when neither CRM has it.
    pub fn delete_field(&self, object: &str, field: &str) -> bool {
        let h = self.state.hubspot().delete_property(object, field);
        let s = self.state.salesforce().delete_field(object, field);
        self.changed();
        h || s
    }

    /// Deactivates or reactivates a CRM user (by email) in both CRMs; false if neither has them.
    pub fn set_user_active(&self, email: &str, active: bool) -> bool {
        let h = self.state.hubspot().set_user_active(email, active);
        let s = self.state.salesforce().set_user_active(email, active);
        self.changed();
        h || s
    }
}
