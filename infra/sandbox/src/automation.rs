//! The CRMs' own automation calling Steward: a Salesforce Flow's Apex callout to a recipe
//! hook, and a HubSpot workflow's custom-action request. Both are built here as the exact
//! signed requests the CRM sends (pure functions other crates' tests use), and sent by two
//! control routes, as a Flow firing on a data load or a workflow enrolling records would:
//!
//! - `POST /_sandbox/automation/flow`, body [`FlowCallouts`]: Apex callouts to
//!   `{target}/hooks/salesforce/recipes/{recipe_id}`, signed with [`flow_signature`].
//! - `POST /_sandbox/automation/hubspot-action`, body [`HubSpotActions`]: one action request
//!   per object to `action_url`, signed as HubSpot signs (v3 and/or v2).
//!
//! Both answer [`Deliveries`]: every request sent, in order, with Steward's answer.
//! `GET /_sandbox/automation/callbacks` lists the HubSpot callback completions Steward
//! made (see `hubspot/automation.rs`); `POST /_sandbox/automation/callbacks/reset` empties it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use ring::{digest, hmac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

use crate::hubspot::{CallbackCompletion, PORTAL_ID};
use crate::server::AppState;

/// Callouts a per-record Flow delivery keeps in flight at once.
pub const MAX_CONCURRENT_CALLOUTS: usize = 16;
/// How long one callout waits for Steward's answer (Apex's callout limit is 120 s).
const CALLOUT_TIMEOUT: Duration = Duration::from_secs(120);

/// A request exactly as the CRM sends it: `POST url` with these headers and body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub method: &'static str,
    pub url: String,
    /// Header names as the CRM spells them (HTTP compares them case-insensitively).
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl SignedRequest {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn hex(bytes: &[u8]) -> String {
    steward_shared::crypto::hex(bytes)
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, message).as_ref().to_vec()
}

/// The path of an absolute URL (`http://h:1/a/b?q` → `/a/b`), `/` when it has none.
pub fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or("/")
}

// ---------------------------------------------------------------------------------------
// Salesforce: the recipe hook callout an Apex Queueable sends from a Flow.
// ---------------------------------------------------------------------------------------

/// `v1=<hex HMAC-SHA256(secret, "{timestamp}:{METHOD}:{path}:{sha256_hex(body)}")>`: the
/// `X-Steward-Signature` of a recipe hook call. `path` has no query string.
pub fn flow_signature(
    secret: &str,
    timestamp: i64,
    method: &str,
    path: &str,
    body: &[u8],
) -> String {
    let body_hash = hex(digest::digest(&digest::SHA256, body).as_ref());
    let message = format!("{timestamp}:{method}:{path}:{body_hash}");
    format!(
        "v1={}",
        hex(&hmac_sha256(secret.as_bytes(), message.as_bytes()))
    )
}

/// The JSON body of a recipe hook call, fields in this order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowBody {
    pub invocation_id: String,
    pub record_ids: Vec<String>,
}

/// The callout a Flow's Apex action sends for `record_ids`: `POST
/// {base}/hooks/salesforce/recipes/{recipe_id}` with `Content-Type: application/json`,
/// `X-Steward-Account: {account_id}` (`salesforce:<org id 18>`), `X-Steward-Timestamp:
/// {timestamp}` (Unix seconds) and `X-Steward-Signature` ([`flow_signature`] over the path
/// and these exact body bytes, `{"invocation_id":…,"record_ids":[…]}`). `base` is Steward's
/// base URL without a trailing slash (one is dropped).
pub fn flow_callout(
    base: &str,
    recipe_id: &str,
    account_id: &str,
    secret: &str,
    invocation_id: &str,
    record_ids: &[String],
    timestamp: i64,
) -> SignedRequest {
    let url = format!(
        "{}/hooks/salesforce/recipes/{recipe_id}",
        base.trim_end_matches('/')
    );
    let body = serde_json::to_string(&FlowBody {
        invocation_id: invocation_id.to_string(),
        record_ids: record_ids.to_vec(),
    })
    .unwrap_or_default();
    let signature = flow_signature(secret, timestamp, "POST", path_of(&url), body.as_bytes());
    SignedRequest {
        method: "POST",
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-Steward-Account".into(), account_id.to_string()),
            ("X-Steward-Timestamp".into(), timestamp.to_string()),
            ("X-Steward-Signature".into(), signature),
        ],
        url,
        body,
    }
}

