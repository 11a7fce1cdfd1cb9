//! What every HubSpot API route shares: the error shape, bearer-token authentication, the
//! per-portal rate limits (burst window, search per second, daily cap) and their headers.

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rand::Rng;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{HubSpotLimits, RetryAfter};
use crate::server::AppState;

/// The account's time zone as a fixed offset (US/Eastern without DST): the daily cap
/// resets at midnight there, and account-info reports it.
pub(crate) const UTC_OFFSET_SECS: i32 = -5 * 3600;

/// Message HubSpot's SDKs match to retry a search after a second.
pub(crate) const SEARCH_LIMIT_MESSAGE: &str = "You have reached your secondly limit.";
const BURST_LIMIT_MESSAGE: &str = "You have reached your ten_secondly_rolling limit.";
const DAILY_LIMIT_MESSAGE: &str = "You have reached your daily limit.";
/// `groupName` of the burst 429 body (HubSpot names the app's limit group there).
const BURST_GROUP_NAME: &str = "publicapi:steward-sandbox";
const AUTH_MISSING_MESSAGE: &str = "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview";

/// ISO-8601 UTC with milliseconds, as HubSpot writes every timestamp.
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A random UUID (v4 layout), for correlation ids and codes.
pub(crate) fn uuid() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = steward_shared::crypto::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// An error in HubSpot's shape (§5), or any other JSON body with its status.
#[derive(Debug)]
pub(crate) struct HsError {
    pub status: StatusCode,
    pub body: Value,
}

impl HsError {
    pub fn new(status: StatusCode, category: &str, message: impl Into<String>) -> Self {
        HsError {
            status,
            body: json!({
                "status": "error",
                "message": message.into(),
                "correlationId": uuid(),
                "category": category,
            }),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "CONFLICT", message)
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        if let Some(o) = self.body.as_object_mut() {
            o.insert(key.to_string(), value);
        }
        self
    }

    /// The body's category (tests and batch error lists use it).
    pub fn category(&self) -> &str {
        self.body
            .get("category")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

impl IntoResponse for HsError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

pub(crate) type HsResult<T> = Result<T, HsError>;

/// 5xx in HubSpot's shape, for the fault layer.
pub(crate) fn server_error(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = match code {
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "internal error",
    };
    HsError::new(status, "INTERNAL_ERROR", message).into_response()
}

/// A JSON request body, or HubSpot's 400 for input it cannot read.
pub(crate) fn parse_json(body: &Bytes) -> HsResult<Value> {
    serde_json::from_slice(body).map_err(|e| {
        HsError::validation(format!(
            "Invalid input JSON on line {}, column {}: {}",
            e.line(),
            e.column(),
            e
        ))
    })
}

/// Decoded `k=v&…` pairs (query strings and form bodies), repeated keys kept in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Self {
        let decode = |s: &str| {
            let s = s.replace('+', " ");
            String::from_utf8_lossy(&urlencoding::decode_binary(s.as_bytes())).into_owned()
        };
        Params(
            raw.unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(p), String::new()),
                })
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated, comma-separable list parameter (`properties=a,b&properties=c`).
    pub fn list(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// A `limit`-style parameter: `default` when absent, 400 when not a number.
    pub fn number(&self, key: &str, default: usize) -> HsResult<usize> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| HsError::validation(format!("{key}: '{v}' is not a valid number"))),
        }
    }
}

/// Who a request acts as, after its bearer token was accepted.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub scopes: Arc<[String]>,
    /// Which app's rate-limit bucket the token draws on.
    pub app: AppKind,
}

/// HubSpot counts a public (OAuth) app's calls and the portal's private apps' calls in
/// buckets of their own, with their own limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppKind {
    OAuth,
    Private,
}

impl Principal {
    /// 403 MISSING_SCOPES unless the token holds one of `any_of`.
    pub fn require(&self, any_of: &[&str]) -> HsResult<()> {
        if any_of
            .iter()
            .any(|need| self.scopes.iter().any(|s| s == need))
        {
            return Ok(());
        }
        Err(HsError::new(
            StatusCode::FORBIDDEN,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
        )
        .with(
            "errors",
            json!([{
                "message": "One or more of the following scopes are required.",
                "context": { "requiredGranularScopes": any_of },
            }]),
        )
        .with("links", json!({ "scopes": "https://developers.hubspot.com/scopes" })))
    }
}

/// An authenticated API request that got past the rate limits. Handlers answer through
/// [`Api::finish`] so every response carries the rate-limit headers.
pub(crate) struct Api {
    pub who: Principal,
    headers: HeaderMap,
}

impl Api {
    pub fn finish(self, result: HsResult<Response>) -> Response {
        let mut resp = result.unwrap_or_else(IntoResponse::into_response);
        resp.headers_mut().extend(self.headers);
        resp
    }
}

