//! HubSpot connector: CRM objects v3 (list, search, batch, merge), properties, users and
//! OAuth tokens, every request sent through the shared rate-limit and retry transport.

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::Value;
use std::sync::Arc;

use super::limits::hubspot as figures;
use super::transport::{AccountLimiter, Lane, Reply, Transport, Verdict};
use super::{
    ApiUsage, Crm, CrmError, CrmKind, CrmResult, CrmUser, Identity, LeadConvert,
    LeadConvertOutcome, MergeGroup, MergeOutcome, OAuthApp, ObjectSchema, Outcome, Properties,
    Record, ScanPage, ScanRequest, TokenSink, Tokens, Update,
};

mod account;
mod auth;
mod batch;
mod merge;
mod scan;
mod wire;

pub use auth::exchange_code;

/// The object types Steward works on (HubSpot also accepts their ids `0-1`, `0-2`, `0-3`).
const OBJECTS: &[&str] = &["contacts", "companies", "deals"];

/// How one HubSpot connection is reached and authorized.
pub struct HubSpotConfig {
    /// `https://api.hubapi.com`, or the sandbox's `hubspot_base()`.
    pub api_base: String,
    /// Steward's public app, needed to refresh OAuth tokens (None for a private-app token).
    pub app: Option<OAuthApp>,
    /// A private-app token is `Tokens { refresh_token: None, expires_at: None, .. }`.
    pub tokens: Tokens,
    /// Told about every refreshed token pair, so it can be stored.
    pub sink: Option<Arc<dyn TokenSink>>,
}

/// One HubSpot portal as Steward's `Crm` port.
pub struct HubSpot {
    base: String,
    app: Option<OAuthApp>,
    /// Held across a refresh, so concurrent callers wait for one refresh and share it.
    tokens: tokio::sync::Mutex<Tokens>,
    sink: Option<Arc<dyn TokenSink>>,
    transport: Transport,
}

/// One API request, described so the transport can build it again for each attempt.
#[derive(Debug, Clone)]
struct Call {
    method: Method,
    /// Path under the API base, starting with `/`, segments already encoded.
    path: String,
    query: Vec<(&'static str, String)>,
    /// JSON body.
    body: Option<Bytes>,
    lane: Lane,
    idempotent: bool,
}

impl Call {
    fn new(method: Method, path: String) -> Self {
        Call {
            method,
            path,
            query: Vec::new(),
            body: None,
            lane: Lane::Standard,
            idempotent: true,
        }
    }

    fn get(path: String) -> Self {
        Self::new(Method::GET, path)
    }

    fn post(path: String, body: &Value) -> Self {
        let mut call = Self::new(Method::POST, path);
        call.body = Some(Bytes::from(body.to_string()));
        call
    }

    fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    fn lane(mut self, lane: Lane) -> Self {
        self.lane = lane;
        self
    }

    /// Creates and merges: never resent unless HubSpot provably did not act.
    fn not_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }

    fn url(&self, base: &str) -> String {
        let mut url = format!("{base}{}", self.path);
        for (i, (k, v)) in self.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            url.push('=');
            url.push_str(&urlencoding::encode(v));
        }
        url
    }
}

impl HubSpot {
    pub fn new(config: HubSpotConfig, transport: Transport) -> Self {
        HubSpot {
            base: config.api_base.trim_end_matches('/').to_string(),
            app: config.app,
            tokens: tokio::sync::Mutex::new(config.tokens),
            sink: config.sink,
            transport,
        }
    }

    /// Sends `call` with a fresh token. A 401 refreshes the token once and resends once
    /// (HubSpot did not act on a 401, so this is safe for creates and merges too); a
    /// second 401 is `Auth`. Any other answer is returned for the caller to read.
    async fn send(&self, call: &Call) -> CrmResult<Reply> {
        let token = self.bearer().await?;
        let reply = self.send_with(call, Some(&token)).await?;
        if reply.status != 401 {
            return Ok(reply);
        }
        let token = self.refresh_after_401(&token, &reply).await?;
        let reply = self.send_with(call, Some(&token)).await?;
        if reply.status == 401 {
            return Err(CrmError::Auth(format!(
                "HubSpot refused a just-refreshed token: {}",
                wire::message_of(&reply)
            )));
        }
        Ok(reply)
    }

    /// One trip through the transport (its retries included) with `token`, if any.
    async fn send_with(&self, call: &Call, token: Option<&str>) -> CrmResult<Reply> {
        let http = self.transport.http.clone();
        let url = call.url(&self.base);
        let method = call.method.clone();
        let body = call.body.clone();
        let bearer = token.map(str::to_string);
        let build = move || {
            let mut rb = http.request(method.clone(), url.as_str());
            if let Some(t) = &bearer {
                rb = rb.bearer_auth(t);
            }
            if let Some(b) = &body {
                rb = rb
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.clone());
            }
            rb
        };
        let limiter = self.transport.limiter.clone();
        let classify = move |r: &Reply| classify(&limiter, r);
        self.transport
            .send(call.lane, call.idempotent, &build, &classify)
            .await
    }

    /// Sends `call` and expects a 2xx; anything else becomes the matching `CrmError`.
    async fn expect_ok(&self, call: &Call, what: &str) -> CrmResult<Reply> {
        let reply = self.send(call).await?;
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(wire::reply_error(&reply, what))
        }
    }
}