/// The sandbox org's account id as Steward names it: `salesforce:00D5g0000000001EAA`.
pub fn salesforce_account() -> String {
    format!("salesforce:{}", crate::salesforce::ORG_ID)
}

// ---------------------------------------------------------------------------------------
// HubSpot: a workflow's custom action request.
// ---------------------------------------------------------------------------------------

/// `X-HubSpot-Signature-v3`: base64 HMAC-SHA256 with the app's client secret over the
/// UTF-8 string `method + uri + body + timestamp` (`uri` the full URL HubSpot called,
/// `timestamp` the `X-HubSpot-Request-Timestamp` value in Unix milliseconds).
pub fn hubspot_v3_signature(
    client_secret: &str,
    method: &str,
    uri: &str,
    body: &str,
    timestamp_ms: i64,
) -> String {
    let message = format!("{method}{uri}{body}{timestamp_ms}");
    STANDARD.encode(hmac_sha256(client_secret.as_bytes(), message.as_bytes()))
}

/// `X-HubSpot-Signature` with `X-HubSpot-Signature-Version: v2`: lowercase hex SHA-256 of
/// `client_secret + method + uri + body` (no timestamp: v2 cannot expire).
pub fn hubspot_v2_signature(client_secret: &str, method: &str, uri: &str, body: &str) -> String {
    let source = format!("{client_secret}{method}{uri}{body}");
    hex(digest::digest(&digest::SHA256, source.as_bytes()).as_ref())
}

/// Which signatures a HubSpot request carries. HubSpot itself sends v3 and an older
/// version side by side; `V3` and `V2` send one alone, to test each verification path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HubSpotSignature {
    #[default]
    V3,
    V2,
    Both,
}