impl FromRequestParts<Arc<AppState>> for Api {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Response> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| rest.trim().to_string())
            });
        let search = parts.method == Method::POST && parts.uri.path().ends_with("/search");
        let limits = hubspot_limits(state);
        let now = Instant::now();
        let mut world = state.hubspot();
        let who = world
            .auth
            .authenticate(token.as_deref(), now)
            .map_err(IntoResponse::into_response)?;
        let verdict = world
            .limiter
            .admit(now, Utc::now(), &limits, who.app, search);
        drop(world);
        match verdict {
            Ok(headers) => Ok(Api { who, headers }),
            Err(resp) => Err(*resp),
        }
    }
}

pub(crate) fn hubspot_limits(state: &AppState) -> HubSpotLimits {
    state
        .config
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .hubspot
        .clone()
}

/// The account's calendar day, for the daily cap.
fn account_day(t: DateTime<Utc>) -> NaiveDate {
    (t + chrono::Duration::seconds(i64::from(UTC_OFFSET_SECS))).date_naive()
}

/// Seconds until the account's next midnight.
fn secs_to_account_midnight(t: DateTime<Utc>) -> u64 {
    let local = t + chrono::Duration::seconds(i64::from(UTC_OFFSET_SECS));
    let next = local
        .date_naive()
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0));
    next.map(|n| (n - local.naive_utc()).num_seconds().max(1) as u64)
        .unwrap_or(86_400)
}

/// The portal's request counters.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    /// The OAuth app's non-search API calls in the rolling burst window.
    oauth: VecDeque<Instant>,
    /// The private apps' non-search API calls in the rolling burst window.
    private: VecDeque<Instant>,
    /// Search calls in the last second.
    search: VecDeque<Instant>,
    day: Option<NaiveDate>,
    daily_used: u64,
}

struct Snapshot {
    max: u32,
    remaining: u32,
    interval_ms: u64,
    daily: Option<(u64, u64)>,
    secondly: Option<(u32, u32)>,
}

impl Snapshot {
    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        let mut put = |name: &'static str, v: String| {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(HeaderName::from_static(name), v);
            }
        };
        put("x-hubspot-ratelimit-max", self.max.to_string());
        put("x-hubspot-ratelimit-remaining", self.remaining.to_string());
        put(
            "x-hubspot-ratelimit-interval-milliseconds",
            self.interval_ms.to_string(),
        );
        if let Some((max, left)) = self.daily {
            put("x-hubspot-ratelimit-daily", max.to_string());
            put("x-hubspot-ratelimit-daily-remaining", left.to_string());
        }
        if let Some((max, left)) = self.secondly {
            put("x-hubspot-ratelimit-secondly", max.to_string());
            put("x-hubspot-ratelimit-secondly-remaining", left.to_string());
        }
        h
    }
}

/// `Retry-After` for a wait of `secs`, in the configured form (none when absent).
pub(crate) fn retry_after_value(form: RetryAfter, secs: u64, now: DateTime<Utc>) -> Option<String> {
    let secs = secs.max(1);
    match form {
        RetryAfter::Seconds => Some(secs.to_string()),
        // IMF-fixdate, whole seconds: round up so the date is never before the wait ends.
        RetryAfter::HttpDate => {
            let at = now
                + chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 2))
                + chrono::Duration::milliseconds(999);
            Some(at.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        }
        RetryAfter::Absent => None,
    }
}

fn rate_limited(body: Value, retry_after: Option<String>, mut headers: HeaderMap) -> Response {
    if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(header::RETRY_AFTER, v);
    }
    let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    resp.headers_mut().extend(headers);
    resp
}

fn burst_body() -> Value {
    json!({
        "status": "error",
        "message": BURST_LIMIT_MESSAGE,
        "errorType": "RATE_LIMIT",
        "correlationId": uuid(),
        "policyName": "TEN_SECONDLY_ROLLING",
        "groupName": BURST_GROUP_NAME,
    })
}