/// What the transport should do with an answer. Only rate limits and server errors are
/// decided here; every other status is handed back to the adapter to read.
fn classify(limiter: &AccountLimiter, r: &Reply) -> Verdict {
    if let Some((used, limit)) = wire::daily_usage(r) {
        limiter.record_usage(used, limit);
    }
    match r.status {
        429 => wire::rate_limit_verdict(r),
        500..=599 => Verdict::Failed,
        _ => Verdict::Done,
    }
}

/// The path segment of an object type, refusing anything that is not a type name or id.
fn object_path(object: &str) -> CrmResult<&str> {
    let ok = !object.is_empty()
        && object.len() <= 100
        && object
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(object)
    } else {
        Err(CrmError::Rejected(format!(
            "'{object}' is not a HubSpot object type"
        )))
    }
}

#[async_trait]
impl Crm for HubSpot {
    fn kind(&self) -> CrmKind {
        CrmKind::HubSpot
    }

    fn objects(&self) -> &'static [&'static str] {
        OBJECTS
    }

    #[tracing::instrument(skip(self))]
    async fn identity(&self) -> CrmResult<Identity> {
        self.identity_inner().await
    }

    #[tracing::instrument(skip(self))]
    async fn list_users(&self) -> CrmResult<Vec<CrmUser>> {
        self.users().await
    }

    #[tracing::instrument(skip(self))]
    async fn describe(&self, object: &str) -> CrmResult<ObjectSchema> {
        self.describe_inner(object).await
    }

    #[tracing::instrument(skip(self, request), fields(object = %request.object, filtered = request.filter.is_some()))]
    async fn scan_page(&self, request: &ScanRequest, cursor: Option<&str>) -> CrmResult<ScanPage> {
        self.scan(request, cursor).await
    }

    #[tracing::instrument(skip(self, ids, properties), fields(ids = ids.len()))]
    async fn batch_read(
        &self,
        object: &str,
        ids: &[String],
        properties: &[String],
    ) -> CrmResult<Vec<Record>> {
        self.read_many(object, ids, properties).await
    }

    #[tracing::instrument(skip(self, records), fields(records = records.len()))]
    async fn batch_create(&self, object: &str, records: &[Properties]) -> CrmResult<Vec<Outcome>> {
        self.create_many(object, records).await
    }

    #[tracing::instrument(skip(self, updates), fields(updates = updates.len()))]
    async fn batch_update(&self, object: &str, updates: &[Update]) -> CrmResult<Vec<Outcome>> {
        self.update_many(object, updates).await
    }

    #[tracing::instrument(skip(self, ids), fields(ids = ids.len()))]
    async fn batch_archive(&self, object: &str, ids: &[String]) -> CrmResult<Vec<Outcome>> {
        self.archive_many(object, ids).await
    }

    #[tracing::instrument(skip(self, groups), fields(groups = groups.len()))]
    async fn merge(&self, object: &str, groups: &[MergeGroup]) -> CrmResult<Vec<MergeOutcome>> {
        self.merge_groups(object, groups).await
    }

    async fn convert_leads(&self, _converts: &[LeadConvert]) -> CrmResult<Vec<LeadConvertOutcome>> {
        Err(CrmError::Unsupported(
            "HubSpot has no leads to convert (lead conversion is Salesforce only)".into(),
        ))
    }

    fn api_usage(&self) -> ApiUsage {
        self.transport.limiter.usage()
    }

    /// `POST /automation/v4/actions/callbacks/complete`, up to 100 callbacks a call.
    #[tracing::instrument(skip(self, output_fields), fields(callbacks = callback_ids.len()))]
    async fn complete_workflow_actions(
        &self,
        callback_ids: &[String],
        output_fields: &serde_json::Map<String, Value>,
    ) -> CrmResult<()> {
        for chunk in callback_ids.chunks(100) {
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|id| serde_json::json!({"callbackId": id, "outputFields": output_fields}))
                .collect();
            let call = Call::post(
                "/automation/v4/actions/callbacks/complete".into(),
                &serde_json::json!({ "inputs": inputs }),
            );
            self.expect_ok(&call, "completing workflow actions").await?;
        }
        Ok(())
    }
}

/// The token, for the few calls that need it outside a request header.
fn exposed(t: &secrecy::SecretString) -> &str {
    t.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_query_values() {
        let c = Call::get("/crm/v3/objects/contacts".into())
            .query("limit", "100")
            .query("properties", "email,first name");
        assert_eq!(
            c.url("http://x/hubspot"),
            "http://x/hubspot/crm/v3/objects/contacts?limit=100&properties=email%2Cfirst%20name"
        );
    }

    #[test]
    fn object_names_are_checked() {
        assert!(object_path("contacts").is_ok());
        assert!(object_path("0-1").is_ok());
        assert!(object_path("p_custom").is_ok());
        assert!(object_path("../oauth").is_err());
        assert!(object_path("").is_err());
    }
}