/// One execution of a custom workflow action on one enrolled record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubSpotAction {
    /// HubSpot's id for this execution (`ap-…`), kept across HubSpot's retries; completing
    /// it through the callbacks API lets the workflow go on.
    pub callback_id: String,
    pub portal_id: u64,
    pub action_definition_id: u64,
    pub action_definition_version: u64,
    pub workflow_id: u64,
    /// `CONTACT`, `COMPANY`, `DEAL` or `TICKET`.
    pub object_type: String,
    pub object_id: u64,
    /// The `recipe_id` input field the workflow's author picked.
    pub recipe_id: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionBody {
    callback_id: String,
    origin: ActionOrigin,
    context: ActionContext,
    object: ActionObject,
    input_fields: ActionInputs,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionOrigin {
    portal_id: u64,
    action_definition_id: u64,
    action_definition_version: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionContext {
    source: String,
    workflow_id: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionObject {
    object_id: u64,
    object_type: String,
}

#[derive(Serialize, Deserialize)]
struct ActionInputs {
    recipe_id: String,
}

impl HubSpotAction {
    /// The request body in HubSpot's shape: `{"callbackId", "origin": {"portalId",
    /// "actionDefinitionId", "actionDefinitionVersion"}, "context": {"source": "WORKFLOWS",
    /// "workflowId"}, "object": {"objectId", "objectType"}, "inputFields": {"recipe_id"}}`.
    pub fn body(&self) -> String {
        serde_json::to_string(&ActionBody {
            callback_id: self.callback_id.clone(),
            origin: ActionOrigin {
                portal_id: self.portal_id,
                action_definition_id: self.action_definition_id,
                action_definition_version: self.action_definition_version,
            },
            context: ActionContext {
                source: "WORKFLOWS".into(),
                workflow_id: self.workflow_id,
            },
            object: ActionObject {
                object_id: self.object_id,
                object_type: self.object_type.clone(),
            },
            input_fields: ActionInputs {
                recipe_id: self.recipe_id.clone(),
            },
        })
        .unwrap_or_default()
    }
}

/// The request HubSpot sends to `action_url` for `action`, signed with the app's
/// `client_secret`: `Content-Type: application/json`, and per `signature` the v3 headers
/// (`X-HubSpot-Signature-v3`, `X-HubSpot-Request-Timestamp: {timestamp_ms}`) and/or the v2
/// ones (`X-HubSpot-Signature`, `X-HubSpot-Signature-Version: v2`). Both sign the full
/// `action_url` as the URI.
pub fn hubspot_action_request(
    action_url: &str,
    client_secret: &str,
    action: &HubSpotAction,
    timestamp_ms: i64,
    signature: HubSpotSignature,
) -> SignedRequest {
    let body = action.body();
    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    if matches!(signature, HubSpotSignature::V3 | HubSpotSignature::Both) {
        let v3 = hubspot_v3_signature(client_secret, "POST", action_url, &body, timestamp_ms);
        headers.push(("X-HubSpot-Signature-v3".into(), v3));
        headers.push((
            "X-HubSpot-Request-Timestamp".into(),
            timestamp_ms.to_string(),
        ));
    }
    if matches!(signature, HubSpotSignature::V2 | HubSpotSignature::Both) {
        let v2 = hubspot_v2_signature(client_secret, "POST", action_url, &body);
        headers.push(("X-HubSpot-Signature".into(), v2));
        headers.push(("X-HubSpot-Signature-Version".into(), "v2".into()));
    }
    SignedRequest {
        method: "POST",
        url: action_url.to_string(),
        headers,
        body,
    }
}

/// A fresh callback id in HubSpot's form: `ap-{portalId}-{digits}-{n}-0`.
pub fn new_callback_id(portal_id: u64) -> String {
    let mut rng = rand::rng();
    format!(
        "ap-{portal_id}-{}-{}-0",
        rng.random_range(10_000_000_000u64..99_999_999_999),
        rng.random_range(1..100u32)
    )
}

// ---------------------------------------------------------------------------------------
// Control routes.
// ---------------------------------------------------------------------------------------

fn one() -> u32 {
    1
}

/// Body of `POST /_sandbox/automation/flow`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowCallouts {
    /// Steward's base URL (`http://127.0.0.1:8080`).
    pub target: String,
    pub recipe_id: String,
    pub record_ids: Vec<String>,
    /// The account's recipe signing secret, as the org's Named Credential holds it.
    pub signing_secret: String,
    /// One callout per record (a Flow firing per record in a data load), each with its own
    /// invocation id, up to [`MAX_CONCURRENT_CALLOUTS`] at once; else one with every id.
    #[serde(default)]
    pub per_record: bool,
    /// Each callout is delivered this many times, one after the other, with the same
    /// invocation id (Apex retrying). Default 1.
    #[serde(default = "one")]
    pub repeat: u32,
    /// Added to the signing clock (negative: a stale timestamp).
    #[serde(default)]
    pub clock_skew_seconds: i64,
    /// The body is changed after signing (one more record id), so the signature is wrong.
    #[serde(default)]
    pub tamper: bool,
    /// `X-Steward-Account`; default the sandbox org, `salesforce:00D5g0000000001EAA`.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The invocation id (with `per_record`, each callout's is this with `-{n}` appended);
    /// default a fresh `sf-{org id}-{random}`.
    #[serde(default)]
    pub invocation_id: Option<String>,
}

/// Body of `POST /_sandbox/automation/hubspot-action`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSpotActions {
    /// The definition's actionUrl (`{steward}/hooks/hubspot/workflow-action`).
    pub action_url: String,
    pub recipe_id: String,
    /// Record ids (numbers, or strings of digits): one request each, up to
    /// [`MAX_CONCURRENT_CALLOUTS`] at once, each with a fresh callbackId.
    pub object_ids: Vec<Value>,
    /// Default `CONTACT`.
    #[serde(default = "contact")]
    pub object_type: String,
    /// Each request is delivered this many times, one after the other, with the same
    /// callbackId (HubSpot retrying). Default 1.
    #[serde(default = "one")]
    pub repeat: u32,
    /// `v3` (default), `v2`, or `both` (as HubSpot really sends).
    #[serde(default)]
    pub signature: HubSpotSignature,
    /// Added to the signing clock (negative: a stale `X-HubSpot-Request-Timestamp`).
    #[serde(default)]
    pub clock_skew_ms: i64,
    /// The body is changed after signing (another objectId), so the signature is wrong.
    #[serde(default)]
    pub tamper: bool,
    /// Default the sandbox portal, 24681357.
    #[serde(default)]
    pub portal_id: Option<u64>,
    /// Default the sandbox app's client secret ([`crate::CLIENT_SECRET`]).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Default 1; the actionDefinitionId is the sandbox's definition with this actionUrl
    /// (registered through the automation API), else 1.
    #[serde(default)]
    pub workflow_id: Option<u64>,
}

fn contact() -> String {
    "CONTACT".into()
}

/// One request the sandbox sent and what Steward answered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    /// The Flow's invocation id, or the HubSpot callbackId.
    pub invocation_id: String,
    /// 1 for the first delivery, up to `repeat`.
    pub attempt: u32,
    /// HTTP status; 0 when no answer came (connection refused, timeout).
    pub status: u16,
    /// The answer's JSON, else its text (or the transport error).
    pub body: Value,
    /// Flow callouts: the record ids in the body as signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_ids: Option<Vec<String>>,
    /// HubSpot actions: the enrolled record's id as signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<u64>,
}