impl Limiter {
    fn prune(&mut self, now: Instant, window: Duration) {
        for bucket in [&mut self.oauth, &mut self.private] {
            while bucket
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                bucket.pop_front();
            }
        }
        while self
            .search
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            self.search.pop_front();
        }
    }

    fn roll_day(&mut self, wall: DateTime<Utc>) {
        let today = account_day(wall);
        if self.day != Some(today) {
            self.day = Some(today);
            self.daily_used = 0;
        }
    }

    /// An app's burst bucket and its limit.
    fn bucket(&self, limits: &HubSpotLimits, app: AppKind) -> (&VecDeque<Instant>, u32) {
        match app {
            AppKind::OAuth => (&self.oauth, limits.burst),
            AppKind::Private => (&self.private, limits.private_app_burst),
        }
    }

    fn snapshot(&self, limits: &HubSpotLimits, app: AppKind, search: bool) -> Snapshot {
        let (bucket, max) = self.bucket(limits, app);
        Snapshot {
            max,
            remaining: max.saturating_sub(u32::try_from(bucket.len()).unwrap_or(u32::MAX)),
            interval_ms: limits.window_ms,
            daily: limits.daily.map(|d| (d, d.saturating_sub(self.daily_used))),
            secondly: search.then(|| {
                let used = u32::try_from(self.search.len()).unwrap_or(u32::MAX);
                (
                    limits.search_per_sec,
                    limits.search_per_sec.saturating_sub(used),
                )
            }),
        }
    }

    /// Whole seconds until the app's oldest call leaves the burst window (at least 1).
    fn burst_retry_after(&self, app: AppKind, now: Instant, window: Duration) -> u64 {
        let bucket = match app {
            AppKind::OAuth => &self.oauth,
            AppKind::Private => &self.private,
        };
        let wait = bucket
            .front()
            .map(|t| window.saturating_sub(now.duration_since(*t)))
            .unwrap_or(window);
        wait.as_millis().div_ceil(1000).max(1) as u64
    }

    /// Counts one authenticated call, or answers the 429 it gets. Search has its own
    /// per-second limit and is exempt from the burst window; both count toward the day.
    pub fn admit(
        &mut self,
        now: Instant,
        wall: DateTime<Utc>,
        limits: &HubSpotLimits,
        app: AppKind,
        search: bool,
    ) -> Result<HeaderMap, Box<Response>> {
        let retry = |secs: u64| retry_after_value(limits.retry_after, secs, wall);
        let window = Duration::from_millis(limits.window_ms);
        self.prune(now, window);
        self.roll_day(wall);
        if let Some(daily) = limits.daily
            && self.daily_used >= daily
        {
            let body = json!({
                "status": "error",
                "message": DAILY_LIMIT_MESSAGE,
                "errorType": "RATE_LIMIT",
                "correlationId": uuid(),
                "policyName": "DAILY",
                "requestId": uuid(),
            });
            let headers = self.snapshot(limits, app, search).headers();
            return Err(Box::new(rate_limited(
                body,
                retry(secs_to_account_midnight(wall)),
                headers,
            )));
        }
        if search {
            if self.search.len() >= limits.search_per_sec as usize {
                let body = json!({
                    "status": "error",
                    "message": SEARCH_LIMIT_MESSAGE,
                    "errorType": "RATE_LIMIT",
                    "correlationId": uuid(),
                    "policyName": "SECONDLY",
                });
                return Err(Box::new(rate_limited(
                    body,
                    retry(1),
                    self.snapshot(limits, app, true).headers(),
                )));
            }
            self.search.push_back(now);
        } else {
            let (bucket, max) = self.bucket(limits, app);
            if limits.enforce && bucket.len() >= max as usize {
                let wait = self.burst_retry_after(app, now, window);
                let headers = self.snapshot(limits, app, false).headers();
                return Err(Box::new(rate_limited(burst_body(), retry(wait), headers)));
            }
            match app {
                AppKind::OAuth => self.oauth.push_back(now),
                AppKind::Private => self.private.push_back(now),
            }
        }
        self.daily_used += 1;
        Ok(self.snapshot(limits, app, search).headers())
    }

    /// The burst 429 `app` would be answered now, without counting anything.
    pub fn ten_secondly_429(&mut self, limits: &HubSpotLimits, app: AppKind) -> Response {
        let now = Instant::now();
        let wall = Utc::now();
        let window = Duration::from_millis(limits.window_ms);
        self.prune(now, window);
        self.roll_day(wall);
        let (bucket, max) = self.bucket(limits, app);
        let wait = if bucket.len() >= max as usize {
            self.burst_retry_after(app, now, window)
        } else {
            1
        };
        let mut snap = self.snapshot(limits, app, false);
        snap.remaining = 0;
        rate_limited(
            burst_body(),
            retry_after_value(limits.retry_after, wait, wall),
            snap.headers(),
        )
    }
}

/// 401 for a request without usable credentials.
pub(crate) fn auth_missing() -> HsError {
    HsError::new(
        StatusCode::UNAUTHORIZED,
        "INVALID_AUTHENTICATION",
        AUTH_MISSING_MESSAGE,
    )
}

/// 401 for an access token past its lifetime.
pub(crate) fn auth_expired(ago: Duration) -> HsError {
    let secs = ago.as_secs();
    let (n, unit) = if secs >= 3600 {
        (secs / 3600, "hour")
    } else if secs >= 60 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    HsError::new(
        StatusCode::UNAUTHORIZED,
        "EXPIRED_AUTHENTICATION",
        format!("The OAuth token used to make this call expired {n} {unit}(s) ago."),
    )
}
