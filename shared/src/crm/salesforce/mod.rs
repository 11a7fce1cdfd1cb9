//! Salesforce connector: REST (SOQL paging, describe, sObject Collections) and the SOAP
//! partner API (merge, convertLead), every request sent through the shared transport.

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use super::transport::{AccountLimiter, Lane, Reply, Transport, Verdict};
use super::{
    ApiUsage, Crm, CrmError, CrmKind, CrmResult, CrmUser, Identity, LeadConvert,
    LeadConvertOutcome, MergeGroup, MergeOutcome, OAuthApp, ObjectSchema, Outcome, Properties,
    Record, RecordError, ScanPage, ScanRequest, TokenSink, Tokens, Update,
};

mod auth;
mod read;
mod soap;
mod soql;
mod write;

pub use auth::exchange_code;

/// The objects Steward works on in a Salesforce org.
const OBJECTS: &[&str] = &["Account", "Contact", "Lead", "Opportunity"];

/// How one Salesforce org is reached and authorized.
#[derive(Clone)]
pub struct SalesforceConfig {
    /// `https://yourorg.my.salesforce.com`, from the token answer.
    pub instance_url: String,
    /// The token answer's `id` (`…/id/{orgId}/{userId}`); without it, OIDC userinfo is used.
    pub identity_url: Option<String>,
    /// `limits::salesforce::API_VERSION` (`v66.0`).
    pub api_version: String,
    /// Steward's connected app, needed to refresh the session.
    pub app: Option<OAuthApp>,
    pub tokens: Tokens,
    /// Told about every refreshed token, so it can be stored.
    pub sink: Option<Arc<dyn TokenSink>>,
}

impl std::fmt::Debug for SalesforceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceConfig")
            .field("instance_url", &self.instance_url)
            .field("identity_url", &self.identity_url)
            .field("api_version", &self.api_version)
            .field("app", &self.app)
            .field("tokens", &self.tokens)
            .field("sink", &self.sink.is_some())
            .finish()
    }
}

/// The connection's session, and how many refreshes it has been through.
struct Session {
    tokens: Tokens,
    generation: u64,
    /// Why the refresh at this generation was refused; later callers get the same answer.
    refused: Option<String>,
}

/// One Salesforce org as Steward's `Crm` port.
pub struct Salesforce {
    instance_url: String,
    identity_url: Option<String>,
    /// `v66.0` for REST paths.
    version: String,
    app: Option<OAuthApp>,
    sink: Option<Arc<dyn TokenSink>>,
    transport: Transport,
    session: RwLock<Session>,
    /// Held across a refresh, so concurrent callers that hit an expired session share one.
    refresh_lock: tokio::sync::Mutex<()>,
    /// Field types per object (from describe), to type SOQL literals.
    field_types: Mutex<HashMap<String, Arc<soql::FieldTypes>>>,
    /// `Sforce-Query-Options: batchSize`; None leaves Salesforce's default (the maximum).
    query_batch: Option<usize>,
}

/// One request, described so it can be built again for each attempt and session.
struct Req {
    method: Method,
    url: String,
    body: Body,
    idempotent: bool,
    query_options: bool,
}

enum Body {
    None,
    Json(Bytes),
    /// The SOAP body's content; the envelope (with the session id) is added per session.
    Soap(String),
}

impl Req {
    fn get(url: String) -> Self {
        Req {
            method: Method::GET,
            url,
            body: Body::None,
            idempotent: true,
            query_options: false,
        }
    }

    fn json(method: Method, url: String, body: &Value) -> Self {
        Req {
            method,
            url,
            body: Body::Json(Bytes::from(body.to_string())),
            idempotent: true,
            query_options: false,
        }
    }

    fn soap(url: String, body: String) -> Self {
        Req {
            method: Method::POST,
            url,
            body: Body::Soap(body),
            idempotent: false,
            query_options: false,
        }
    }

    fn not_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }

    fn is_soap(&self) -> bool {
        matches!(self.body, Body::Soap(_))
    }
}