/// The answer of both delivery routes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Deliveries {
    pub deliveries: Vec<Delivery>,
}

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/_sandbox/automation/flow", post(flow))
        .route("/_sandbox/automation/hubspot-action", post(hubspot_action))
        .route("/_sandbox/automation/callbacks", get(callbacks))
        .route(
            "/_sandbox/automation/callbacks/reset",
            post(reset_callbacks),
        )
}

fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}

fn client() -> reqwest::Client {
    static CLIENT: std::sync::LazyLock<reqwest::Client> = std::sync::LazyLock::new(|| {
        steward_shared::tls::http_client()
            .timeout(CALLOUT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    });
    CLIENT.clone()
}

/// Sends `req` as is; status 0 with the error's text when no answer came.
pub async fn send(req: &SignedRequest) -> (u16, Value) {
    let mut builder = client().post(&req.url).body(req.body.clone());
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    match builder.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let body = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            };
            (status, body)
        }
        Err(e) => (0, Value::String(format!("no answer: {e}"))),
    }
}

/// One request to deliver `repeat` times, and what to report about it.
struct Job {
    id: String,
    request: SignedRequest,
    record_ids: Option<Vec<String>>,
    object_id: Option<u64>,
}

/// Delivers every job `repeat` times (a job's deliveries one after the other), at most
/// [`MAX_CONCURRENT_CALLOUTS`] jobs at once; deliveries in job order, then attempt order.
async fn deliver(jobs: Vec<Job>, repeat: u32) -> Vec<Delivery> {
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_CALLOUTS));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, job) in jobs.into_iter().enumerate() {
        let limit = limit.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.ok();
            let mut out = Vec::new();
            for attempt in 1..=repeat.max(1) {
                let (status, body) = send(&job.request).await;
                out.push(Delivery {
                    invocation_id: job.id.clone(),
                    attempt,
                    status,
                    body,
                    record_ids: job.record_ids.clone(),
                    object_id: job.object_id,
                });
            }
            (index, out)
        });
    }
    let mut done = tasks.join_all().await;
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().flat_map(|(_, d)| d).collect()
}

fn random_suffix() -> String {
    hex(&rand::rng().random::<[u8; 6]>())
}