/// `(used, limit)` from `Sforce-Limit-Info: api-usage=18/5000[; per-app-api-usage=…]`.
fn parse_limit_info(header: &str) -> Option<(u64, u64)> {
    fn leading_number(s: &str) -> Option<u64> {
        let s = s.trim();
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        s.get(..end)?.parse().ok()
    }
    header
        .split([';', ','])
        .map(str::trim)
        .find_map(|seg| {
            let (key, value) = seg.split_once('=')?;
            (key.trim().eq_ignore_ascii_case("api-usage")).then_some(value)
        })
        .and_then(|v| {
            let (used, limit) = v.split_once('/')?;
            Some((leading_number(used)?, leading_number(limit)?))
        })
}

fn record_limit_info(limiter: &AccountLimiter, reply: &Reply) {
    if let Some((used, limit)) = reply.header("sforce-limit-info").and_then(parse_limit_info) {
        limiter.record_usage(used, limit);
    }
}

/// The first `errorCode`/`message` of a REST error body (an array, or one object).
fn rest_error_of(body: &[u8]) -> Option<(String, String)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let e = match &v {
        Value::Array(a) => a.first()?,
        o @ Value::Object(_) => o,
        _ => return None,
    };
    let code = e
        .get("errorCode")
        .or_else(|| e.get("error"))
        .and_then(Value::as_str)?;
    let message = e
        .get("message")
        .or_else(|| e.get("error_description"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let message: String = message.chars().take(500).collect();
    Some((code.to_string(), message))
}

/// REQUEST_LIMIT_EXCEEDED also reports the concurrent long-request cap, which clears by itself.
fn limit_exceeded(message: &str) -> Verdict {
    if message.contains("Concurrent") {
        Verdict::Throttled { after: None }
    } else {
        Verdict::Stop(CrmError::Quota(format!(
            "Salesforce's daily API request limit is reached: {message}"
        )))
    }
}

/// REST: only what decides a retry; the caller turns the other 4xx into errors (a 401
/// means refresh, an expired query locator means re-query).
fn classify_rest(limiter: &AccountLimiter, r: &Reply) -> Verdict {
    record_limit_info(limiter, r);
    match r.status {
        200..=299 => Verdict::Done,
        429 => Verdict::Throttled {
            after: r.retry_after(),
        },
        403 => match rest_error_of(&r.body) {
            Some((code, message)) if code == "REQUEST_LIMIT_EXCEEDED" => limit_exceeded(&message),
            _ => Verdict::Done,
        },
        500..=599 => Verdict::Failed,
        _ => Verdict::Done,
    }
}

/// SOAP: faults come as HTTP 500, most of them final; INVALID_SESSION_ID is left to the
/// caller (refresh once), and a 5xx without a fault (a proxy, an outage) may be retried.
fn classify_soap(limiter: &AccountLimiter, r: &Reply) -> Verdict {
    record_limit_info(limiter, r);
    match r.status {
        200..=299 | 401 => Verdict::Done,
        429 => Verdict::Throttled {
            after: r.retry_after(),
        },
        500 => match soap::fault(&r.body) {
            Some(f) => {
                let what = format!("{}: {}", f.code, f.message);
                match f.code.as_str() {
                    "INVALID_SESSION_ID" => Verdict::Done,
                    "REQUEST_LIMIT_EXCEEDED" => limit_exceeded(&f.message),
                    "SERVER_UNAVAILABLE" | "UNKNOWN_EXCEPTION" | "REQUEST_RUNNING_TOO_LONG" => {
                        Verdict::Failed
                    }
                    "INSUFFICIENT_ACCESS"
                    | "INSUFFICIENT_ACCESS_OR_READONLY"
                    | "API_DISABLED_FOR_ORG"
                    | "API_CURRENTLY_DISABLED"
                    | "FUNCTIONALITY_NOT_ENABLED" => Verdict::Stop(CrmError::Forbidden(what)),
                    "INVALID_LOGIN" | "USER_NOT_ACTIVE" => Verdict::Stop(CrmError::Auth(what)),
                    _ => Verdict::Stop(CrmError::Rejected(what)),
                }
            }
            None => Verdict::Failed,
        },
        501..=599 => Verdict::Failed,
        403 => Verdict::Stop(CrmError::Forbidden(format!(
            "the SOAP API answered HTTP {}",
            r.status
        ))),
        404 => Verdict::Stop(CrmError::NotFound(format!(
            "no SOAP API at this address (HTTP {})",
            r.status
        ))),
        s => Verdict::Stop(CrmError::Rejected(format!(
            "the SOAP API answered HTTP {s}"
        ))),
    }
}

/// 401 on REST; the identity service's `403 Bad_OAuth_Token`; SOAP's INVALID_SESSION_ID fault.
fn session_expired(req: &Req, r: &Reply) -> bool {
    r.status == 401
        || (r.status == 403 && r.body.trim_ascii() == b"Bad_OAuth_Token")
        || (req.is_soap()
            && r.status == 500
            && soap::fault(&r.body).is_some_and(|f| f.code == "INVALID_SESSION_ID"))
}

/// A REST answer other than 2xx, as an error.
fn rest_failure(r: &Reply) -> CrmError {
    let what = rest_error_of(&r.body).map_or_else(
        || format!("HTTP {}", r.status),
        |(code, message)| format!("{code}: {message}"),
    );
    match r.status {
        401 => CrmError::Auth(what),
        403 => CrmError::Forbidden(what),
        404 => CrmError::NotFound(what),
        429 => CrmError::RateLimited(what),
        300..=499 => CrmError::Rejected(what),
        500..=599 => CrmError::Unavailable(what),
        _ => CrmError::Protocol(format!("unexpected HTTP {}: {what}", r.status)),
    }
}

fn record_error(e: &CrmError) -> RecordError {
    RecordError {
        code: e.code().to_string(),
        message: e.to_string(),
    }
}

impl Salesforce {
    pub fn new(config: SalesforceConfig, transport: Transport) -> Self {
        let v = config.api_version.trim().trim_start_matches('v');
        Salesforce {
            instance_url: config.instance_url.trim_end_matches('/').to_string(),
            identity_url: config.identity_url,
            version: format!("v{v}"),
            app: config.app,
            sink: config.sink,
            transport,
            session: RwLock::new(Session {
                tokens: config.tokens,
                generation: 0,
                refused: None,
            }),
            refresh_lock: tokio::sync::Mutex::new(()),
            field_types: Mutex::new(HashMap::new()),
            query_batch: None,
        }
    }

    /// Query pages of `n` records (Salesforce takes 200..=2000) instead of its default
    /// maximum, e.g. to bound memory on very wide objects.
    pub fn with_query_batch_size(mut self, n: usize) -> Self {
        self.query_batch = Some(n.clamp(200, super::limits::salesforce::QUERY_BATCH_MAX));
        self
    }

    /// The tokens in use now (after any refresh).
    pub fn tokens(&self) -> Tokens {
        self.session
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .tokens
            .clone()
    }

    fn access_token(&self) -> (SecretString, u64) {
        let s = self.session.read().unwrap_or_else(|p| p.into_inner());
        (s.tokens.access_token.clone(), s.generation)
    }

    /// `{instance}/services/data/vXX.X{path}`.
    fn data_url(&self, path: &str) -> String {
        format!("{}/services/data/{}{path}", self.instance_url, self.version)
    }

    fn soap_url(&self) -> String {
        format!(
            "{}/services/Soap/u/{}",
            self.instance_url,
            self.version.trim_start_matches('v')
        )
    }

    /// An absolute path the CRM gave (`nextRecordsUrl`) on this instance. The instance URL
    /// may carry a path of its own (a proxy, the sandbox), which the CRM may or may not repeat.
    fn instance_path_url(&self, path: &str) -> String {
        let after_scheme = self.instance_url.find("://").map_or(0, |i| i + 3);
        let (origin, prefix) = match self
            .instance_url
            .get(after_scheme..)
            .and_then(|r| r.find('/'))
        {
            Some(i) => self.instance_url.split_at(after_scheme + i),
            None => (self.instance_url.as_str(), ""),
        };
        if !prefix.is_empty() && path.starts_with(&format!("{prefix}/")) {
            format!("{origin}{path}")
        } else {
            format!("{}{path}", self.instance_url)
        }
    }

    /// Sends `req` with the current session; on an expired session, refreshes once (shared
    /// with concurrent callers) and resends once.
    async fn send(&self, req: &Req) -> CrmResult<Reply> {
        let limiter = &*self.transport.limiter;
        let soap = req.is_soap();
        let classify = |r: &Reply| {
            if soap {
                classify_soap(limiter, r)
            } else {
                classify_rest(limiter, r)
            }
        };
        let mut refreshed = false;
        loop {
            let (token, generation) = self.access_token();
            let body = match &req.body {
                Body::None => None,
                Body::Json(b) => Some((b.clone(), "application/json")),
                Body::Soap(inner) => Some((
                    Bytes::from(soap::envelope(token.expose_secret(), inner)),
                    "text/xml; charset=UTF-8",
                )),
            };
            let http = &self.transport.http;
            let batch = self.query_batch.filter(|_| req.query_options);
            let build = || {
                let mut b = http.request(req.method.clone(), &req.url);
                b = if soap {
                    b.header("SOAPAction", "\"\"")
                } else {
                    b.bearer_auth(token.expose_secret())
                        .header(reqwest::header::ACCEPT, "application/json")
                };
                if let Some(n) = batch {
                    b = b.header("Sforce-Query-Options", format!("batchSize={n}"));
                }
                if let Some((bytes, content_type)) = &body {
                    b = b
                        .header(reqwest::header::CONTENT_TYPE, *content_type)
                        .body(bytes.clone());
                }
                b
            };
            let reply = self
                .transport
                .send(Lane::Standard, req.idempotent, &build, &classify)
                .await?;
            if !session_expired(req, &reply) {
                return Ok(reply);
            }
            if refreshed {
                return Err(CrmError::Auth(
                    "Salesforce refused the session again right after refreshing it".into(),
                ));
            }
            self.refresh(generation).await?;
            refreshed = true;
        }
    }

    /// Sends a REST request and turns anything but 2xx into an error.
    async fn rest(&self, req: &Req) -> CrmResult<Reply> {
        let reply = self.send(req).await?;
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(rest_failure(&reply))
        }
    }

    async fn rest_json(&self, req: &Req) -> CrmResult<Value> {
        self.rest(req).await?.json()
    }

    /// Refreshes the session unless someone already did since `seen` was read.
    async fn refresh(&self, seen: u64) -> CrmResult<()> {
        let _one_at_a_time = self.refresh_lock.lock().await;
        let current = {
            let s = self.session.read().unwrap_or_else(|p| p.into_inner());
            if s.generation != seen {
                return Ok(());
            }
            if let Some(why) = &s.refused {
                return Err(CrmError::Auth(why.clone()));
            }
            s.tokens.clone()
        };
        tracing::info!("Salesforce session expired; refreshing it");
        match self.refresh_grant(&current).await {
            Ok(tokens) => {
                {
                    let mut s = self.session.write().unwrap_or_else(|p| p.into_inner());
                    s.tokens = tokens.clone();
                    s.generation += 1;
                }
                if let Some(sink) = &self.sink {
                    sink.tokens_refreshed(&tokens).await;
                }
                Ok(())
            }
            Err(CrmError::Auth(why)) => {
                self.session
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .refused = Some(why.clone());
                if let Some(sink) = &self.sink {
                    sink.refresh_refused(&current, &why).await;
                }
                Err(CrmError::Auth(why))
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Crm for Salesforce {
    fn kind(&self) -> CrmKind {
        CrmKind::Salesforce
    }

    fn objects(&self) -> &'static [&'static str] {
        OBJECTS
    }

    #[tracing::instrument(skip(self))]
    async fn identity(&self) -> CrmResult<Identity> {
        self.get_identity().await
    }

    #[tracing::instrument(skip(self))]
    async fn list_users(&self) -> CrmResult<Vec<CrmUser>> {
        self.get_users().await
    }

    #[tracing::instrument(skip(self))]
    async fn describe(&self, object: &str) -> CrmResult<ObjectSchema> {
        self.get_schema(object).await
    }

    #[tracing::instrument(skip_all, fields(object = %request.object, resumed = cursor.is_some()))]
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
        self.read_by_ids(object, ids, properties).await
    }

    #[tracing::instrument(skip(self, records), fields(records = records.len()))]
    async fn batch_create(&self, object: &str, records: &[Properties]) -> CrmResult<Vec<Outcome>> {
        self.create(object, records).await
    }

    #[tracing::instrument(skip(self, updates), fields(updates = updates.len()))]
    async fn batch_update(&self, object: &str, updates: &[Update]) -> CrmResult<Vec<Outcome>> {
        self.update(object, updates).await
    }

    #[tracing::instrument(skip(self, ids), fields(ids = ids.len()))]
    async fn batch_archive(&self, object: &str, ids: &[String]) -> CrmResult<Vec<Outcome>> {
        self.delete(object, ids).await
    }

    #[tracing::instrument(skip(self, groups), fields(groups = groups.len()))]
    async fn merge(&self, object: &str, groups: &[MergeGroup]) -> CrmResult<Vec<MergeOutcome>> {
        self.merge_groups(object, groups).await
    }

    #[tracing::instrument(skip(self, converts), fields(converts = converts.len()))]
    async fn convert_leads(&self, converts: &[LeadConvert]) -> CrmResult<Vec<LeadConvertOutcome>> {
        self.convert(converts).await
    }

    fn api_usage(&self) -> ApiUsage {
        self.transport.limiter.usage()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_info_parses_robustly() {
        assert_eq!(parse_limit_info("api-usage=18/5000"), Some((18, 5000)));
        assert_eq!(
            parse_limit_info("api-usage=25/15000; per-app-api-usage=17/250(appName=sample)"),
            Some((25, 15000))
        );
        assert_eq!(
            parse_limit_info("per-app-api-usage=17/250(appName=x); api-usage=3/100"),
            Some((3, 100))
        );
        assert_eq!(
            parse_limit_info(" API-Usage = 7/90 ,api-bursts=1/750"),
            Some((7, 90))
        );
        assert_eq!(parse_limit_info("api-usage=abc/100"), None);
        assert_eq!(parse_limit_info("per-app-api-usage=17/250"), None);
        assert_eq!(parse_limit_info(""), None);
    }

    #[test]
    fn rest_errors_read_both_shapes() {
        assert_eq!(
            rest_error_of(
                br#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#
            ),
            Some((
                "INVALID_SESSION_ID".into(),
                "Session expired or invalid".into()
            ))
        );
        assert_eq!(
            rest_error_of(br#"{"error":"invalid_grant","error_description":"x"}"#),
            Some(("invalid_grant".into(), "x".into()))
        );
        assert_eq!(rest_error_of(b"<html>"), None);
        assert_eq!(rest_error_of(b"[]"), None);
    }

    fn reply(status: u16, body: &str, limit: Option<&str>) -> Reply {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(l) = limit {
            headers.insert("sforce-limit-info", l.parse().unwrap());
        }
        Reply {
            status,
            headers,
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn answers_are_classified() {
        let l = AccountLimiter::new(super::super::limits::Limits::salesforce());
        let quota = reply(
            403,
            r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
            Some("api-usage=101/100"),
        );
        assert!(matches!(
            classify_rest(&l, &quota),
            Verdict::Stop(CrmError::Quota(_))
        ));
        assert_eq!(l.usage().used_today, Some(101));
        assert_eq!(l.usage().daily_limit, Some(100));
        let concurrent = reply(
            403,
            r#"[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
            None,
        );
        assert!(matches!(
            classify_rest(&l, &concurrent),
            Verdict::Throttled { .. }
        ));
        assert!(matches!(
            classify_rest(&l, &reply(503, "", None)),
            Verdict::Failed
        ));
        assert!(matches!(
            classify_rest(&l, &reply(400, "[]", None)),
            Verdict::Done
        ));
        let bad = reply(
            400,
            r#"[{"message":"unexpected token: FROM","errorCode":"MALFORMED_QUERY"}]"#,
            None,
        );
        assert_eq!(
            rest_failure(&bad),
            CrmError::Rejected("MALFORMED_QUERY: unexpected token: FROM".into())
        );
        assert!(matches!(
            rest_failure(&reply(404, "", None)),
            CrmError::NotFound(_)
        ));

        let fault = |code: &str| {
            reply(
                500,
                &format!(
                    "<soapenv:Envelope xmlns:soapenv=\"s\"><soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: x</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
                ),
                None,
            )
        };
        assert!(matches!(
            classify_soap(&l, &fault("INVALID_SESSION_ID")),
            Verdict::Done
        ));
        assert!(matches!(
            classify_soap(&l, &fault("REQUEST_LIMIT_EXCEEDED")),
            Verdict::Stop(CrmError::Quota(_))
        ));
        assert!(matches!(
            classify_soap(&l, &fault("INVALID_TYPE")),
            Verdict::Stop(CrmError::Rejected(_))
        ));
        assert!(matches!(
            classify_soap(&l, &fault("UNKNOWN_EXCEPTION")),
            Verdict::Failed
        ));
        assert!(matches!(
            classify_soap(&l, &reply(500, "[{\"errorCode\":\"SERVER_ERROR\"}]", None)),
            Verdict::Failed
        ));
        let soap_req = Req::soap("u".into(), String::new());
        assert!(session_expired(&soap_req, &fault("INVALID_SESSION_ID")));
        assert!(!session_expired(&soap_req, &fault("INVALID_TYPE")));
        assert!(!session_expired(
            &Req::get("u".into()),
            &fault("INVALID_SESSION_ID")
        ));
        assert!(session_expired(
            &Req::get("u".into()),
            &reply(403, "Bad_OAuth_Token", None)
        ));
        assert!(!session_expired(
            &Req::get("u".into()),
            &reply(403, "Bad_Id", None)
        ));
    }

    fn sf(instance: &str) -> Salesforce {
        let limiter = Arc::new(AccountLimiter::new(
            super::super::limits::Limits::salesforce(),
        ));
        Salesforce::new(
            SalesforceConfig {
                instance_url: instance.into(),
                identity_url: None,
                api_version: "v66.0".into(),
                app: None,
                tokens: Tokens {
                    access_token: SecretString::from("t"),
                    refresh_token: None,
                    expires_at: None,
                },
                sink: None,
            },
            Transport::new(crate::tls::client(), limiter),
        )
    }

    #[test]
    fn urls_are_built_on_the_instance() {
        let s = sf("https://org.my.salesforce.com/");
        assert_eq!(
            s.data_url("/query"),
            "https://org.my.salesforce.com/services/data/v66.0/query"
        );
        assert_eq!(
            s.soap_url(),
            "https://org.my.salesforce.com/services/Soap/u/66.0"
        );
        assert_eq!(
            s.instance_path_url("/services/data/v66.0/query/01g-2000"),
            "https://org.my.salesforce.com/services/data/v66.0/query/01g-2000"
        );
        let p = sf("http://127.0.0.1:9/salesforce");
        assert_eq!(
            p.instance_path_url("/salesforce/services/data/v66.0/query/x"),
            "http://127.0.0.1:9/salesforce/services/data/v66.0/query/x"
        );
        assert_eq!(
            p.instance_path_url("/services/data/v66.0/query/x"),
            "http://127.0.0.1:9/salesforce/services/data/v66.0/query/x"
        );
    }
}