/// The Flow's callouts (signed, tampered if asked), one per record or one for all.
pub fn flow_jobs(req: &FlowCallouts, now_secs: i64) -> Vec<(String, SignedRequest, Vec<String>)> {
    let account = req.account_id.clone().unwrap_or_else(salesforce_account);
    let base_id = req
        .invocation_id
        .clone()
        .unwrap_or_else(|| format!("sf-{}-{}", crate::salesforce::ORG_ID, random_suffix()));
    let batches: Vec<(String, Vec<String>)> = if req.per_record {
        req.record_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (format!("{base_id}-{}", i + 1), vec![id.clone()]))
            .collect()
    } else {
        vec![(base_id, req.record_ids.clone())]
    };
    let timestamp = now_secs + req.clock_skew_seconds;
    batches
        .into_iter()
        .map(|(id, records)| {
            let mut signed = flow_callout(
                &req.target,
                &req.recipe_id,
                &account,
                &req.signing_secret,
                &id,
                &records,
                timestamp,
            );
            let mut sent = records;
            if req.tamper {
                sent.push("0035g00000TamperAAA".into());
                signed.body = serde_json::to_string(&FlowBody {
                    invocation_id: id.clone(),
                    record_ids: sent.clone(),
                })
                .unwrap_or_default();
            }
            (id, signed, sent)
        })
        .collect()
}

async fn flow(Json(req): Json<FlowCallouts>) -> Response {
    if req.target.trim().is_empty() || req.recipe_id.trim().is_empty() {
        return bad_request("target and recipe_id are required");
    }
    if req.record_ids.is_empty() {
        return bad_request("record_ids must not be empty");
    }
    let jobs = flow_jobs(&req, chrono::Utc::now().timestamp())
        .into_iter()
        .map(|(id, request, records)| Job {
            id,
            request,
            record_ids: Some(records),
            object_id: None,
        })
        .collect();
    Json(Deliveries {
        deliveries: deliver(jobs, req.repeat).await,
    })
    .into_response()
}

fn object_id(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

async fn hubspot_action(
    State(s): State<Arc<AppState>>,
    Json(req): Json<HubSpotActions>,
) -> Response {
    if req.action_url.trim().is_empty() || req.recipe_id.trim().is_empty() {
        return bad_request("action_url and recipe_id are required");
    }
    let Some(ids) = req
        .object_ids
        .iter()
        .map(object_id)
        .collect::<Option<Vec<u64>>>()
    else {
        return bad_request("object_ids must be record ids (numbers or strings of digits)");
    };
    if ids.is_empty() {
        return bad_request("object_ids must not be empty");
    }
    let portal_id = req.portal_id.unwrap_or(PORTAL_ID);
    let (definition_id, version) = s
        .hubspot()
        .action_definition_for(&req.action_url)
        .unwrap_or((1, 1));
    let secret = req
        .client_secret
        .clone()
        .unwrap_or_else(|| crate::CLIENT_SECRET.to_string());
    let timestamp_ms = chrono::Utc::now().timestamp_millis() + req.clock_skew_ms;
    let jobs = ids
        .into_iter()
        .map(|object_id| {
            let mut action = HubSpotAction {
                callback_id: new_callback_id(portal_id),
                portal_id,
                action_definition_id: definition_id,
                action_definition_version: version,
                workflow_id: req.workflow_id.unwrap_or(1),
                object_type: req.object_type.clone(),
                object_id,
                recipe_id: req.recipe_id.clone(),
            };
            let mut request = hubspot_action_request(
                &req.action_url,
                &secret,
                &action,
                timestamp_ms,
                req.signature,
            );
            if req.tamper {
                action.object_id = action.object_id.wrapping_add(1);
                request.body = action.body();
            }
            Job {
                id: action.callback_id.clone(),
                request,
                record_ids: None,
                object_id: Some(action.object_id),
            }
        })
        .collect();
    Json(Deliveries {
        deliveries: deliver(jobs, req.repeat).await,
    })
    .into_response()
}

async fn callbacks(State(s): State<Arc<AppState>>) -> Json<Vec<CallbackCompletion>> {
    Json(s.hubspot().callback_completions())
}

async fn reset_callbacks(State(s): State<Arc<AppState>>) -> StatusCode {
    s.hubspot().reset_callback_completions();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests;
